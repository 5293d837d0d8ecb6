"""Abstract values (shape + dtype) and dtype promotion.

fnflow's defaults are 32-bit, as in JAX: ``float32`` for Python floats and for
creation functions, ``int32`` for Python ints. An explicit dtype that a user
gives (``float64`` arrays included) is kept. Python scalars are *weakly typed*:
they take the dtype of the array they meet, so a ``float32`` array times
``2.0`` stays ``float32``.
"""

from __future__ import annotations

import numpy as np

float_ = np.dtype(np.float32)
int_ = np.dtype(np.int32)
bool_ = np.dtype(np.bool_)
complex_ = np.dtype(np.complex64)

_SCALAR_TYPES = (bool, int, float, complex)


class ShapedArray:
    """The abstract value of an array: its shape and dtype."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape = tuple(int(d) for d in shape)
        self.dtype = np.dtype(dtype)

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: int(np.prod(self.shape, dtype=np.int64)))

    def __eq__(self, other):
        return isinstance(other, ShapedArray) and self.shape == other.shape and self.dtype == other.dtype

    def __hash__(self):
        return hash((self.shape, self.dtype))

    def str_short(self):
        return f"{short_dtype(self.dtype)}[{','.join(map(str, self.shape))}]"

    __repr__ = str_short

    def update(self, shape=None, dtype=None):
        return ShapedArray(self.shape if shape is None else shape, self.dtype if dtype is None else dtype)


_SHORT = {"float16": "f16", "float32": "f32", "float64": "f64", "int8": "i8", "int16": "i16",
          "int32": "i32", "int64": "i64", "uint8": "u8", "uint16": "u16", "uint32": "u32",
          "uint64": "u64", "bool": "bool", "complex64": "c64", "complex128": "c128"}


def short_dtype(dt):
    return _SHORT.get(np.dtype(dt).name, np.dtype(dt).name)


def is_float(dtype) -> bool:
    return np.issubdtype(np.dtype(dtype), np.inexact)


def is_int(dtype) -> bool:
    return np.issubdtype(np.dtype(dtype), np.integer)


def is_scalar(x) -> bool:
    """True for Python scalars (weakly typed), False for arrays and tracers."""
    return isinstance(x, _SCALAR_TYPES) and not isinstance(x, np.generic)


def canonical_dtype(dtype):
    """The dtype fnflow stores for a requested dtype (``float`` -> float32 etc.)."""
    if dtype is None:
        return None
    if dtype is float:
        return float_
    if dtype is int:
        return int_
    if dtype is bool:
        return bool_
    if dtype is complex:
        return complex_
    return np.dtype(dtype)


def scalar_dtype(x):
    """The default dtype of a Python scalar standing alone."""
    if isinstance(x, bool):
        return bool_
    if isinstance(x, int):
        return int_
    if isinstance(x, float):
        return float_
    return complex_


def get_aval(x) -> ShapedArray:
    """Shape and dtype of an array, tracer or Python scalar."""
    aval = getattr(x, "aval", None)
    if aval is not None:
        return aval
    conv = getattr(type(x), "__fnflow_array__", None)
    if conv is not None:  # array-like holders such as Keras variables
        return get_aval(conv(x))
    if is_scalar(x):
        return ShapedArray((), scalar_dtype(x))
    if isinstance(x, np.ndarray):
        return ShapedArray(x.shape, x.dtype)
    if isinstance(x, np.generic):
        return ShapedArray((), x.dtype)
    raise TypeError(f"{type(x).__name__} is not a valid fnflow value (expected an array, a tracer or a number)")


_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def result_dtype(*args):
    """The promoted dtype of arrays/tracers and weakly typed Python scalars.

    Arrays of one kind promote as in NumPy; across kinds the higher kind's
    dtype wins unchanged (int32 with float32 gives float32, as in JAX). A Python scalar only matters when it is of a
    higher kind (bool < int < float < complex) than every array, and then it
    gives the default dtype of its kind.
    """
    strong = [get_aval(a).dtype for a in args if not is_scalar(a)]
    weak = [a for a in args if is_scalar(a)]
    if strong:
        # As in JAX: a lower kind never widens a higher one (f32 * i32 -> f32, not f64);
        # within the highest kind, NumPy's promotion.
        top = max(_KIND_RANK[d.kind] for d in strong)
        dt = None
        for d in strong:
            if _KIND_RANK[d.kind] == top:
                dt = d if dt is None else np.promote_types(dt, d)
    else:
        dt = None
    for w in weak:
        wd = scalar_dtype(w)
        if dt is None:
            dt = wd
        elif _KIND_RANK[wd.kind] > _KIND_RANK[dt.kind]:
            dt = wd if wd.kind != "c" or dt.itemsize < 8 else np.dtype(np.complex128)
    return dt


def broadcast_shapes(*shapes, op="broadcast"):
    """NumPy broadcasting of shapes, with an error that names the op."""
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(ndim):
        size = 1
        for s in shapes:
            j = i - (ndim - len(s))
            if j < 0:
                continue
            d = s[j]
            if d != 1:
                if size != 1 and size != d:
                    raise ValueError(
                        f"{op}: shapes {' and '.join(str(tuple(s)) for s in shapes)} cannot be broadcast together "
                        f"(axis {i} of the result: {size} vs {d})")
                size = d
        out.append(size)
    return tuple(out)
