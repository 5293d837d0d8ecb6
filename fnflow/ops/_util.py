"""Shared helpers for writing primitives: argument promotion and un-broadcasting."""

from __future__ import annotations

import numpy as np

from fnflow.core.abstract import ShapedArray, broadcast_shapes, get_aval, is_scalar, result_dtype
from fnflow.core.trace import Tracer, bind


def asvalue(x, dtype=None):
    """An array or tracer for ``x`` (Python scalars and lists become NumPy arrays).

    Objects with a ``__fnflow_array__()`` method (e.g. Keras variables) convert through it.
    """
    conv = getattr(type(x), "__fnflow_array__", None)
    if conv is not None:
        x = conv(x)
    if isinstance(x, Tracer):
        return x if dtype is None or x.aval.dtype == dtype else convert(x, dtype)
    if is_scalar(x):
        from fnflow.core.abstract import scalar_dtype

        return np.asarray(x, scalar_dtype(x) if dtype is None else dtype)
    if isinstance(x, (list, tuple)):
        if any(isinstance(e, Tracer) for e in _flat(x)):
            from fnflow.ops.shape import stack_values

            return stack_values(x, dtype)
        from fnflow.core.abstract import canonical_dtype

        arr = np.asarray(x)
        if dtype is None:
            dtype = _default_for(arr)
        return np.asarray(arr, canonical_dtype(dtype))
    arr = x if isinstance(x, np.ndarray) else np.asarray(x)
    if dtype is not None and arr.dtype != dtype:
        return convert(arr, dtype)
    return arr


def _flat(x):
    for e in x:
        if isinstance(e, (list, tuple)):
            yield from _flat(e)
        else:
            yield e


def _default_for(arr):
    # Lists of Python numbers take fnflow's 32-bit defaults.
    if arr.dtype == np.float64:
        return np.float32
    if arr.dtype == np.int64:
        return np.int32
    if arr.dtype == np.complex128:
        return np.complex64
    return arr.dtype


def convert(x, dtype):
    from fnflow.ops.elementwise import convert_element_type

    return convert_element_type(x, dtype)


def promote(*args, dtype=None):
    """Bring arguments (arrays, tracers, Python scalars) to one dtype."""
    dt = result_dtype(*args) if dtype is None else np.dtype(dtype)
    return [asvalue(a, dt) for a in args]


def unbroadcast(x, shape):
    """Sum ``x`` over the axes along which an operand of ``shape`` was broadcast."""
    from fnflow.ops.reduce import reduce_sum
    from fnflow.ops.shape import reshape

    xs = get_aval(x).shape
    if xs == tuple(shape):
        return x
    lead = len(xs) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, d in enumerate(shape) if d == 1 and xs[lead + i] != 1)
    if axes:
        x = reduce_sum(x, axes)
    return reshape(x, tuple(shape)) if get_aval(x).shape != tuple(shape) else x


def elementwise_abstract(name, *avals):
    """Output aval of an n-ary elementwise op: operands share a dtype and broadcast."""
    dts = {a.dtype for a in avals}
    if len(dts) > 1:
        raise TypeError(f"{name}: operands must have the same dtype, got "
                        f"{', '.join(a.str_short() for a in avals)}")
    shape = broadcast_shapes(*[a.shape for a in avals], op=name)
    return ShapedArray(shape, avals[0].dtype)


def normalize_axes(axes, ndim, op):
    """Non-negative, sorted, unique axes; ``None`` means all axes."""
    if axes is None:
        return tuple(range(ndim))
    if isinstance(axes, (int, np.integer)):
        axes = (int(axes),)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < ndim:
            raise ValueError(f"{op}: axis {a} is out of bounds for an array of rank {ndim}")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {tuple(axes)}")
    return tuple(sorted(out))


def bind1(prim, *args, **params):
    return bind(prim, *args, **params)


def real_floats(*args, name):
    """``args`` promoted to one real float dtype (integers to the default float); complex raises naming ``name``."""
    from fnflow.core.abstract import float_, is_float

    args = promote(*args)
    dt = get_aval(args[0]).dtype
    if dt.kind == "c":
        raise TypeError(f"{name} is not defined for complex input, got {dt.name}")
    if not is_float(dt):
        args = [asvalue(a, float_) for a in args]
    return args


def like(x, v):
    """The constant ``v`` in ``x``'s dtype."""
    return asvalue(v, get_aval(x).dtype)
