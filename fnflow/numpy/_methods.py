"""Array methods and operators of tracers, and NumPy's override protocols.

Registers into ``fnflow.core.array.array_methods`` so that tracers (and
``fnflow.Array.at``) behave like arrays; ``__array_ufunc__`` and
``__array_function__`` send NumPy's own functions called on tracers to their
fnflow.numpy counterparts.
"""

from __future__ import annotations

import numpy as np

import fnflow.numpy as fnp
from fnflow.core.array import array_methods


def _swap(f):
    return lambda self, other: f(other, self)


def _reshape_method(self, *shape, order="C"):
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = tuple(shape[0])
    return fnp.reshape(self, shape, order)


def _transpose_method(self, *axes):
    if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
        axes = axes[0]
    return fnp.transpose(self, axes or None)


_TABLE = {
    "__neg__": fnp.negative, "__pos__": fnp.positive, "__abs__": fnp.abs, "__invert__": fnp.invert,
    "__add__": fnp.add, "__radd__": _swap(fnp.add), "__sub__": fnp.subtract, "__rsub__": _swap(fnp.subtract),
    "__mul__": fnp.multiply, "__rmul__": _swap(fnp.multiply), "__truediv__": fnp.divide,
    "__rtruediv__": _swap(fnp.divide), "__floordiv__": fnp.floor_divide, "__rfloordiv__": _swap(fnp.floor_divide),
    "__mod__": fnp.remainder, "__rmod__": _swap(fnp.remainder), "__pow__": fnp.power,
    "__rpow__": _swap(fnp.power), "__matmul__": fnp.matmul, "__rmatmul__": _swap(fnp.matmul),
    "__lt__": fnp.less, "__le__": fnp.less_equal, "__gt__": fnp.greater, "__ge__": fnp.greater_equal,
    "__eq__": fnp.equal, "__ne__": fnp.not_equal, "__and__": fnp.bitwise_and, "__rand__": _swap(fnp.bitwise_and),
    "__or__": fnp.bitwise_or, "__ror__": _swap(fnp.bitwise_or), "__xor__": fnp.bitwise_xor,
    "__rxor__": _swap(fnp.bitwise_xor), "__lshift__": fnp.left_shift, "__rlshift__": _swap(fnp.left_shift),
    "__rshift__": fnp.right_shift, "__rrshift__": _swap(fnp.right_shift), "__divmod__": fnp.divmod,
    "__rdivmod__": _swap(fnp.divmod), "__getitem__": lambda self, idx: fnp._indexing.getitem(self, idx),
    "sum": fnp.sum, "mean": fnp.mean, "prod": fnp.prod, "max": fnp.max, "min": fnp.min, "var": fnp.var,
    "std": fnp.std, "argmax": fnp.argmax, "argmin": fnp.argmin, "any": fnp.any, "all": fnp.all,
    "cumsum": fnp.cumsum, "cumprod": fnp.cumprod, "reshape": _reshape_method, "transpose": _transpose_method,
    "swapaxes": fnp.swapaxes, "squeeze": fnp.squeeze, "flatten": fnp.ravel, "ravel": fnp.ravel,
    "astype": fnp.astype, "clip": fnp.clip, "round": fnp.round, "dot": fnp.dot, "conj": fnp.conj,
    "conjugate": fnp.conj, "repeat": fnp.repeat, "real": fnp.real, "imag": fnp.imag,
}
for _k in ("sort", "argsort", "take"):
    if hasattr(fnp, _k):
        _TABLE[_k] = getattr(fnp, _k)
array_methods.update(_TABLE)

# NumPy ufuncs called on tracers (np.sin(tracer), numpy_array @ tracer ...)
_UFUNCS = {
    "add": "add", "subtract": "subtract", "multiply": "multiply", "divide": "divide",
    "true_divide": "divide", "floor_divide": "floor_divide", "remainder": "remainder", "mod": "remainder",
    "fmod": "fmod", "power": "power", "negative": "negative", "positive": "positive", "absolute": "abs",
    "fabs": "abs", "sign": "sign", "exp": "exp", "exp2": "exp2", "expm1": "expm1", "log": "log",
    "log2": "log2", "log10": "log10", "log1p": "log1p", "sqrt": "sqrt", "cbrt": "cbrt", "square": "square",
    "reciprocal": "reciprocal", "sin": "sin", "cos": "cos", "tan": "tan", "arcsin": "arcsin",
    "arccos": "arccos", "arctan": "arctan", "arctan2": "arctan2", "sinh": "sinh", "cosh": "cosh",
    "tanh": "tanh", "arcsinh": "arcsinh", "arccosh": "arccosh", "arctanh": "arctanh", "maximum": "maximum",
    "minimum": "minimum", "fmax": "fmax", "fmin": "fmin", "floor": "floor", "ceil": "ceil",
    "trunc": "trunc", "rint": "rint", "equal": "equal", "not_equal": "not_equal", "less": "less",
    "less_equal": "less_equal", "greater": "greater", "greater_equal": "greater_equal",
    "logical_and": "logical_and", "logical_or": "logical_or", "logical_xor": "logical_xor",
    "logical_not": "logical_not", "bitwise_and": "bitwise_and", "bitwise_or": "bitwise_or",
    "bitwise_xor": "bitwise_xor", "invert": "invert", "left_shift": "left_shift", "right_shift": "right_shift",
    "isnan": "isnan", "isinf": "isinf", "isfinite": "isfinite", "logaddexp": "logaddexp",
    "logaddexp2": "logaddexp2", "hypot": "hypot", "deg2rad": "deg2rad", "rad2deg": "rad2deg",
    "degrees": "degrees", "radians": "radians", "matmul": "matmul", "copysign": "copysign",
    "heaviside": "heaviside", "signbit": "signbit", "conjugate": "conjugate", "divmod": "divmod",
    "float_power": "float_power",
}
_REDUCE = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min",
           "logical_and": "all", "logical_or": "any"}
_ACCUMULATE = {"add": "cumsum", "multiply": "cumprod"}


def _array_ufunc(ufunc, method, *inputs, **kwargs):
    if kwargs.get("out") is not None:
        raise TypeError(f"numpy.{ufunc.__name__}(..., out=...) cannot write into a traced array: fnflow arrays "
                        f"are immutable; use the returned value")
    kwargs.pop("out", None)
    name = ufunc.__name__
    if method == "__call__" and name in _UFUNCS:
        return getattr(fnp, _UFUNCS[name])(*inputs, **kwargs)
    if method == "reduce" and name in _REDUCE:
        return getattr(fnp, _REDUCE[name])(*inputs, **kwargs)
    if method == "accumulate" and name in _ACCUMULATE:
        return getattr(fnp, _ACCUMULATE[name])(*inputs, axis=kwargs.get("axis", 0))
    raise TypeError(f"numpy.{name}.{method} is not supported on traced values; use fnflow.numpy instead")


def _array_function(func, types, args, kwargs):
    name = func.__name__
    sub = getattr(func, "__module__", "") or ""
    target, qual = fnp, name
    if sub.endswith("linalg"):
        target, qual = getattr(fnp, "linalg", None), f"linalg.{name}"
    elif sub.endswith("fft"):
        target, qual = getattr(fnp, "fft", None), f"fft.{name}"
    f = getattr(target, name, None) if target is not None else None
    if f is None or not callable(f):
        raise TypeError(f"numpy.{qual} is not supported on traced values (fnflow.numpy has no '{qual}'); "
                        f"rewrite it with fnflow.numpy functions, or call it outside the transformed function")
    return f(*args, **kwargs)


array_methods["__array_ufunc__"] = _array_ufunc
array_methods["__array_function__"] = _array_function
