"""fnflow.Array: the read-only NumPy array that fnflow hands out.

It is an ``np.ndarray`` (every NumPy function accepts it) that refuses
in-place writes with an error pointing to ``x.at[idx].set(v)``, and offers the
``.at`` property for functional updates, like a JAX array.

NumPy ufuncs and operators on an ``Array`` (``a + 1``, ``np.sin(a)``) run
through fnflow's own ops, so they follow fnflow's dtype rules (weakly typed
Python scalars), raise fnflow's errors (naming the op and the shapes) and
return read-only ``Array`` values too. Ufunc forms fnflow does not cover fall
back to NumPy, with the result made read-only.
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

    @property
    def at(self):
        return array_methods["at"](self)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.get("out")
        if out is not None and any(isinstance(o, Array) and not o.flags.writeable for o in out):
            raise TypeError(_IMMUTABLE.replace("x[idx] = v", f"(numpy.{ufunc.__name__} with out=, "
                                                              f"or an augmented assignment like x += y)"))
        handler = array_methods.get("eager_ufunc")
        if handler is not None and out is None:
            res = handler(ufunc, method, *inputs, **kwargs)
            if res is not NotImplemented:
                return res
        plain = [x.view(np.ndarray) if isinstance(x, Array) else x for x in inputs]
        if out is not None:
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, Array) else o for o in out)
        res = getattr(ufunc, method)(*plain, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        if isinstance(res, tuple):
            return tuple(as_output(r) if isinstance(r, np.ndarray) else r for r in res)
        return as_output(res) if isinstance(res, np.ndarray) else res


def as_output(x) -> Array:
    """Wrap a NumPy result as a read-only fnflow Array (no copy)."""
    if type(x) is not np.ndarray:
        x = np.asarray(x)
    out = x.view(Array)
    out.flags.writeable = False
    return out


def is_concrete_array(x) -> bool:
    return isinstance(x, np.ndarray) or isinstance(x, np.generic)
