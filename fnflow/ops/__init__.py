"""The primitives, one module per family, each with all of its rules."""

from fnflow.ops import cumulative, elementwise, linalg, reduce, shape  # noqa: F401
