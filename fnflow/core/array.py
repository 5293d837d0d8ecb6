"""fnflow.Array: the read-only NumPy array that fnflow hands out.

It is an ``np.ndarray`` (every NumPy function accepts it) that refuses
in-place writes with an error pointing to ``x.at[idx].set(v)``, and offers the
``.at`` property for functional updates, like a JAX array.

NumPy's own functions and operators on an ``Array`` (``a + 1``, ``np.sin(a)``)
are NumPy computations: they return plain, writable ``np.ndarray`` values (NumPy
code often writes into its intermediates), follow NumPy's promotion rules, and
only differ from NumPy in their error messages (naming the op) and in refusing
to write into a read-only ``Array`` (``out=``, ``x += y``). fnflow functions
(``fnflow.numpy``, transforms) always return read-only ``Array`` values.
"""

from __future__ import annotations

import numpy as np

# Filled by fnflow.numpy: the functional-update helper class behind ``.at`` and
# the NumPy protocol handlers shared with tracers.
array_methods: dict = {}

_IMMUTABLE = ("fnflow arrays are immutable: in-place assignment x[idx] = v is not allowed. "
              "Use the functional update x = x.at[idx].set(v) (or .add/.multiply/.min/.max), "
              "which returns a new array.")


class Array(np.ndarray):
    """A read-only ``numpy.ndarray`` with functional updates via ``.at``."""

    def __setitem__(self, idx, value):
        if not self.flags.writeable:
            raise TypeError(_IMMUTABLE)
        super().__setitem__(idx, value)

    def __getitem__(self, idx):
        from fnflow.core.trace import Tracer

        items = idx if isinstance(idx, tuple) else (idx,)
        if any(isinstance(i, Tracer) for i in items):  # a traced index: index through fnflow's gather
            return array_methods["__getitem__"](self, idx)
        return super().__getitem__(idx)

    @property
    def at(self):
        return array_methods["at"](self)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.get("out")
        if out is not None:
            if any(isinstance(o, Array) and not o.flags.writeable for o in out):
                raise TypeError(_IMMUTABLE.replace("x[idx] = v", f"(numpy.{ufunc.__name__} with out=, "
                                                                  f"or an augmented assignment like x += y)"))
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, Array) else o for o in out)
        plain = [x.view(np.ndarray) if isinstance(x, Array) else x for x in inputs]
        try:
            res = getattr(ufunc, method)(*plain, **kwargs)
        except ValueError as e:
            if "broadcast" not in str(e):
                raise
            shapes = " and ".join(str(np.shape(x)) for x in plain)
            raise ValueError(f"{ufunc.__name__}: shapes {shapes} cannot be broadcast together") from None
        if out is not None:
            return out[0] if len(out) == 1 else out
        return res


def as_output(x) -> Array:
    """Wrap a NumPy result as a read-only fnflow Array (no copy)."""
    if type(x) is not np.ndarray:
        x = np.asarray(x)
    out = x.view(Array)
    out.flags.writeable = False
    return out


def is_concrete_array(x) -> bool:
    return isinstance(x, np.ndarray) or isinstance(x, np.generic)
