"""Array creation and dtypes. Creation results are concrete read-only arrays."""

from __future__ import annotations

import numpy as np

from fnflow.core.abstract import canonical_dtype, float_, get_aval, int_
from fnflow.core.array import Array, as_output
from fnflow.core.trace import Tracer
from fnflow.ops import elementwise as E
from fnflow.ops._util import asvalue

float16, float32, float64 = np.float16, np.float32, np.float64
int8, int16, int32, int64 = np.int8, np.int16, np.int32, np.int64
uint8, uint16, uint32, uint64 = np.uint8, np.uint16, np.uint32, np.uint64
bool_ = np.bool_
complex64, complex128 = np.complex64, np.complex128
dtype = np.dtype
finfo, iinfo = np.finfo, np.iinfo
pi, e, inf, nan, euler_gamma = np.pi, np.e, np.inf, np.nan, np.euler_gamma
newaxis = None
ndarray = Array
issubdtype = np.issubdtype
floating, integer, inexact, number, signedinteger, unsignedinteger = (
    np.floating, np.integer, np.inexact, np.number, np.signedinteger, np.unsignedinteger)
complexfloating, bool = np.complexfloating, np.bool_  # noqa: A001


def _dt(dtype, default=float_):
    return default if dtype is None else canonical_dtype(dtype)


def _shape(shape):
    if isinstance(shape, (int, np.integer)) or (isinstance(shape, Tracer) and shape.ndim == 0):
        return (int(shape),)  # a traced size raises a concretization error that explains why
    return tuple(int(s) for s in shape)


def asarray(a, dtype=None):
    """``a`` as an fnflow array (tracers pass through; Python lists take 32-bit defaults)."""
    dtype = canonical_dtype(dtype)
    if isinstance(a, Tracer):
        return a if dtype is None else E.convert_element_type(a, dtype)
    v = asvalue(a, dtype)
    if isinstance(v, Tracer):
        return v
    return as_output(v)


def array(a, dtype=None, copy=True, ndmin=0):
    """A new fnflow array from ``a`` (copied)."""
    out = asarray(a, dtype)
    if not isinstance(out, Tracer) and copy:
        out = as_output(np.array(out))
    while get_aval(out).ndim < ndmin:
        from fnflow.ops.shape import expand_dims

        out = expand_dims(out, 0)
    return out


def zeros(shape, dtype=None):
    """Zeros of ``shape`` (float32 by default)."""
    return as_output(np.zeros(_shape(shape), _dt(dtype)))


def ones(shape, dtype=None):
    """Ones of ``shape`` (float32 by default)."""
    return as_output(np.ones(_shape(shape), _dt(dtype)))


def empty(shape, dtype=None):
    """Zeros (fnflow never hands out uninitialised memory)."""
    return zeros(shape, dtype)


def full(shape, fill_value, dtype=None):
    """An array of ``shape`` filled with ``fill_value`` (which may be traced)."""
    from fnflow.ops.shape import broadcast_to

    if isinstance(fill_value, Tracer):
        v = fill_value if dtype is None else E.convert_element_type(fill_value, dtype)
        return broadcast_to(v, _shape(shape))
    if dtype is None:
        dtype = np.asarray(asvalue(fill_value)).dtype
    return as_output(np.full(_shape(shape), fill_value, canonical_dtype(dtype)))


def zeros_like(a, dtype=None, shape=None):
    a_ = get_aval(asvalue(a))
    return zeros(a_.shape if shape is None else shape, a_.dtype if dtype is None else dtype)


def ones_like(a, dtype=None, shape=None):
    a_ = get_aval(asvalue(a))
    return ones(a_.shape if shape is None else shape, a_.dtype if dtype is None else dtype)


def empty_like(a, dtype=None, shape=None):
    return zeros_like(a, dtype, shape)


def full_like(a, fill_value, dtype=None, shape=None):
    a_ = get_aval(asvalue(a))
    return full(a_.shape if shape is None else shape, fill_value, a_.dtype if dtype is None else dtype)


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in ``[start, stop)`` (int32 or float32 by default)."""
    for v in (start, stop, step):
        if isinstance(v, Tracer):
            raise TypeError("arange: start, stop and step must be concrete Python numbers (the result's shape "
                            "depends on them); pass them as static arguments")
    out = np.arange(start, stop, step) if step is not None else (
        np.arange(start, stop) if stop is not None else np.arange(start))
    if dtype is None:
        dtype = int_ if out.dtype.kind in "iu" else float_
    return as_output(out.astype(canonical_dtype(dtype)))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced values from ``start`` to ``stop``."""
    out, step = np.linspace(np.asarray(start), np.asarray(stop), num, endpoint=endpoint, retstep=True, axis=axis)
    out = as_output(out.astype(_dt(dtype)))
    return (out, step) if retstep else out


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None):
    return as_output(np.logspace(start, stop, num, endpoint=endpoint, base=base).astype(_dt(dtype)))


def eye(N, M=None, k=0, dtype=None):
    """A 2-D array with ones on the k-th diagonal."""
    return as_output(np.eye(N, M, k, dtype=_dt(dtype)))


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):
    return as_output(np.tri(N, M, k, dtype=_dt(dtype)))


def result_type(*args):
    from fnflow.core.abstract import result_dtype

    return result_dtype(*[np.zeros((), canonical_dtype(a)) if isinstance(a, (type, np.dtype)) else a
                          for a in args])


def promote_types(a, b):
    return np.promote_types(canonical_dtype(a), canonical_dtype(b))


def can_cast(from_, to, casting="safe"):
    return np.can_cast(from_, to, casting)


def shape(a):
    return get_aval(asvalue(a)).shape


def ndim(a):
    return get_aval(asvalue(a)).ndim


def size(a, axis=None):
    s = get_aval(asvalue(a)).shape
    return int(np.prod(s)) if axis is None else s[axis]


def astype(x, dtype):
    """``x`` converted to ``dtype``."""
    return E.convert_element_type(x, dtype)


__all__ = [n for n in dir() if not n.startswith("_") and n not in (
    "annotations", "np", "canonical_dtype", "float_", "get_aval", "int_", "Array", "as_output", "Tracer",
    "E", "asvalue")] + ["ndarray", "bool_"]
