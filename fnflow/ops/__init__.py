"""The primitives, one module per family, each with all of its rules."""

from fnflow.ops import cumulative, elementwise, indexing, linalg, matrix, random_bits, reduce, shape, sort  # noqa: F401
