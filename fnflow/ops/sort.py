"""Sorting primitives: ``sort`` (one or several operands, stable) and ``searchsorted``.

``sort`` orders its operands along one axis by the first ``num_keys`` of them
(lexicographically, the first key most significant) and applies the same
permutation to the others, as ``lax.sort`` does: sorting ``(x, iota)`` gives
both the sorted values and ``argsort(x)``. The sort is stable; ``descending``
gives the exact reverse order, except that equal keys keep their original order.

Differentiation needs no gather: the tangent of every operand is permuted like
the operand, which is again a ``sort`` by the same (primal) keys, now with the
tangents as extra operands. That sort is linear in its non-key operands; its
transpose undoes the permutation by sorting the cotangents by the permutation
itself, which is once more a ``sort`` — so derivatives of any order, and their
transposes, stay within this one primitive.
"""

from __future__ import annotations

import numpy as np

from fnflow.core.abstract import ShapedArray, get_aval, int_
from fnflow.core.primitive import Primitive, is_undefined
from fnflow.core.trace import bind
from fnflow.ops._util import asvalue, normalize_axes
from fnflow.transforms.ad import Zero, defzero, instantiate
from fnflow.transforms.batching import broadcast_batched, moveaxis

# ---------------------------------------------------------------------- sort

sort_p = Primitive("sort", multiple_results=True)


def _permutation(keys, dimension, descending):
    """Indices that stably sort ``keys`` (lexicographically) along ``dimension``."""
    if descending:
        keys = [np.flip(k, dimension) for k in keys]
    if len(keys) == 1:
        perm = np.argsort(keys[0], axis=dimension, kind="stable")
    else:
        perm = np.lexsort(keys[::-1], axis=dimension)  # lexsort's last key is the primary one
    if descending:
        # stable ascending order of the flipped keys, read backwards and mapped back to the
        # original positions: descending, with equal keys in their original order
        perm = keys[0].shape[dimension] - 1 - np.flip(perm, dimension)
    return perm


@sort_p.def_impl
def _sort_impl(*operands, dimension, num_keys, descending):
    if len({op.shape for op in operands}) > 1:  # take_along_axis would not notice
        raise ValueError(f"sort: all operands must have the same shape, got {[op.shape for op in operands]}")
    perm = _permutation(list(operands[:num_keys]), dimension, descending)
    return [np.take_along_axis(op, perm, axis=dimension) for op in operands]


@sort_p.def_abstract_eval
def _sort_abstract(*operands, dimension, num_keys, descending):
    if not operands:
        raise ValueError("sort: needs at least one operand")
    shapes = {op.shape for op in operands}
    if len(shapes) > 1:
        raise ValueError(f"sort: all operands must have the same shape, got "
                         f"{', '.join(op.str_short() for op in operands)}")
    if not 0 <= dimension < operands[0].ndim:
        raise ValueError(f"sort: dimension {dimension} is out of range for operands of shape {operands[0].shape}")
    if not 1 <= num_keys <= len(operands):
        raise ValueError(f"sort: num_keys={num_keys} must be between 1 and the number of operands ({len(operands)})")
    return list(operands)


def _sort_jvp(primals, tangents, dimension, num_keys, descending):
    params = dict(dimension=dimension, num_keys=num_keys, descending=descending)
    outs = bind(sort_p, *primals, **params)
    live = [i for i, t in enumerate(tangents) if not isinstance(t, Zero)]
    t_outs = [Zero(get_aval(o)) for o in outs]
    if live:
        # the same permutation applied to the tangents: sort them by the same primal keys
        moved = bind(sort_p, *primals[:num_keys], *[tangents[i] for i in live], **params)
        for i, t in zip(live, moved[num_keys:]):
            t_outs[i] = t
    return outs, t_outs


def _sort_transpose(cts, *operands, dimension, num_keys, descending):
    keys = operands[:num_keys]
    if any(is_undefined(k) for k in keys):
        raise ValueError("sort: transpose with respect to a sort key (sort is not linear in its keys)")
    lin = [i for i in range(num_keys, len(operands))
           if is_undefined(operands[i]) and not isinstance(cts[i], Zero)]
    out = [None] * len(operands)
    if not lin:
        return out
    shape = get_aval(keys[0]).shape
    perm = bind(sort_p, *keys, iota(shape, dimension), dimension=dimension, num_keys=num_keys,
                descending=descending)[-1]
    # out[p] = x[perm[p]]  =>  ct_x[perm[p]] = ct_out[p]: sorting by perm scatters ct back
    back = bind(sort_p, perm, *[instantiate(cts[i]) for i in lin], dimension=dimension, num_keys=1,
                descending=False)
    for i, c in zip(lin, back[1:]):
        out[i] = c
    return out


def _sort_batch(args, dims, dimension, num_keys, descending):
    size = next(get_aval(a).shape[d] for a, d in zip(args, dims) if d is not None)
    args = [broadcast_batched(a, d, size) for a, d in zip(args, dims)]
    outs = bind(sort_p, *args, dimension=dimension + 1, num_keys=num_keys, descending=descending)
    return outs, [0] * len(outs)


sort_p.def_jvp(_sort_jvp)
sort_p.def_transpose(_sort_transpose)
sort_p.def_batch(_sort_batch)


def iota(shape, dimension, dtype=int_):
    """A concrete array of ``shape`` counting 0, 1, ... along ``dimension``."""
    n = shape[dimension]
    ramp = np.arange(n, dtype=dtype).reshape((n,) + (1,) * (len(shape) - dimension - 1))
    return np.broadcast_to(ramp, shape)


def sort(operand, dimension=-1, is_stable=True, num_keys=1, descending=False):
    """Sort ``operand`` (an array, or a sequence of same-shaped arrays) along ``dimension``.

    With several operands, the first ``num_keys`` are the keys (the first one
    most significant) and every operand is permuted the same way; the result is
    then a tuple. The sort is always stable (``is_stable`` is accepted for
    compatibility). NaNs sort after every number, as in NumPy; ``descending``
    reverses the order (NaNs first) but keeps equal keys in their original order.
    """
    single = not isinstance(operand, (list, tuple))
    ops = [asvalue(operand)] if single else [asvalue(o) for o in operand]
    ndim = get_aval(ops[0]).ndim
    if ndim == 0:
        raise ValueError("sort: cannot sort a 0-d array along an axis")
    dimension = normalize_axes(dimension, ndim, "sort")[0]
    outs = bind(sort_p, *ops, dimension=dimension, num_keys=int(num_keys), descending=bool(descending))
    return outs[0] if single else tuple(outs)


def sort_key_val(keys, values, dimension=-1):
    """Sort ``keys`` along ``dimension`` and permute ``values`` the same way; returns both."""
    return sort((keys, values), dimension)


def argsort(x, axis=-1, descending=False):
    """int32 indices that stably sort ``x`` along ``axis`` (ties keep their original order)."""
    x = asvalue(x)
    shape = get_aval(x).shape
    if not shape:
        raise ValueError("argsort: cannot sort a 0-d array along an axis")
    axis = normalize_axes(axis, len(shape), "argsort")[0]
    return bind(sort_p, x, iota(shape, axis), dimension=axis, num_keys=1, descending=bool(descending))[1]


def top_k(x, k):
    """The ``k`` largest entries along the last axis, largest first, and their int32 indices.

    Equal values come in the order of their indices. Differentiable in the values.
    """
    from fnflow.ops.shape import slice_in_dim

    x = asvalue(x)
    shape = get_aval(x).shape
    if not shape:
        raise ValueError("top_k: needs an array with at least one axis")
    k = int(k)
    if not 0 <= k <= shape[-1]:
        raise ValueError(f"top_k: k={k} must be between 0 and the size of the last axis ({shape[-1]})")
    ax = len(shape) - 1
    vals, idx = bind(sort_p, x, iota(shape, ax), dimension=ax, num_keys=1, descending=True)
    return slice_in_dim(vals, 0, k, axis=ax), slice_in_dim(idx, 0, k, axis=ax)


# -------------------------------------------------------------- searchsorted

# searchsorted(a, v): ``a`` has shape (*batch, n), sorted along its last axis;
# ``v`` has shape (*batch, m); the result (int32, like ``v``) gives, per batch
# entry, the insertion points of ``v`` in ``a``. The batch axes are what vmap adds.
searchsorted_p = Primitive("searchsorted")


@searchsorted_p.def_impl
def _searchsorted_impl(a, v, side):
    out = np.empty(v.shape, int_)
    for b in np.ndindex(*a.shape[:-1]):
        out[b] = np.searchsorted(a[b], v[b], side=side)
    return out


@searchsorted_p.def_abstract_eval
def _searchsorted_abstract(a, v, side):
    if a.ndim < 1 or a.shape[:-1] != v.shape[:-1] or v.ndim < 1:
        raise ValueError(f"searchsorted: sorted array {a.str_short()} and values {v.str_short()} do not fit "
                         f"(expected shapes (*batch, n) and (*batch, m))")
    if a.dtype != v.dtype:
        raise TypeError(f"searchsorted: operands must share a dtype, got {a.str_short()} and {v.str_short()}")
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    return ShapedArray(v.shape, int_)


def _searchsorted_batch(args, dims, side):
    (a, v), (da, dv) = args, dims
    if da is None:
        # fold the batch axis of v into its last axis: one search against the shared a
        nd = get_aval(v).ndim
        v = moveaxis(v, dv, nd - 2)
        shp = get_aval(v).shape
        from fnflow.ops.shape import reshape

        out = bind(searchsorted_p, a, reshape(v, shp[:-2] + (shp[-2] * shp[-1],)), side=side)
        return reshape(out, shp), nd - 2
    size = get_aval(a).shape[da]
    a = broadcast_batched(a, da, size)
    v = broadcast_batched(v, dv, size)
    return bind(searchsorted_p, a, v, side=side), 0


defzero(searchsorted_p)
searchsorted_p.def_batch(_searchsorted_batch)


def searchsorted(a, v, side="left"):
    """int32 insertion points of ``v`` in the sorted last axis of ``a`` (leading axes must match)."""
    return bind(searchsorted_p, a, v, side=side)
