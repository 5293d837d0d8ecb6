"""Reductions under NumPy's names, with ``axis`` and ``keepdims``."""

from __future__ import annotations

import numpy as np

from fnflow.core.abstract import float_, get_aval, is_float
from fnflow.ops import cumulative as C
from fnflow.ops import elementwise as E
from fnflow.ops import reduce as R
from fnflow.ops._util import asvalue, normalize_axes
from fnflow.ops.shape import reshape


def _keep(y, x_shape, axes, keepdims):
    if not keepdims:
        return y
    return reshape(y, tuple(1 if i in axes else d for i, d in enumerate(x_shape)))


def _reduce(fn, a, axis, keepdims, dtype=None, name="reduce"):
    a = asvalue(a)
    if dtype is not None:
        a = E.convert_element_type(a, dtype)
    shape = get_aval(a).shape
    axes = normalize_axes(axis, len(shape), name)
    return _keep(fn(a, axes), shape, axes, keepdims)


def sum(a, axis=None, dtype=None, keepdims=False):  # noqa: A001
    """Sum of elements over ``axis``."""
    return _reduce(R.reduce_sum, a, axis, keepdims, dtype, "sum")


def prod(a, axis=None, dtype=None, keepdims=False):
    """Product of elements over ``axis``."""
    return _reduce(R.reduce_prod, a, axis, keepdims, dtype, "prod")


def max(a, axis=None, keepdims=False):  # noqa: A001
    """Maximum over ``axis``."""
    return _reduce(R.reduce_max, a, axis, keepdims, None, "max")


def min(a, axis=None, keepdims=False):  # noqa: A001
    """Minimum over ``axis``."""
    return _reduce(R.reduce_min, a, axis, keepdims, None, "min")


amax, amin = max, min


def all(a, axis=None, keepdims=False):  # noqa: A001
    """True where every element over ``axis`` is true."""
    return _reduce(R.reduce_and, a, axis, keepdims, None, "all")


def any(a, axis=None, keepdims=False):  # noqa: A001
    """True where some element over ``axis`` is true."""
    return _reduce(R.reduce_or, a, axis, keepdims, None, "any")


def _count(shape, axes):
    return int(np.prod([shape[i] for i in axes], dtype=np.int64))


def _float_input(a, dtype=None):
    a = asvalue(a)
    if dtype is not None:
        return E.convert_element_type(a, dtype)
    if not is_float(get_aval(a).dtype):
        return E.convert_element_type(a, float_)
    return a


def mean(a, axis=None, dtype=None, keepdims=False):
    """Arithmetic mean over ``axis`` (integers give the default float)."""
    a = _float_input(a, dtype)
    shape = get_aval(a).shape
    axes = normalize_axes(axis, len(shape), "mean")
    n = _count(shape, axes)
    s = sum(a, axes, keepdims=keepdims)
    return E.div(s, np.asarray(n, get_aval(a).dtype))


def var(a, axis=None, dtype=None, ddof=0, keepdims=False):
    """Variance over ``axis`` (``ddof`` as in NumPy)."""
    a = _float_input(a, dtype)
    shape = get_aval(a).shape
    axes = normalize_axes(axis, len(shape), "var")
    n = _count(shape, axes)
    centered = E.sub(a, mean(a, axes, keepdims=True))
    ss = sum(E.square(centered), axes, keepdims=keepdims)
    return E.div(ss, np.asarray(n - ddof, get_aval(a).dtype))


def std(a, axis=None, dtype=None, ddof=0, keepdims=False):
    """Standard deviation over ``axis``."""
    return E.sqrt(var(a, axis, dtype, ddof, keepdims))


def argmax(a, axis=None, keepdims=False):
    """Indices of the maxima (over the flattened array when ``axis`` is None)."""
    return _arg(R.argmax, a, axis, keepdims, "argmax")


def argmin(a, axis=None, keepdims=False):
    """Indices of the minima (over the flattened array when ``axis`` is None)."""
    return _arg(R.argmin, a, axis, keepdims, "argmin")


def _arg(fn, a, axis, keepdims, name):
    a = asvalue(a)
    shape = get_aval(a).shape
    if axis is None:
        out = fn(reshape(a, (-1,)), 0)
        return reshape(out, (1,) * len(shape)) if keepdims else out
    ax = normalize_axes(axis, len(shape), name)
    return _keep(fn(a, ax[0]), shape, ax, keepdims)


def cumsum(a, axis=None, dtype=None):
    """Cumulative sum (over the flattened array when ``axis`` is None)."""
    a = asvalue(a) if dtype is None else E.convert_element_type(a, dtype)
    return C.cumsum(a, axis)


def cumprod(a, axis=None, dtype=None):
    """Cumulative product (over the flattened array when ``axis`` is None)."""
    a = asvalue(a) if dtype is None else E.convert_element_type(a, dtype)
    return C.cumprod(a, axis)


cumulative_sum, cumulative_prod = cumsum, cumprod


def ptp(a, axis=None, keepdims=False):
    """max - min over ``axis``."""
    return E.sub(max(a, axis, keepdims), min(a, axis, keepdims))


def count_nonzero(a, axis=None, keepdims=False):
    """Number of non-zero elements over ``axis``."""
    return sum(E.ne(asvalue(a), 0), axis, keepdims=keepdims)


def average(a, axis=None, weights=None, keepdims=False):
    """Weighted mean over ``axis``."""
    if weights is None:
        return mean(a, axis, keepdims=keepdims)
    a, w = _float_input(a), asvalue(weights)
    from fnflow.ops.shape import broadcast_to

    w = broadcast_to(w, get_aval(a).shape) if get_aval(w).ndim == get_aval(a).ndim else w
    if get_aval(w).shape != get_aval(a).shape:
        if axis is None or get_aval(w).ndim != 1:
            raise ValueError(f"average: weights of shape {get_aval(w).shape} do not fit a of shape "
                             f"{get_aval(a).shape}")
        ax = normalize_axes(axis, get_aval(a).ndim, "average")[0]
        shape = [1] * get_aval(a).ndim
        shape[ax] = get_aval(w).shape[0]
        w = reshape(w, tuple(shape))
    return E.div(sum(E.mul(a, w), axis, keepdims=keepdims), sum(E.mul(E.ones_like(a), w), axis,
                                                                keepdims=keepdims))


def logsumexp(a, axis=None, keepdims=False, b=None):
    """log(sum(b * exp(a))) over ``axis``, computed without overflow."""
    from fnflow.transforms.ad import stop_gradient

    a = _float_input(a)
    shape = get_aval(a).shape
    axes = normalize_axes(axis, len(shape), "logsumexp")
    m = max(a, axes, keepdims=True)
    m = stop_gradient(E.select(E.lt(E.abs(m), np.inf), m, np.zeros((), get_aval(a).dtype)))
    e = E.exp(E.sub(a, m))
    if b is not None:
        e = E.mul(e, b)
    out = E.add(E.log(sum(e, axes, keepdims=True)), m)
    return out if keepdims else reshape(out, tuple(d for i, d in enumerate(shape) if i not in axes))


__all__ = ["sum", "prod", "max", "min", "amax", "amin", "all", "any", "mean", "var", "std", "argmax",
           "argmin", "cumsum", "cumprod", "cumulative_sum", "cumulative_prod", "ptp", "count_nonzero",
           "average", "logsumexp"]
