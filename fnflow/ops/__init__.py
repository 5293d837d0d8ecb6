"""The primitives, one module per family, each with all of its rules."""

from fnflow.ops import (  # noqa: F401
    control,
    conv,
    cumulative,
    elementwise,
    indexing,
    linalg,
    matrix,
    pool,
    random_bits,
    reduce,
    shape,
    sort,
)
