"""More of NumPy: comparisons, NaN-aware reductions, differences, statistics, binning, polynomials.

Everything here is composed from existing ``fnflow.numpy`` functions and ops
(no new primitives), so it is differentiable where NumPy's result is, and
batchable and traceable. Functions whose result *shape* depends on values
(``bincount`` without ``length``, ``digitize`` direction checks, ...) need
concrete inputs, or a static size argument as in JAX.
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from fnflow.core.abstract import float_, get_aval, int_, is_float, is_int
from fnflow.core.array import as_output
from fnflow.core.trace import Tracer, concrete_or_none
from fnflow.numpy import _elementwise as el
from fnflow.numpy import _reductions as red
from fnflow.numpy import _shape as sh
from fnflow.numpy._indexing import NonConcreteBooleanIndexError, take_along_axis
from fnflow.numpy._products import dot
from fnflow.numpy._sorting import argsort, searchsorted
from fnflow.ops import elementwise as E
from fnflow.ops import shape as S
from fnflow.ops._util import asvalue, normalize_axes
from fnflow.ops._util import promote as _promote
from fnflow.ops.indexing import check_bounds, normalize_index, scatter

__all__ = [
    "allclose", "isclose", "array_equal", "array_equiv", "append", "bincount", "choose", "convolve", "correlate",
    "copy", "corrcoef", "cov", "cross", "diff", "ediff1d", "digitize", "dsplit", "fmax", "fmin", "gradient",
    "histogram", "histogram_bin_edges", "indices", "interp", "isin", "ldexp", "meshgrid", "nanargmax",
    "nanargmin", "nancumsum", "nancumprod", "nanmax", "nanmin", "nanmean", "nanprod", "nanstd", "nanvar",
    "nansum", "polyval", "polyfit", "put_along_axis", "select", "trapezoid", "trapz", "vander", "unwrap",
    "tril_indices_from", "triu_indices_from",
]


# ------------------------------------------------------------------ helpers


def _aval(x):
    return get_aval(x)


def _as_float(x, name=None):
    """``x`` as an array of a floating dtype (integers and bools become the default float)."""
    x = asvalue(x)
    return x if is_float(_aval(x).dtype) else E.convert_element_type(x, float_)


def promote(*args):
    """Arguments (arrays, tracers, numbers, nested lists) brought to one dtype."""
    return _promote(*[a if isinstance(a, (int, float, bool)) else asvalue(a) for a in args])


def _float_promote(*args):
    """Arguments promoted together to one floating dtype."""
    vals = promote(*args)
    if not is_float(_aval(vals[0]).dtype):
        vals = [E.convert_element_type(v, float_) for v in vals]
    return vals


def _axis(axis, ndim, name):
    return normalize_axes(axis, ndim, name)[0]


def _slice(x, start, stop, axis):
    return S.slice_in_dim(x, start, stop, axis=axis)


def _false():
    return as_output(np.asarray(False))


# -------------------------------------------------------------- comparisons


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Elementwise ``|a - b| <= atol + rtol * |b|`` (NumPy's asymmetric test); equal infinities are close."""
    a, b = _float_promote(a, b)
    dt = _aval(a).dtype
    tol = el.add(np.asarray(atol, dt), el.multiply(np.asarray(rtol, dt), el.abs(b)))
    # infinities are close only to an equal infinity (the last test); zero them so no inf - inf is computed
    finite = el.logical_and(el.isfinite(a), el.isfinite(b))
    zero = np.zeros((), dt)
    diff = el.abs(el.subtract(el.where(finite, a, zero), el.where(finite, b, zero)))
    close = el.logical_and(el.less_equal(diff, tol), finite)
    out = el.logical_or(close, el.equal(a, b))
    if equal_nan:
        out = el.logical_or(out, el.logical_and(el.isnan(a), el.isnan(b)))
    return out


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True (a 0-d boolean array) when every element of ``a`` is close to ``b``; see :func:`isclose`."""
    return red.all(isclose(a, b, rtol, atol, equal_nan))


def array_equal(a1, a2, equal_nan=False):
    """True when ``a1`` and ``a2`` have the same shape and elements (a 0-d boolean array)."""
    a1, a2 = asvalue(a1), asvalue(a2)
    if _aval(a1).shape != _aval(a2).shape:
        return _false()
    return _all_equal(a1, a2, equal_nan)


def array_equiv(a1, a2):
    """True when ``a1`` and ``a2`` broadcast to each other and are equal elementwise."""
    a1, a2 = asvalue(a1), asvalue(a2)
    try:
        np.broadcast_shapes(_aval(a1).shape, _aval(a2).shape)
    except ValueError:
        return _false()
    return _all_equal(a1, a2, False)


def _all_equal(a1, a2, equal_nan):
    eq = el.equal(a1, a2)
    if equal_nan:
        eq = el.logical_or(eq, el.logical_and(el.isnan(a1), el.isnan(a2)))
    return red.all(eq)


def isin(element, test_elements, assume_unique=False, invert=False, *, kind=None):
    """Elementwise: is ``element`` one of ``test_elements``? (shape of ``element``)."""
    element, test = promote(element, test_elements)
    test = sh.ravel(test)
    hit = red.any(el.equal(S.expand_dims(element, -1), test), axis=-1)
    return el.logical_not(hit) if invert else hit


def fmax(x1, x2):
    """Elementwise maximum that ignores NaNs (NaN only where both are NaN)."""
    x1, x2 = promote(x1, x2)
    return el.where(el.isnan(x1), x2, el.where(el.isnan(x2), x1, el.maximum(x1, x2)))


def fmin(x1, x2):
    """Elementwise minimum that ignores NaNs (NaN only where both are NaN)."""
    x1, x2 = promote(x1, x2)
    return el.where(el.isnan(x1), x2, el.where(el.isnan(x2), x1, el.minimum(x1, x2)))


def ldexp(x1, x2):
    """``x1 * 2 ** x2`` elementwise (``x2`` integer); differentiable in ``x1``."""
    x1 = _as_float(x1)
    dt = _aval(x1).dtype
    x2 = asvalue(x2)
    if not is_int(_aval(x2).dtype):
        raise TypeError(f"ldexp: the exponent must be an integer array, got {_aval(x2).str_short()}")
    return el.multiply(x1, E.pow(np.asarray(2, dt), E.convert_element_type(x2, dt)))


def copy(a, order="K", subok=False):
    """A copy of ``a`` (fnflow arrays are immutable, so this is for NumPy parity)."""
    from fnflow.numpy._creation import array

    return array(a, copy=True)


# ------------------------------------------------------------ construction


def append(arr, values, axis=None):
    """``arr`` with ``values`` appended along ``axis`` (both flattened when ``axis`` is None)."""
    arr, values = promote(arr, values)
    if axis is None:
        return S.concatenate([sh.ravel(arr), sh.ravel(values)], 0)
    return S.concatenate([arr, values], _axis(axis, _aval(arr).ndim, "append"))


def indices(dimensions, dtype=None, sparse=False):
    """A grid of index arrays for a grid of ``dimensions`` (int32 by default)."""
    dt = np.dtype(int_ if dtype is None else dtype)
    dims = tuple(int(d) for d in dimensions)
    if sparse:
        return tuple(as_output(np.asarray(i, dt)) for i in np.indices(dims, dt, sparse=True))
    return as_output(np.indices(dims, dt))


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """Coordinate matrices from 1-D coordinate vectors (``indexing`` 'xy' or 'ij'), as a list."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    xs = [sh.ravel(asvalue(x)) for x in xi]
    nd = len(xs)
    shapes = []
    for k, x in enumerate(xs):
        s = [1] * nd
        s[k] = _aval(x).shape[0]
        if indexing == "xy" and nd > 1 and k < 2:
            s[0], s[1] = s[1], s[0]
        shapes.append(tuple(s))
    out = [S.reshape(x, s) for x, s in zip(xs, shapes)]
    if sparse:
        return out
    full = np.broadcast_shapes(*shapes)
    return [S.broadcast_to(x, full) for x in out]


def tril_indices_from(arr, k=0):
    """Indices of the lower triangle of the 2-D ``arr``."""
    from fnflow.numpy._indexing import tril_indices

    shape = _aval(asvalue(arr)).shape
    if len(shape) != 2:
        raise ValueError(f"tril_indices_from: input array must be 2-d, got shape {shape}")
    return tril_indices(shape[-2], k=k, m=shape[-1])


def triu_indices_from(arr, k=0):
    """Indices of the upper triangle of the 2-D ``arr``."""
    from fnflow.numpy._indexing import triu_indices

    shape = _aval(asvalue(arr)).shape
    if len(shape) != 2:
        raise ValueError(f"triu_indices_from: input array must be 2-d, got shape {shape}")
    return triu_indices(shape[-2], k=k, m=shape[-1])


def dsplit(ary, indices_or_sections):
    """Split along the third axis (the array must have at least 3 dimensions)."""
    if _aval(asvalue(ary)).ndim < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return sh.split(ary, indices_or_sections, 2)


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of the 1-D ``x``: columns ``x**(N-1), ..., x, 1`` (reversed if ``increasing``).

    Powers are repeated products (exact, with finite derivatives at 0).
    """
    x = asvalue(x)
    if _aval(x).ndim != 1:
        raise ValueError(f"vander: x must be a one-dimensional array, got shape {_aval(x).shape}")
    n = _aval(x).shape[0] if N is None else int(N)
    cols, p = [], None
    for k in range(n):
        p = E.ones_like(x) if k == 0 else (x if k == 1 else el.multiply(p, x))
        cols.append(p)
    if not cols:
        return S.reshape(S.slice_in_dim(S.expand_dims(x, 1), 0, 0, axis=1), (_aval(x).shape[0], 0))
    out = sh.stack(cols, axis=1)
    return out if increasing else sh.flip(out, 1)


# ---------------------------------------------------------------- selection


def select(condlist, choicelist, default=0):
    """The element of the first ``choicelist`` entry whose condition holds, else ``default``."""
    if len(condlist) != len(choicelist):
        raise ValueError("select: list of cases must be same length as list of conditions")
    if not condlist:
        raise ValueError("select with an empty condition list is not possible")
    conds = []
    for i, c in enumerate(condlist):
        c = asvalue(c)
        if _aval(c).dtype != np.bool_:
            raise TypeError(f"select: invalid entry {i} in condlist: should be boolean ndarray, got "
                            f"{_aval(c).str_short()}")
        conds.append(c)
    vals = promote(*choicelist, default)
    out = vals[-1]
    for c, v in zip(reversed(conds), reversed(vals[:-1])):  # the first true condition is applied last
        out = el.where(c, v, out)
    shape = np.broadcast_shapes(*[_aval(v).shape for v in vals], *[_aval(c).shape for c in conds])
    return S.broadcast_to(out, shape)


def choose(a, choices, mode="raise"):
    """``choices[a]`` elementwise: ``a`` (integers) picks among the broadcast ``choices``.

    ``mode``: 'raise' (concrete out-of-range indices raise; traced ones are
    clamped), 'wrap' or 'clip'.
    """
    a = asvalue(a)
    if not is_int(_aval(a).dtype):
        raise TypeError(f"choose: a must be an integer array, got {_aval(a).str_short()}")
    if isinstance(choices, (list, tuple)):
        choices = promote(*choices)
    else:  # an array: its first axis indexes the choices
        choices = asvalue(choices)
        choices = [S.reshape(_slice(choices, k, k + 1, 0), _aval(choices).shape[1:])
                   for k in range(_aval(choices).shape[0])]
    n = len(choices)
    shape = np.broadcast_shapes(_aval(a).shape, *[_aval(c).shape for c in choices])
    if mode == "wrap":
        a = el.remainder(a, n)
    elif mode == "clip":
        a = el.clip(a, 0, n - 1)
    elif mode == "raise":
        c = concrete_or_none(a)
        if c is not None and np.size(c) and (np.min(c) < 0 or np.max(c) >= n):
            raise ValueError(f"choose: invalid entry in choice array (values must lie in [0, {n}))")
        a = normalize_index(a, n)
    else:
        raise ValueError(f"choose: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    stacked = sh.stack([S.broadcast_to(c, shape) for c in choices], 0)
    idx = S.reshape(S.broadcast_to(a, shape), (1,) + shape)
    return S.reshape(take_along_axis(stacked, idx, 0), shape)


def put_along_axis(arr, indices, values, axis, inplace=True, *, mode=None):
    """A copy of ``arr`` with ``values`` placed at ``indices`` along ``axis`` (pass ``inplace=False``).

    fnflow arrays are immutable, so the NumPy in-place form is refused; like
    JAX, ``inplace=False`` returns the updated array. Differentiable in
    ``arr`` and ``values`` (the last of duplicate indices wins).
    """
    if inplace:
        raise ValueError("put_along_axis: fnflow arrays are immutable, so it cannot update arr in place; pass "
                         "inplace=False to get the updated copy (arr = fnp.put_along_axis(arr, idx, v, axis, "
                         "inplace=False))")
    arr = asvalue(arr)
    idx = asvalue(indices)
    if not is_int(_aval(idx).dtype):
        raise IndexError(f"put_along_axis: indices must be integers, got {_aval(idx).str_short()}")
    out_shape = _aval(arr).shape
    if axis is None:
        arr = sh.ravel(arr)
        idx = sh.ravel(idx)
        axis = 0
    aa, ia = _aval(arr), _aval(idx)
    if aa.ndim != ia.ndim:
        raise ValueError(f"put_along_axis: indices {ia.shape} and arr {aa.shape} must have the same number of "
                         f"dimensions")
    axis = _axis(axis, aa.ndim, "put_along_axis")
    n = aa.shape[axis]
    # NumPy broadcasts indices against arr on the other axes; the index array gives the update's shape
    ishape = np.broadcast_shapes(*[tuple(1 if k == axis else d for k, d in enumerate(s))
                                   for s in (aa.shape, ia.shape)])
    ishape = tuple(ia.shape[axis] if k == axis else d for k, d in enumerate(ishape))
    check_bounds(idx, n, axis)
    idx = S.broadcast_to(normalize_index(idx, n), ishape)
    total = aa.size
    flat = S.reshape(E.convert_element_type(idx, np.int64 if total >= 2**31 - 1 else np.int32), ishape)
    stride = int(np.prod(aa.shape[axis + 1:], dtype=np.int64))
    flat = el.multiply(flat, stride)
    for k, d in enumerate(aa.shape):
        if k != axis:
            s = int(np.prod(aa.shape[k + 1:], dtype=np.int64))
            flat = el.add(flat, (np.arange(ishape[k], dtype=_aval(flat).dtype) * s).reshape(
                (1,) * k + (-1,) + (1,) * (aa.ndim - k - 1)))
    vals = S.broadcast_to(asvalue(values, aa.dtype), ishape)
    out = scatter(S.reshape(arr, (total,)), sh.ravel(flat), sh.ravel(vals), 0, "set")
    return S.reshape(out, out_shape)


# ------------------------------------------------------------- nan-aware


def _nan_fill(a, value):
    a = asvalue(a)
    if not is_float(_aval(a).dtype):
        return a
    return el.where(el.isnan(a), np.asarray(value, _aval(a).dtype), a)


def nansum(a, axis=None, dtype=None, keepdims=False):
    """Sum over ``axis`` treating NaNs as zero."""
    return red.sum(_nan_fill(a, 0), axis, dtype, keepdims)


def nanprod(a, axis=None, dtype=None, keepdims=False):
    """Product over ``axis`` treating NaNs as one."""
    return red.prod(_nan_fill(a, 1), axis, dtype, keepdims)


def nancumsum(a, axis=None, dtype=None):
    """Cumulative sum treating NaNs as zero."""
    return red.cumsum(_nan_fill(a, 0), axis, dtype)


def nancumprod(a, axis=None, dtype=None):
    """Cumulative product treating NaNs as one."""
    return red.cumprod(_nan_fill(a, 1), axis, dtype)


def _nan_extreme(fn, fill, a, axis, keepdims):
    a = asvalue(a)
    if not is_float(_aval(a).dtype):
        return fn(a, axis, keepdims)
    nan = el.isnan(a)
    out = fn(el.where(nan, np.asarray(fill, _aval(a).dtype), a), axis, keepdims)
    all_nan = red.all(nan, axis, keepdims)
    return el.where(all_nan, np.asarray(np.nan, _aval(a).dtype), out)


def nanmax(a, axis=None, keepdims=False):
    """Maximum over ``axis`` ignoring NaNs (NaN for an all-NaN slice)."""
    return _nan_extreme(red.max, -np.inf, a, axis, keepdims)


def nanmin(a, axis=None, keepdims=False):
    """Minimum over ``axis`` ignoring NaNs (NaN for an all-NaN slice)."""
    return _nan_extreme(red.min, np.inf, a, axis, keepdims)


def _nan_arg(fn, fill, a, axis, keepdims, name):
    a = asvalue(a)
    if not is_float(_aval(a).dtype):
        return fn(a, axis, keepdims)
    nan = el.isnan(a)
    all_nan = red.all(nan, axis, keepdims)
    c = concrete_or_none(all_nan)
    if c is not None and np.any(c):
        raise ValueError(f"{name}: All-NaN slice encountered")
    out = fn(el.where(nan, np.asarray(fill, _aval(a).dtype), a), axis, keepdims)
    # traced all-NaN slices cannot raise: they give -1, as in JAX
    return el.where(all_nan, np.asarray(-1, _aval(out).dtype), out)


def nanargmax(a, axis=None, keepdims=False):
    """Index of the maximum ignoring NaNs (ValueError for an all-NaN slice; -1 when traced)."""
    return _nan_arg(red.argmax, -np.inf, a, axis, keepdims, "nanargmax")


def nanargmin(a, axis=None, keepdims=False):
    """Index of the minimum ignoring NaNs (ValueError for an all-NaN slice; -1 when traced)."""
    return _nan_arg(red.argmin, np.inf, a, axis, keepdims, "nanargmin")


def _nan_count(a, axis, keepdims):
    return red.sum(E.convert_element_type(el.logical_not(el.isnan(a)), _aval(a).dtype), axis, keepdims=keepdims)


def nanmean(a, axis=None, dtype=None, keepdims=False):
    """Mean over ``axis`` ignoring NaNs (NaN for an all-NaN slice)."""
    a = red._float_input(a, dtype)
    return _safe_div(nansum(a, axis, keepdims=keepdims), _nan_count(a, axis, keepdims))


def _safe_div(num, den):
    """``num / den`` where ``den > 0``, NaN elsewhere, with no 0/0 computed (no warning, finite gradients)."""
    dt = _aval(num).dtype
    ok = el.greater(den, 0)
    return el.where(ok, el.divide(num, el.where(ok, den, np.ones((), dt))), np.asarray(np.nan, dt))


def nanvar(a, axis=None, dtype=None, ddof=0, keepdims=False):
    """Variance over ``axis`` ignoring NaNs."""
    a = red._float_input(a, dtype)
    nan = el.isnan(a)
    # NaN entries are zeroed before any arithmetic, so no NaN reaches a derivative (0 * NaN is NaN)
    centered = el.subtract(_nan_fill(a, 0), nanmean(a, axis, keepdims=True))
    centered = el.where(nan, np.zeros((), _aval(a).dtype), centered)
    ss = red.sum(el.square(centered), axis, keepdims=keepdims)
    dof = el.subtract(_nan_count(a, axis, keepdims), np.asarray(ddof, _aval(a).dtype))
    return _safe_div(ss, dof)  # no degrees of freedom left: NaN, as NumPy


def nanstd(a, axis=None, dtype=None, ddof=0, keepdims=False):
    """Standard deviation over ``axis`` ignoring NaNs."""
    return el.sqrt(nanvar(a, axis, dtype, ddof, keepdims))


# -------------------------------------------------------------- differences


def _edge_value(v, like, axis):
    """``prepend``/``append`` of ``diff``: a scalar becomes a slab of size 1 along ``axis``."""
    v = asvalue(v, _aval(like).dtype)
    if _aval(v).ndim == 0:
        shape = list(_aval(like).shape)
        shape[axis] = 1
        v = S.broadcast_to(v, tuple(shape))
    return v


def diff(a, n=1, axis=-1, prepend=None, append=None):
    """The ``n``-th discrete difference along ``axis`` (booleans: ``!=``, as NumPy)."""
    a = asvalue(a)
    if n == 0:
        return a
    if n < 0:
        raise ValueError(f"diff: order must be non-negative but got {n}")
    if _aval(a).ndim == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    axis = _axis(axis, _aval(a).ndim, "diff")
    parts = [a]
    if prepend is not None:
        parts.insert(0, _edge_value(prepend, a, axis))
    if append is not None:
        parts.append(_edge_value(append, a, axis))
    if len(parts) > 1:
        a = S.concatenate(promote(*parts), axis)
    boolean = _aval(a).dtype == np.bool_
    for _ in range(n):
        m = _aval(a).shape[axis]
        hi, lo = _slice(a, 1, builtins.max(m, 1), axis), _slice(a, 0, builtins.max(m - 1, 0), axis)
        a = el.not_equal(hi, lo) if boolean else el.subtract(hi, lo)
    return a


def ediff1d(ary, to_end=None, to_begin=None):
    """Differences of the flattened ``ary``, with optional values before and after."""
    ary = sh.ravel(asvalue(ary))
    parts = [diff(ary)]
    dt = _aval(parts[0]).dtype
    if to_begin is not None:
        parts.insert(0, sh.ravel(asvalue(to_begin, dt)))
    if to_end is not None:
        parts.append(sh.ravel(asvalue(to_end, dt)))
    return S.concatenate(parts, 0) if len(parts) > 1 else parts[0]


def _spacing(h, n, axis, name):
    """One axis' spacing: ``(scalar, None)`` for uniform steps or ``(None, dx)`` from coordinates."""
    if isinstance(h, (int, float, np.number)):
        return h, None  # a Python number keeps its full precision (asvalue would make it float32)
    h = asvalue(h)
    if _aval(h).ndim == 0:
        return h, None
    if _aval(h).ndim != 1:
        raise ValueError(f"{name}: distances must be either scalars or 1d")
    if _aval(h).shape[0] != n:
        raise ValueError(f"{name}: when 1d, distances must match the length of the corresponding dimension "
                         f"({_aval(h).shape[0]} != {n})")
    return None, diff(_as_float(h))


def gradient(f, *varargs, axis=None, edge_order=1):
    """Central differences in the interior, one-sided ones at the edges (NumPy's ``gradient``).

    ``varargs``: nothing (unit spacing), one scalar for every axis, one scalar
    or 1-D coordinate array per axis. ``edge_order`` 1 or 2. Returns one array,
    or a list with one array per axis.
    """
    f = _as_float(f)
    nd = _aval(f).ndim
    axes = tuple(range(nd)) if axis is None else tuple(normalize_axes(axis, nd, "gradient") if not isinstance(
        axis, (list, tuple)) else [_axis(x, nd, "gradient") for x in axis])
    if len(varargs) == 0:
        spacings = [1.0] * len(axes)
    elif len(varargs) == 1 and _aval(asvalue(varargs[0])).ndim == 0:
        spacings = list(varargs) * len(axes)
    elif len(varargs) == len(axes):
        spacings = list(varargs)
    else:
        raise TypeError(f"gradient: invalid number of arguments ({len(varargs)} spacings for {len(axes)} axes)")
    if edge_order not in (1, 2):
        raise ValueError("gradient: 'edge_order' greater than 2 not supported")
    out = []
    for ax, h in zip(axes, spacings):
        n = _aval(f).shape[ax]
        if n < edge_order + 1:
            raise ValueError("Shape of array too small to calculate a numerical gradient, at least (edge_order + 1) "
                             "elements are required.")
        step, dx = _spacing(h, n, ax, "gradient")
        out.append(_grad_axis(f, ax, n, step, dx, edge_order))
    return out[0] if len(out) == 1 else out


def _bshape(v, nd, ax):
    """A 1-D coefficient array shaped to broadcast along axis ``ax``."""
    return S.reshape(v, (1,) * ax + (-1,) + (1,) * (nd - ax - 1))


def _grad_axis(f, ax, n, step, dx, edge_order):
    nd = _aval(f).ndim
    dt = _aval(f).dtype

    def sl(a, b):
        return _slice(f, a, b, ax)

    if dx is None:  # uniform spacing
        h = E.convert_element_type(step, dt) if isinstance(step, Tracer) else np.asarray(step, dt)
        interior = el.divide(el.subtract(sl(2, n), sl(0, n - 2)), el.multiply(h, 2))
        if edge_order == 1:
            first = el.divide(el.subtract(sl(1, 2), sl(0, 1)), h)
            last = el.divide(el.subtract(sl(n - 1, n), sl(n - 2, n - 1)), h)
        else:
            first = el.divide(el.add(el.add(el.multiply(sl(0, 1), -1.5), el.multiply(sl(1, 2), 2.0)),
                                     el.multiply(sl(2, 3), -0.5)), h)
            last = el.divide(el.add(el.add(el.multiply(sl(n - 3, n - 2), 0.5), el.multiply(sl(n - 2, n - 1), -2.0)),
                                    el.multiply(sl(n - 1, n), 1.5)), h)
    else:
        dx = E.convert_element_type(dx, dt)
        d1, d2 = _bshape(_slice(dx, 0, n - 2, 0), nd, ax), _bshape(_slice(dx, 1, n - 1, 0), nd, ax)
        s = el.add(d1, d2)
        a = el.negative(el.divide(d2, el.multiply(d1, s)))
        b = el.divide(el.subtract(d2, d1), el.multiply(d1, d2))
        c = el.divide(d1, el.multiply(d2, s))
        interior = el.add(el.add(el.multiply(a, sl(0, n - 2)), el.multiply(b, sl(1, n - 1))),
                          el.multiply(c, sl(2, n)))
        if edge_order == 1:
            first = el.divide(el.subtract(sl(1, 2), sl(0, 1)), _bshape(_slice(dx, 0, 1, 0), nd, ax))
            last = el.divide(el.subtract(sl(n - 1, n), sl(n - 2, n - 1)), _bshape(_slice(dx, n - 2, n - 1, 0), nd, ax))
        else:
            first = _three_point(sl(0, 1), sl(1, 2), sl(2, 3), _slice(dx, 0, 1, 0), _slice(dx, 1, 2, 0), nd, ax, True)
            last = _three_point(sl(n - 3, n - 2), sl(n - 2, n - 1), sl(n - 1, n), _slice(dx, n - 3, n - 2, 0),
                                _slice(dx, n - 2, n - 1, 0), nd, ax, False)
    return S.concatenate([first, interior, last], ax)


def _three_point(f0, f1, f2, d1, d2, nd, ax, at_start):
    """Second-order one-sided derivative at the first (or last) of three points with steps d1, d2."""
    d1, d2 = _bshape(d1, nd, ax), _bshape(d2, nd, ax)
    s = el.add(d1, d2)
    if at_start:
        a = el.negative(el.divide(el.add(el.multiply(d1, 2.0), d2), el.multiply(d1, s)))
        b = el.divide(s, el.multiply(d1, d2))
        c = el.negative(el.divide(d1, el.multiply(d2, s)))
    else:
        a = el.divide(d2, el.multiply(d1, s))
        b = el.negative(el.divide(s, el.multiply(d1, d2)))
        c = el.divide(el.add(el.multiply(d2, 2.0), d1), el.multiply(d2, s))
    return el.add(el.add(el.multiply(a, f0), el.multiply(b, f1)), el.multiply(c, f2))


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integral of ``y`` along ``axis`` by the trapezoidal rule (sample points ``x`` or spacing ``dx``)."""
    y = _as_float(y)
    nd = _aval(y).ndim
    axis = _axis(axis, nd, "trapezoid")
    n = _aval(y).shape[axis]
    if x is None:
        d = dx
    else:
        x = asvalue(x)
        d = diff(x, axis=-1 if _aval(x).ndim == 1 else axis)
        if _aval(d).ndim == 1:
            d = _bshape(d, nd, axis)
    mid = el.divide(el.add(_slice(y, 1, n, axis), _slice(y, 0, builtins.max(n - 1, 0), axis)), 2.0)
    return red.sum(el.multiply(d, mid), axis)


trapz = trapezoid


def unwrap(p, discont=None, axis=-1, *, period=2 * np.pi):
    """Unwrap by replacing jumps larger than ``discont`` (default ``period/2``) by their ``period`` complement."""
    p = _as_float(p)
    nd = _aval(p).ndim
    axis = _axis(axis, nd, "unwrap")
    dt = _aval(p).dtype
    dd = diff(p, axis=axis)
    discont = period / 2 if discont is None else builtins.max(discont, period / 2)
    high = period / 2
    low = -high
    ddmod = el.add(el.remainder(el.subtract(dd, np.asarray(low, dt)), np.asarray(period, dt)), np.asarray(low, dt))
    ddmod = el.where(el.logical_and(el.equal(ddmod, np.asarray(low, dt)), el.greater(dd, 0)), np.asarray(high, dt),
                     ddmod)
    correct = el.subtract(ddmod, dd)
    correct = el.where(el.less(el.abs(dd), np.asarray(discont, dt)), np.asarray(0, dt), correct)
    n = _aval(p).shape[axis]
    zero = S.broadcast_to(np.zeros((), dt), tuple(1 if k == axis else d for k, d in enumerate(_aval(p).shape)))
    return el.add(p, S.concatenate([zero, red.cumsum(correct, axis)], axis)) if n else p


# ------------------------------------------------------------- convolution


def _full_convolve(a, v):
    """The full 1-D convolution of ``a`` (n) and ``v`` (m), length n + m - 1, as one conv op."""
    from fnflow.ops.conv import conv_general_dilated

    n, m = _aval(a).shape[0], _aval(v).shape[0]
    lhs = S.reshape(a, (1, n, 1))
    rhs = S.reshape(sh.flip(v, 0), (m, 1, 1))  # the conv op correlates: flip the kernel
    return S.reshape(conv_general_dilated(lhs, rhs, padding=[(m - 1, m - 1)]), (n + m - 1,))


def _vectors(a, v, name):
    a, v = promote(a, v)
    for x, label in ((a, "a"), (v, "v")):
        if _aval(x).ndim != 1:
            raise ValueError(f"{name}: {label} must be 1-D, got shape {_aval(x).shape}")
        if _aval(x).shape[0] == 0:
            raise ValueError(f"{name}: {label} cannot be empty")
    return a, v


def _mode_slice(full, n, m, mode, name):
    long, short = builtins.max(n, m), builtins.min(n, m)
    if mode == "full":
        return full
    if mode == "same":
        start = (short - 1) // 2
        return _slice(full, start, start + long, 0)
    if mode == "valid":
        return _slice(full, short - 1, long, 0)
    raise ValueError(f"{name}: mode must be 'full', 'same' or 'valid', got {mode!r}")


def convolve(a, v, mode="full"):
    """Discrete linear convolution of two 1-D arrays; ``mode`` 'full', 'same' or 'valid'."""
    a, v = _vectors(a, v, "convolve")
    n, m = _aval(a).shape[0], _aval(v).shape[0]
    if mode not in ("full", "same", "valid"):
        raise ValueError(f"convolve: mode must be 'full', 'same' or 'valid', got {mode!r}")
    return _mode_slice(_full_convolve(a, v), n, m, mode, "convolve")


def correlate(a, v, mode="valid"):
    """Cross-correlation of two 1-D arrays, ``c[k] = sum_n a[n + k] * v[n]``; ``mode`` as in :func:`convolve`."""
    a, v = _vectors(a, v, "correlate")
    n, m = _aval(a).shape[0], _aval(v).shape[0]
    if mode not in ("full", "same", "valid"):
        raise ValueError(f"correlate: mode must be 'full', 'same' or 'valid', got {mode!r}")
    if n >= m:
        return _mode_slice(_full_convolve(a, sh.flip(v, 0)), n, m, mode, "correlate")
    # NumPy correlates the longer with the shorter and reverses the result
    return sh.flip(_mode_slice(_full_convolve(v, sh.flip(a, 0)), m, n, mode, "correlate"), 0)


# -------------------------------------------------------------- statistics


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *, dtype=None):
    """Covariance matrix of the variables in ``m`` (rows, or columns when ``rowvar=False``).

    ``fweights`` (integer repeat counts) and ``aweights`` (observation
    weights) as in NumPy. Differentiable in ``m``, ``y`` and ``aweights``.
    """
    if ddof is not None and ddof != int(ddof):
        raise ValueError("cov: ddof must be integer")
    x = asvalue(m) if dtype is None else E.convert_element_type(m, dtype)
    if _aval(x).ndim > 2:
        raise ValueError("m has more than 2 dimensions")
    x = _as_float(x)
    x = sh.atleast_2d(x)
    if not rowvar and _aval(x).shape[0] != 1:
        x = S.transpose(x, (1, 0))
    if y is not None:
        y = _as_float(y)
        if _aval(y).ndim > 2:
            raise ValueError("y has more than 2 dimensions")
        y = sh.atleast_2d(y)
        if not rowvar and _aval(y).shape[0] != 1:
            y = S.transpose(y, (1, 0))
        x, y = promote(x, y)
        x = S.concatenate([x, y], 0)
    dt = _aval(x).dtype
    if ddof is None:
        ddof = 0 if bias else 1
    nobs = _aval(x).shape[1]
    w = None
    if fweights is not None:
        fw = asvalue(fweights)
        c = concrete_or_none(fw)
        if c is not None:
            if not np.all(np.asarray(c) == np.around(np.asarray(c))):
                raise TypeError("fweights must be integer")
            if np.any(np.asarray(c) < 0):
                raise ValueError("fweights cannot be negative")
        _check_weights(fw, nobs, "fweights")
        w = E.convert_element_type(fw, dt)
    if aweights is not None:
        aw = asvalue(aweights, dt)
        _check_weights(aw, nobs, "aweights")
        c = concrete_or_none(aw)
        if c is not None and np.any(np.asarray(c) < 0):
            raise ValueError("aweights cannot be negative")
        w = aw if w is None else el.multiply(w, aw)
    if w is None:
        avg = red.mean(x, axis=1, keepdims=True)
        fact = np.asarray(nobs - ddof, dt)
    else:
        w_sum = red.sum(w)
        avg = el.divide(red.sum(el.multiply(x, w), axis=1, keepdims=True), w_sum)
        if ddof == 0:
            fact = w_sum
        elif aweights is None:
            fact = el.subtract(w_sum, np.asarray(ddof, dt))
        else:
            fact = el.subtract(w_sum, el.divide(el.multiply(np.asarray(ddof, dt), red.sum(el.multiply(w, aw))),
                                                w_sum))
    xc = el.subtract(x, avg)
    xw = xc if w is None else el.multiply(xc, w)
    c = el.divide(dot(xc, S.transpose(xw, (1, 0))), fact)
    return sh.squeeze(c)


def _check_weights(w, n, name):
    if _aval(w).ndim > 1:
        raise RuntimeError(f"cov: cannot handle multidimensional {name}")
    if _aval(w).shape[0] != n:
        raise RuntimeError(f"cov: incompatible numbers of samples and {name}")


def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """Pearson correlation coefficients (``cov`` normalised by the standard deviations, clipped to [-1, 1])."""
    c = cov(x, y, rowvar, dtype=dtype)
    if _aval(c).ndim == 0:
        return el.divide(c, c)
    from fnflow.numpy._indexing import diagonal

    s = el.sqrt(diagonal(c))
    c = el.divide(el.divide(c, S.expand_dims(s, 1)), S.expand_dims(s, 0))
    return el.clip(c, -1, 1)


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 2- or 3-element vectors along the given axes (2-D vectors give the z component)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = promote(a, b)
    a = sh.moveaxis(a, _axis(axisa, _aval(a).ndim, "cross"), -1)
    b = sh.moveaxis(b, _axis(axisb, _aval(b).ndim, "cross"), -1)
    na, nb = _aval(a).shape[-1], _aval(b).shape[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product (dimension must be 2 or 3)")

    def comp(x, i, n):
        if i >= n:
            return None
        return S.reshape(_slice(x, i, i + 1, _aval(x).ndim - 1), _aval(x).shape[:-1])

    a0, a1, a2 = (comp(a, i, na) for i in range(3))
    b0, b1, b2 = (comp(b, i, nb) for i in range(3))
    z = el.subtract(el.multiply(a0, b1), el.multiply(a1, b0))
    if na == 2 and nb == 2:
        return z

    def mul(p, q):
        return None if p is None or q is None else el.multiply(p, q)

    def sub(p, q):  # p - q where a missing (None) term is zero; never both None here
        if q is None:
            return p
        return el.negative(q) if p is None else el.subtract(p, q)

    cx, cy = sub(mul(a1, b2), mul(a2, b1)), sub(mul(a2, b0), mul(a0, b2))
    shape = np.broadcast_shapes(_aval(a).shape[:-1], _aval(b).shape[:-1])
    comps = [S.broadcast_to(c, shape) for c in (cx, cy, z)]
    out = sh.stack(comps, -1)
    return sh.moveaxis(out, -1, _axis(axisc, _aval(out).ndim, "cross"))


# ------------------------------------------------------------------ binning


def _concrete_or_raise(x, name, hint):
    c = concrete_or_none(x)
    if c is None:
        raise NonConcreteBooleanIndexError(
            f"{name}: the shape of the result depends on the values of the traced array {_aval(x).str_short()}, "
            f"which are not known under this transform (jit, vmap, ...). {hint}")
    return np.asarray(c)


def bincount(x, weights=None, minlength=0, *, length=None):
    """Counts (or summed ``weights``) of each non-negative integer in the 1-D ``x``.

    The result has ``max(max(x) + 1, minlength)`` entries, which needs concrete
    ``x``; under ``jit``/``vmap`` pass ``length=N`` (as in JAX): values at or
    beyond ``N`` (and negative ones) are dropped. Differentiable in ``weights``.
    """
    x = asvalue(x)
    if _aval(x).ndim != 1:
        raise ValueError(f"bincount: x must be 1-D, got shape {_aval(x).shape}")
    if not is_int(_aval(x).dtype):
        raise TypeError(f"bincount: x must hold integers, got {_aval(x).str_short()}")
    if minlength is None:
        minlength = 0
    if minlength < 0:
        raise ValueError("bincount: minlength must be non-negative")
    c = concrete_or_none(x)
    if c is not None and np.size(c) and np.min(c) < 0:
        raise ValueError("bincount: x must have no negative elements")
    if length is None:
        c = _concrete_or_raise(x, "bincount", "Pass length=N (the number of bins) to bincount.")
        length = builtins.max(int(c.max()) + 1 if c.size else 0, int(minlength))
    length = int(length)
    if weights is None:
        w = np.ones(_aval(x).shape, int_)
    else:
        w = asvalue(weights)
        if _aval(w).shape != _aval(x).shape:
            raise ValueError(f"bincount: weights of shape {_aval(w).shape} do not match x of shape "
                             f"{_aval(x).shape}")
        if not is_float(_aval(w).dtype):
            w = E.convert_element_type(w, float_)
    dt = _aval(w).dtype
    keep = el.logical_and(el.greater_equal(x, 0), el.less(x, length))
    if length == 0:
        return as_output(np.zeros(0, dt))
    w = el.where(keep, w, np.zeros((), dt))
    return scatter(np.zeros(length, dt), el.where(keep, x, 0), w, 0, "add")


def digitize(x, bins, right=False):
    """Indices of the bins that ``x`` falls into, for increasing or decreasing ``bins`` (as NumPy).

    Concrete ``bins`` must be monotonic (ValueError otherwise); for traced
    ``bins`` the direction is read from their first and last values.
    """
    bins = asvalue(bins)
    if _aval(bins).ndim != 1:
        raise ValueError("digitize: bins must be 1-dimensional")
    n = _aval(bins).shape[0]
    side = "left" if right else "right"
    c = concrete_or_none(bins)
    if c is not None:
        d = np.diff(np.asarray(c))
        if np.all(d >= 0):
            return searchsorted(bins, x, side=side)
        if np.all(d <= 0):
            return el.subtract(n, searchsorted(sh.flip(bins, 0), x, side=side))
        raise ValueError("digitize: bins must be monotonically increasing or decreasing")
    up = searchsorted(bins, x, side=side)
    down = el.subtract(n, searchsorted(sh.flip(bins, 0), x, side=side))
    decreasing = el.less(S.reshape(_slice(bins, n - 1, n, 0), ()), S.reshape(_slice(bins, 0, 1, 0), ()))
    return el.where(decreasing, down, up)


def histogram_bin_edges(a, bins=10, range=None, weights=None):  # noqa: A002
    """The bin edges that :func:`histogram` uses (``bins`` a count or the edges themselves)."""
    a = sh.ravel(asvalue(a))
    if not isinstance(bins, (int, np.integer)):
        edges = asvalue(bins)
        if _aval(edges).ndim != 1:
            raise ValueError("histogram: bins must be 1d, when an array")
        ce = concrete_or_none(edges)
        if ce is not None and np.any(np.diff(np.asarray(ce)) < 0):
            raise ValueError("histogram: bins must increase monotonically, when an array")
        return edges
    nbins = int(bins)
    if nbins < 1:
        raise ValueError("histogram: `bins` must be positive, when an integer")
    dt = _aval(a).dtype if is_float(_aval(a).dtype) else np.dtype(float_)
    if range is not None:
        lo, hi = (float(v) for v in range)
        if lo > hi:
            raise ValueError("histogram: max must be larger than min in range parameter.")
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(f"histogram: supplied range of [{lo}, {hi}] is not finite")
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        return as_output(np.linspace(lo, hi, nbins + 1).astype(dt))
    af = E.convert_element_type(a, dt)
    if _aval(af).size == 0:
        lo, hi = np.asarray(0.0, dt), np.asarray(1.0, dt)
    else:
        lo, hi = red.min(af), red.max(af)
    same = el.equal(lo, hi)
    lo = el.where(same, el.subtract(lo, 0.5), lo)
    hi = el.where(same, el.add(hi, 0.5), hi)
    steps = np.linspace(0.0, 1.0, nbins + 1).astype(dt)
    edges = el.add(lo, el.multiply(el.subtract(hi, lo), steps))
    # end points exactly at lo and hi (as NumPy's linspace)
    return S.concatenate([S.reshape(lo, (1,)), _slice(edges, 1, nbins, 0), S.reshape(hi, (1,))], 0)


def histogram(a, bins=10, range=None, density=None, weights=None):  # noqa: A002
    """Counts of ``a`` (flattened) in ``bins``: returns ``(hist, bin_edges)``.

    ``bins`` is a number of equal-width bins (over ``range``, or the data's
    min and max) or a monotonic array of edges; the last bin includes its right
    edge, values outside are dropped. Counts are int32 (or ``weights``' dtype);
    they are differentiable in ``weights`` (not in ``a``: they are piecewise
    constant). ``density=True`` normalises to a probability density.
    """
    a = sh.ravel(asvalue(a))
    edges = histogram_bin_edges(a, bins, range, weights)
    nb = _aval(edges).shape[0] - 1
    a, e = promote(a, edges) if is_float(_aval(a).dtype) else promote(_as_float(a), edges)
    idx = el.subtract(searchsorted(e, a, side="right"), 1)
    last = S.reshape(_slice(e, nb, nb + 1, 0), ())
    idx = el.where(el.equal(a, last), nb - 1, idx)  # the last bin is closed
    inside = el.logical_and(el.greater_equal(a, S.reshape(_slice(e, 0, 1, 0), ())), el.less_equal(a, last))
    idx = el.where(inside, idx, nb)  # outside: a bin past the end, dropped by length=nb
    w = None
    if weights is not None:
        w = sh.ravel(asvalue(weights))
        if _aval(w).shape != _aval(a).shape:
            raise ValueError("histogram: weights should have the same shape as a.")
    hist = bincount(idx, w, length=nb)
    if density:
        widths = diff(e)
        hist = _as_float(hist)
        widths = E.convert_element_type(widths, _aval(hist).dtype)
        hist = el.divide(el.divide(hist, widths), red.sum(hist))
    return hist, edges


# ----------------------------------------------------------- interpolation


def interp(x, xp, fp, left=None, right=None, period=None):
    """Piecewise-linear interpolation of ``(xp, fp)`` at ``x`` (``xp`` increasing).

    ``left``/``right`` replace values below ``xp[0]`` / above ``xp[-1]``
    (default ``fp[0]``/``fp[-1]``); ``period`` treats ``x`` and ``xp`` as
    periodic. Differentiable in ``x``, ``xp`` and ``fp``.
    """
    x, xp, fp = _float_promote(x, xp, fp)
    for v, label in ((xp, "xp"), (fp, "fp")):
        if _aval(v).ndim != 1:
            raise ValueError(f"interp: {label} must be 1-D, got shape {_aval(v).shape}")
    if _aval(xp).shape != _aval(fp).shape:
        raise ValueError("fp and xp are not of the same length.")
    if _aval(xp).shape[0] == 0:
        raise ValueError("array of sample points is empty")
    dt = _aval(x).dtype
    if period is not None:
        if period == 0:
            raise ValueError("period must be a non-zero value")
        period = abs(period)
        left = right = None
        x = el.remainder(x, np.asarray(period, dt))
        xp = el.remainder(xp, np.asarray(period, dt))
        order = argsort(xp)
        xp, fp = take_along_axis(xp, order, 0), take_along_axis(fp, order, 0)
        m = _aval(xp).shape[0]
        per = np.asarray(period, dt)
        xp = S.concatenate([el.subtract(_slice(xp, m - 1, m, 0), per), xp, el.add(_slice(xp, 0, 1, 0), per)], 0)
        fp = S.concatenate([_slice(fp, m - 1, m, 0), fp, _slice(fp, 0, 1, 0)], 0)
    n = _aval(xp).shape[0]
    f_first, f_last = S.reshape(_slice(fp, 0, 1, 0), ()), S.reshape(_slice(fp, n - 1, n, 0), ())
    x_first, x_last = S.reshape(_slice(xp, 0, 1, 0), ()), S.reshape(_slice(xp, n - 1, n, 0), ())
    if n == 1:
        out = el.add(el.multiply(x, 0), f_first)
    else:
        xshape = _aval(x).shape
        i = el.clip(el.subtract(searchsorted(xp, x, side="right"), 1), 0, n - 2)
        i = sh.ravel(i)
        from fnflow.ops.indexing import gather

        x0, x1 = gather(xp, i, 0), gather(xp, el.add(i, 1), 0)
        f0, f1 = gather(fp, i, 0), gather(fp, el.add(i, 1), 0)
        t = el.divide(el.subtract(sh.ravel(x), x0), el.subtract(x1, x0))
        out = S.reshape(el.add(f0, el.multiply(t, el.subtract(f1, f0))), xshape)
    lo = f_first if left is None else asvalue(left, dt)
    hi = f_last if right is None else asvalue(right, dt)
    out = el.where(el.less(x, x_first), lo, out)
    return el.where(el.greater(x, x_last), hi, out)


# --------------------------------------------------------------- polynomials


def polyval(p, x):
    """The polynomial with coefficients ``p`` (highest power first) at ``x``, by Horner's rule."""
    p = asvalue(p)
    if _aval(p).ndim != 1:
        raise ValueError(f"polyval: p must be 1-D, got shape {_aval(p).shape}")
    p, x = promote(p, x)
    n = _aval(p).shape[0]
    y = el.multiply(x, np.zeros((), _aval(x).dtype))
    for k in range(n):
        y = el.add(el.multiply(y, x), S.reshape(_slice(p, k, k + 1, 0), ()))
    return y


def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """Least-squares polynomial fit of degree ``deg``: coefficients, highest power first.

    ``y`` may be 2-D (one fit per column); ``w`` weights the residuals.
    Solved through the pseudo-inverse of the column-scaled Vandermonde matrix,
    so it is differentiable in ``x``, ``y`` and ``w``. ``full`` and ``cov``
    are not supported.
    """
    if full or cov:
        raise NotImplementedError("polyfit: full=True and cov=True are not supported; only the coefficients")
    from fnflow.numpy.linalg import pinv

    deg = int(deg)
    if deg < 0:
        raise ValueError("polyfit: expected deg >= 0")
    x, y = _float_promote(x, y)
    if _aval(x).ndim != 1:
        raise TypeError("polyfit: expected 1D vector for x")
    if _aval(y).ndim not in (1, 2):
        raise TypeError("polyfit: expected 1D or 2D array for y")
    if _aval(x).shape[0] != _aval(y).shape[0]:
        raise TypeError("polyfit: expected x and y to have same length")
    lhs = vander(x, deg + 1)
    rhs = y
    if w is not None:
        w = asvalue(w, _aval(x).dtype)
        lhs = el.multiply(lhs, S.expand_dims(w, 1))
        rhs = el.multiply(rhs, w if _aval(rhs).ndim == 1 else S.expand_dims(w, 1))
    from fnflow.transforms.ad import stop_gradient

    scale = stop_gradient(el.sqrt(red.sum(el.square(lhs), axis=0)))
    scale = el.where(el.equal(scale, 0), np.ones((), _aval(x).dtype), scale)
    kw = {} if rcond is None else {"rcond": rcond}
    c = dot(pinv(el.divide(lhs, scale), **kw), rhs)
    return el.divide(c, scale if _aval(c).ndim == 1 else S.expand_dims(scale, 1))
