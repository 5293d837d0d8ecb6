"""Cumulative reductions along an axis: cumsum, cumprod, cummax, cummin, and associative_scan.

``cumsum`` is linear (its transpose is a reversed cumsum). The others are
primitives evaluated with NumPy whose JVPs are exact even with zeros or ties:
the tangent is carried through an associative scan over (value, tangent)
pairs built from slices, so it is itself differentiable.
"""

from __future__ import annotations

import numpy as np

from fnflow.core.abstract import get_aval
from fnflow.core.primitive import Primitive
from fnflow.core.trace import bind
from fnflow.ops._util import asvalue, normalize_axes
from fnflow.transforms.ad import Zero, deflinear
from fnflow.transforms.batching import moveaxis


def _np_cum(fn):
    def impl(x, axis, reverse):
        # NumPy widens small integers in cumsum/cumprod; fnflow keeps the input dtype
        if reverse:
            return np.flip(fn(np.flip(x, axis), axis=axis), axis).astype(x.dtype, copy=False)
        return fn(x, axis=axis).astype(x.dtype, copy=False)

    return impl


def _abstract(name):
    def abstract(x, axis, reverse):
        if not 0 <= axis < x.ndim:
            raise ValueError(f"{name}: axis {axis} out of range for shape {x.shape}")
        return x

    return abstract


def _batch(prim):
    def rule(args, dims, axis, reverse):
        x = moveaxis(args[0], dims[0], 0)
        return bind(prim, x, axis=axis + 1, reverse=reverse), 0

    return rule


def _make(name, np_fn):
    p = Primitive(name)
    p.def_impl(_np_cum(np_fn))
    p.def_abstract_eval(_abstract(name))
    p.def_batch(_batch(p))
    return p


cumsum_p = _make("cumsum", np.cumsum)
deflinear(cumsum_p, lambda ct, x, axis, reverse: [
    None if isinstance(ct, Zero) else bind(cumsum_p, ct, axis=axis, reverse=not reverse)])
cumprod_p = _make("cumprod", np.cumprod)
cummax_p = _make("cummax", np.maximum.accumulate)
cummin_p = _make("cummin", np.minimum.accumulate)


def _pair_jvp(prim, combine):
    def jvp(primals, tangents, axis, reverse):
        (x,), (t,) = primals, tangents
        ans = bind(prim, x, axis=axis, reverse=reverse)
        if isinstance(t, Zero):
            return ans, Zero(get_aval(ans))
        _, t_out = associative_scan(combine, (x, t), axis=axis, reverse=reverse)
        return ans, t_out

    prim.jvp = jvp


def _prod_pair(a, b):
    from fnflow.ops.elementwise import add, mul

    (x1, t1), (x2, t2) = a, b
    return mul(x1, x2), add(mul(t1, x2), mul(x1, t2))


def _chooser_pair(pick_first):
    def combine(a, b):
        from fnflow.ops.elementwise import add, eq, mul, select

        (x1, t1), (x2, t2) = a, b
        first = pick_first(x1, x2)
        tie = eq(x1, x2)
        t = select(tie, mul(add(t1, t2), np.asarray(0.5, get_aval(t1).dtype)), select(first, t1, t2))
        return select(first, x1, x2), t

    return combine


def _gt(a, b):
    from fnflow.ops.elementwise import gt

    return gt(a, b)


def _lt(a, b):
    from fnflow.ops.elementwise import lt

    return lt(a, b)


_pair_jvp(cumprod_p, _prod_pair)
_pair_jvp(cummax_p, _chooser_pair(_gt))
_pair_jvp(cummin_p, _chooser_pair(_lt))


def associative_scan(fn, elems, axis=0, reverse=False):
    """Inclusive scan of an associative ``fn`` over a tuple of arrays along ``axis``.

    ``fn(a, b)`` combines two tuples of arrays elementwise. Built from slices,
    concatenation and reshapes (depth log2(n)), so it is differentiable and
    batchable like any other fnflow function.
    """
    from fnflow.ops.shape import rev

    elems = tuple(asvalue(e) for e in elems)
    axis = normalize_axes(axis, get_aval(elems[0]).ndim, "associative_scan")[0]
    if reverse:
        elems = tuple(rev(e, (axis,)) for e in elems)
    out = _scan(fn, elems, axis)
    if reverse:
        out = tuple(rev(e, (axis,)) for e in out)
    return out


def _scan(fn, elems, axis):
    from fnflow.ops.shape import concatenate, reshape, slice_in_dim

    n = get_aval(elems[0]).shape[axis]
    if n < 2:
        return elems

    def sl(e, start, stop, step=1):
        return slice_in_dim(e, start, stop, step, axis=axis)

    reduced = fn(tuple(sl(e, 0, n - 1, 2) for e in elems), tuple(sl(e, 1, n, 2) for e in elems))
    odd = _scan(fn, tuple(reduced), axis)  # results at positions 1, 3, 5, ...
    m = get_aval(odd[0]).shape[axis]
    if n % 2 == 0:
        even_rest = fn(tuple(sl(o, 0, m - 1) for o in odd), tuple(sl(e, 2, n, 2) for e in elems))
    else:
        even_rest = fn(tuple(odd), tuple(sl(e, 2, n, 2) for e in elems))
    even = tuple(concatenate([sl(e, 0, 1), r], axis=axis) for e, r in zip(elems, even_rest))
    out = []
    for ev, od in zip(even, odd):
        shape = get_aval(ev).shape
        if n % 2:  # pad odd with a copy so both halves have ceil(n/2) entries
            od = concatenate([od, sl(ev, 0, 1)], axis=axis)
        ex = shape[:axis + 1] + (1,) + shape[axis + 1:]
        inter = concatenate([reshape(ev, ex), reshape(od, ex)], axis=axis + 1)
        full = reshape(inter, shape[:axis] + (2 * shape[axis],) + shape[axis + 1:])
        out.append(sl(full, 0, n))
    return tuple(out)


def _cum(prim, x, axis, reverse, name, promote_small=True):
    from fnflow.core.abstract import int_
    from fnflow.ops.elementwise import convert_element_type
    from fnflow.ops.shape import reshape

    x = asvalue(x)
    if axis is None:
        x = reshape(x, (-1,))
        axis = 0
    if promote_small and get_aval(x).dtype == np.bool_:
        x = convert_element_type(x, int_)
    axis = normalize_axes(axis, get_aval(x).ndim, name)[0]
    return bind(prim, x, axis=axis, reverse=bool(reverse))


def cumsum(x, axis=None, reverse=False):
    """Cumulative sum along ``axis`` (flattened when None)."""
    return _cum(cumsum_p, x, axis, reverse, "cumsum")


def cumprod(x, axis=None, reverse=False):
    """Cumulative product along ``axis`` (flattened when None)."""
    return _cum(cumprod_p, x, axis, reverse, "cumprod")


def cummax(x, axis=None, reverse=False):
    """Running maximum along ``axis``."""
    return _cum(cummax_p, x, axis, reverse, "cummax", promote_small=False)


def cummin(x, axis=None, reverse=False):
    """Running minimum along ``axis``."""
    return _cum(cummin_p, x, axis, reverse, "cummin", promote_small=False)
