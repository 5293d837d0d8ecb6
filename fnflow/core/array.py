"""fnflow.Array: the read-only NumPy array that fnflow hands out.

It is an ``np.ndarray`` (every NumPy function accepts it) that refuses
in-place writes with an error pointing to ``x.at[idx].set(v)``, and offers the
``.at`` property for functional updates, like a JAX array.
"""

from __future__ import annotations

import numpy as np

# Filled by fnflow.numpy: the functional-update helper class behind ``.at``.
array_methods: dict = {}


class Array(np.ndarray):
    """A read-only ``numpy.ndarray`` with functional updates via ``.at``."""

    def __setitem__(self, idx, value):
        if not self.flags.writeable:
            raise TypeError(
                "fnflow arrays are immutable: in-place assignment x[idx] = v is not allowed. "
                "Use the functional update x = x.at[idx].set(v) (or .add/.multiply/.min/.max), "
                "which returns a new array.")
        super().__setitem__(idx, value)

    @property
    def at(self):
        return array_methods["at"](self)


def as_output(x) -> Array:
    """Wrap a NumPy result as a read-only fnflow Array (no copy)."""
    if type(x) is not np.ndarray:
        x = np.asarray(x)
    out = x.view(Array)
    out.flags.writeable = False
    return out


def is_concrete_array(x) -> bool:
    return isinstance(x, np.ndarray) or isinstance(x, np.generic)
