"""Sorting, searching and order statistics under NumPy's names.

Everything is built on the ``sort`` primitive (``fnflow/ops/sort.py``), so
``sort``, ``median`` and ``quantile`` are differentiable (the derivative follows
the sorting permutation; at ties it picks one order, as JAX does), batchable
and traceable. ``argsort``, ``lexsort`` and ``searchsorted`` return int32
indices. ``unique`` has a value-dependent shape and needs concrete input.
"""

from __future__ import annotations

import numpy as np

from fnflow.core.abstract import float_, get_aval, int_, is_float
from fnflow.core.array import as_output
from fnflow.core.trace import Tracer, bind
from fnflow.ops import elementwise as E
from fnflow.ops import sort as O
from fnflow.ops._util import asvalue, normalize_axes, promote
from fnflow.ops.reduce import reduce_sum
from fnflow.ops.shape import reshape, slice_in_dim, transpose

__all__ = ["sort", "argsort", "lexsort", "searchsorted", "partition", "argpartition", "unique", "median",
           "quantile", "percentile", "nanmedian", "nanquantile", "nanpercentile", "sort_complex"]


def _flat_or_axis(a, axis, name):
    """``(a, axis)`` with ``axis=None`` meaning the flattened array."""
    a = asvalue(a)
    if axis is None:
        return reshape(a, (-1,)), 0
    nd = get_aval(a).ndim
    if nd == 0:
        raise ValueError(f"{name}: axis {axis} is out of bounds for a 0-d array")
    return a, normalize_axes(axis, nd, name)[0]


def _check_order(order, name):
    if order is not None:
        raise NotImplementedError(f"{name}: order= (sorting structured arrays by field) is not supported")


def sort(a, axis=-1, kind=None, order=None, *, stable=True, descending=False):
    """A sorted copy of ``a`` along ``axis`` (flattened when None).

    The sort is always stable, whatever ``kind``/``stable`` say. NaNs go last.
    ``descending=True`` (array-API) gives the reverse order; its gradient
    permutes the cotangent back like the ascending one.
    """
    _check_order(order, "sort")
    a, axis = _flat_or_axis(a, axis, "sort")
    return O.sort(a, axis, descending=descending)


def argsort(a, axis=-1, kind=None, order=None, *, stable=True, descending=False):
    """int32 indices that sort ``a`` along ``axis``; stable, also when ``descending``."""
    _check_order(order, "argsort")
    a, axis = _flat_or_axis(a, axis, "argsort")
    return O.argsort(a, axis, descending=descending)


def sort_complex(a):
    """``a`` sorted by real part, then imaginary part (complex result)."""
    a = asvalue(a)
    if not np.issubdtype(get_aval(a).dtype, np.complexfloating):
        a = E.convert_element_type(a, np.complex128 if get_aval(a).dtype.itemsize >= 8 else np.complex64)
    return O.sort(a, -1)


def lexsort(keys, axis=-1):
    """int32 indices that sort by several keys; the **last** key is the primary one (as NumPy).

    ``keys`` is a sequence of same-shaped arrays, or an array whose first axis
    indexes the keys.
    """
    if isinstance(keys, (list, tuple)):
        ks = [asvalue(k) for k in keys]
    else:
        k = asvalue(keys)
        ks = [reshape(slice_in_dim(k, i, i + 1, axis=0), get_aval(k).shape[1:]) for i in range(get_aval(k).shape[0])]
    if not ks:
        raise TypeError("lexsort: need at least one key")
    shape = get_aval(ks[0]).shape
    if not shape:
        raise ValueError("lexsort: keys must have at least one axis")
    ax = normalize_axes(axis, len(shape), "lexsort")[0]
    outs = bind(O.sort_p, *ks[::-1], O.iota(shape, ax), dimension=ax, num_keys=len(ks), descending=False)
    return outs[-1]


def searchsorted(a, v, side="left", sorter=None):
    """int32 indices where ``v`` would be inserted into the sorted 1-D ``a`` to keep it sorted.

    ``side='left'`` gives the first suitable position, ``'right'`` the last.
    ``sorter`` holds indices that sort ``a``. Not differentiable (the result is
    piecewise constant).
    """
    a = asvalue(a)
    if get_aval(a).ndim != 1:
        raise ValueError(f"searchsorted: a must be 1-D, got shape {get_aval(a).shape}")
    if sorter is not None:
        # a[sorter], by sorting a with the inverse permutation as keys
        inv = O.argsort(asvalue(sorter))
        a = bind(O.sort_p, inv, a, dimension=0, num_keys=1, descending=False)[1]
    a, v = promote(a, asvalue(v))
    vshape = get_aval(v).shape
    out = O.searchsorted(a, reshape(v, (-1,)), side=side)
    return reshape(out, vshape)


def partition(a, kth, axis=-1):
    """``a`` rearranged so that the ``kth`` element is where a full sort would put it.

    fnflow returns the fully sorted array, which satisfies NumPy's contract.
    """
    a, axis = _flat_or_axis(a, axis, "partition")
    _check_kth(kth, get_aval(a).shape[axis], "partition")
    return O.sort(a, axis)


def argpartition(a, kth, axis=-1):
    """Indices that partition ``a`` (here: the stable argsort, which satisfies NumPy's contract)."""
    a, axis = _flat_or_axis(a, axis, "argpartition")
    _check_kth(kth, get_aval(a).shape[axis], "argpartition")
    return O.argsort(a, axis)


def _check_kth(kth, n, name):
    for k in np.atleast_1d(kth):
        if not -n <= int(k) < n:
            raise ValueError(f"{name}: kth={int(k)} is out of bounds for an axis of size {n}")


# ------------------------------------------------------------------- unique


def _concrete(x, why):
    while isinstance(x, Tracer):
        x = x.to_concrete(why)  # raises a ConcretizationError naming the transform
    return np.asarray(x)


def _gather_distinct(x, idx, axis):
    """``take(x, idx, axis)`` for concrete, distinct ``idx``, as a (differentiable) sort.

    Entries to keep get keys 0..k-1 in output order, the rest key k; a stable
    sort brings the kept ones to the front.
    """
    n = get_aval(x).shape[axis]
    key = np.full(n, len(idx), int_)
    key[idx] = np.arange(len(idx), dtype=int_)
    shape = get_aval(x).shape
    key = np.broadcast_to(key.reshape((n,) + (1,) * (len(shape) - axis - 1)), shape)
    moved = bind(O.sort_p, key, x, dimension=axis, num_keys=1, descending=False)[1]
    return slice_in_dim(moved, 0, len(idx), axis=axis)


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *, equal_nan=True,
           size=None, fill_value=None):
    """The sorted unique elements of ``ar`` (NumPy's ``unique``), optionally with indices and counts.

    The result's shape depends on the values, so ``ar`` must be concrete: this
    works eagerly and under ``grad``/``jvp`` (the unique values are then
    differentiable), but not under ``vmap`` or ``jit``. ``size`` (as in JAX)
    pads the result with ``fill_value`` (default: the smallest unique value)
    or truncates it to a fixed length.
    """
    why = ("fnflow.numpy.unique (the number of unique values decides the shape of the result, so the input "
           "must be concrete)")
    if not isinstance(ar, Tracer):
        ar = asvalue(ar)
    val = _concrete(ar, why)
    res = np.unique(val, return_index=True, return_inverse=return_inverse, return_counts=return_counts,
                    axis=axis, equal_nan=equal_nan)
    values, index = res[0], res[1]
    rest = list(res[2:])
    if isinstance(ar, Tracer) and is_float(get_aval(ar).dtype):
        x, ax = (reshape(ar, (-1,)), 0) if axis is None else (ar, normalize_axes(axis, val.ndim, "unique")[0])
        values = _gather_distinct(x, index, ax)
    else:
        values = as_output(values)
    if size is not None:
        values, index, rest = _fix_size(values, index, rest, int(size), fill_value, axis, return_counts)
    outs = [values]
    if return_index:
        outs.append(as_output(np.asarray(index, int_)))
    if return_inverse:
        outs.append(as_output(np.asarray(rest.pop(0), int_)))
    if return_counts:
        outs.append(as_output(np.asarray(rest.pop(0), int_)))
    return outs[0] if len(outs) == 1 else tuple(outs)


def _fix_size(values, index, rest, size, fill_value, axis, return_counts):
    from fnflow.ops.shape import concatenate

    ax = 0 if axis is None else normalize_axes(axis, get_aval(values).ndim, "unique")[0]
    k = get_aval(values).shape[ax]
    if size <= k:
        values = slice_in_dim(values, 0, size, axis=ax)
        index = index[:size]
        if return_counts:
            rest[-1] = rest[-1][:size]
        return values, index, rest
    if k == 0 and fill_value is None:
        raise ValueError("unique: size > 0 with an empty input needs a fill_value")
    shape = list(get_aval(values).shape)
    shape[ax] = size - k
    if fill_value is None:
        fill = _repeat_along(slice_in_dim(values, 0, 1, axis=ax), size - k, ax)
    else:
        fill = np.full(shape, fill_value, get_aval(values).dtype)
    values = concatenate([values, fill], axis=ax)
    index = np.concatenate([index, np.full(size - k, index[0] if k else 0, index.dtype)])
    if return_counts:
        rest[-1] = np.concatenate([rest[-1], np.zeros(size - k, rest[-1].dtype)])
    return values, index, rest


def _repeat_along(x, n, axis):
    from fnflow.ops.shape import broadcast_to

    shape = list(get_aval(x).shape)
    shape[axis] = n
    return broadcast_to(x, tuple(shape))


# -------------------------------------------------------- order statistics

_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    """The ``q``-th quantiles (``q`` in [0, 1]) of ``a`` over ``axis`` (one axis, several, or all).

    ``method`` is one of 'linear' (NumPy's default: linear interpolation
    between the two nearest order statistics), 'lower', 'higher', 'midpoint',
    'nearest'. The result has shape ``q.shape + reduced shape``; a NaN in a
    slice makes its quantiles NaN. Differentiable in ``a`` (and in ``q`` for
    'linear'); ``q`` may be traced.
    """
    return _quantile(a, q, axis, out, method, keepdims, False, "quantile")


def nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    """:func:`quantile` ignoring NaNs (an all-NaN slice gives NaN)."""
    return _quantile(a, q, axis, out, method, keepdims, True, "nanquantile")


def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    """The ``q``-th percentiles (``q`` in [0, 100]) of ``a``; see :func:`quantile`."""
    return _quantile(a, q, axis, out, method, keepdims, False, "percentile", scale=100)


def nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    """:func:`percentile` ignoring NaNs."""
    return _quantile(a, q, axis, out, method, keepdims, True, "nanpercentile", scale=100)


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The median over ``axis`` (mean of the two middle values for an even count); NaN if a NaN is present."""
    return _quantile(a, 0.5, axis, out, "linear", keepdims, False, "median")


def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The median over ``axis`` ignoring NaNs (an all-NaN slice gives NaN)."""
    return _quantile(a, 0.5, axis, out, "linear", keepdims, True, "nanmedian")


def _quantile(a, q, axis, out, method, keepdims, ignore_nan, name, scale=1):
    if out is not None:
        raise TypeError(f"{name}: out= is not supported (fnflow arrays are immutable)")
    if method not in _METHODS:
        raise ValueError(f"{name}: method must be one of {_METHODS}, got {method!r}")
    a = asvalue(a)
    if not is_float(get_aval(a).dtype):
        a = E.convert_element_type(a, float_)
    dt = get_aval(a).dtype
    shape = get_aval(a).shape
    axes = normalize_axes(axis, len(shape), name)
    if any(shape[i] == 0 for i in axes):
        raise ValueError(f"{name}: cannot take a quantile over an empty axis")
    q = asvalue(q, dt)
    if not isinstance(q, Tracer) and np.any((np.asarray(q) < 0) | (np.asarray(q) > scale)):
        raise ValueError(f"{name}: q must lie in [0, {scale}]")
    if scale != 1:
        q = E.div(q, np.asarray(scale, dt))
    qshape = get_aval(q).shape
    # the reduced axes go last, flattened into one axis of size n
    keep = tuple(i for i in range(len(shape)) if i not in axes)
    n = int(np.prod([shape[i] for i in axes], dtype=np.int64))
    x = reshape(transpose(a, keep + axes), tuple(shape[i] for i in keep) + (n,))
    s = O.sort(x, -1)                                       # (*B, n), NaNs last
    s = reshape(s, get_aval(s).shape[:-1] + (1, n))         # (*B, 1, n)
    last = slice_in_dim(s, n - 1, n, axis=-1)               # (*B, 1, 1)
    if ignore_nan:
        count = reduce_sum(E.convert_element_type(E.eq(s, s), dt), (get_aval(s).ndim - 1,))
        count = reshape(count, get_aval(count).shape + (1,))  # (*B, 1, 1): non-NaN entries per slice
        empty = E.eq(count, np.zeros((), dt))
    else:
        count, empty = np.asarray(n, dt), E.ne(last, last)  # a NaN sorts last and poisons the slice
    pos = E.mul(reshape(q, (-1, 1)), E.sub(count, np.ones((), dt)))  # (m, 1) or (*B, m, 1)
    lo, hi = E.floor(pos), E.ceil(pos)
    frac = E.sub(pos, lo)
    if method == "lower":
        hi = lo
    elif method == "higher":
        lo = hi
    elif method == "nearest":
        lo = hi = E.round(pos)  # half to even, as NumPy
    elif method == "midpoint":
        frac = np.full(get_aval(frac).shape, 0.5, dt)
    ramp = np.arange(n, dtype=dt)
    s_lo = _pick(s, E.eq(ramp, lo))
    if method in ("lower", "higher", "nearest"):
        res = s_lo
    else:
        frac = reshape(frac, get_aval(frac).shape[:-1])
        # exactly on an order statistic, take it as is (an infinite neighbour must not make a NaN)
        res = E.select(E.eq(frac, 0), s_lo, _lerp(s_lo, _pick(s, E.eq(ramp, hi)), frac))  # (*B, m)
    res = E.select(reshape(empty, get_aval(empty).shape[:-1]), np.asarray(np.nan, dt), res)
    nb = len(keep)
    res = transpose(res, (nb,) + tuple(range(nb)))          # (m, *B)
    out_shape = (tuple(1 if i in axes else d for i, d in enumerate(shape)) if keepdims
                 else tuple(shape[i] for i in keep))
    return reshape(res, qshape + out_shape)


def _pick(s, onehot):
    """Sum over the last axis of ``s`` where ``onehot``; ``select`` keeps infinities intact."""
    picked = E.select(onehot, s, np.zeros((), get_aval(s).dtype))
    return reduce_sum(picked, (get_aval(picked).ndim - 1,))


def _lerp(a, b, t):
    # NumPy's formula: exact at both ends (t = 0 gives a, t = 1 gives b)
    d = E.sub(b, a)
    return E.select(E.ge(t, 0.5), E.sub(b, E.mul(d, E.sub(1, t))), E.add(a, E.mul(d, t)))
