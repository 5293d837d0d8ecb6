"""Indexing primitives: gather (``np.take`` along one axis) and scatter (``np.add.at`` & co).

``gather(x, idx, axis)`` has the shape ``x.shape[:axis] + idx.shape +
x.shape[axis+1:]``; ``scatter(x, idx, updates, axis, mode)`` combines
``updates`` (shaped like that gather's output) into a copy of ``x`` at the
positions ``idx`` along ``axis``, with ``mode`` one of ``"add"``, ``"set"``
(the last of duplicate indices wins), ``"mul"``, ``"min"``, ``"max"``.

Index semantics: negative indices count from the end, as in NumPy. An
out-of-range index raises ``IndexError`` (naming the axis, the index and the
size) whenever the index values are known (eager calls, constants under
``make_graph``/``jit``, ``grad``); for traced indices (under ``jit`` or
``vmap``) the primitives clamp indices into range instead, like JAX, because
a compiled program cannot raise. Both primitives use that clamped reading in
every rule, so derivatives and batching agree with the values.

``scatter_strided`` places a cotangent back at the positions of a strided
slice (the transpose of ``slice`` with strides), built from pad and reshape.
"""

from __future__ import annotations

import numpy as np

from fnflow.core.abstract import ShapedArray, get_aval, is_int
from fnflow.core.primitive import Primitive, is_undefined
from fnflow.core.trace import bind, concrete_or_none
from fnflow.ops import elementwise as E
from fnflow.ops._util import asvalue
from fnflow.ops.shape import broadcast_in_dim, broadcast_to, pad, reshape, transpose
from fnflow.transforms.ad import Zero, instantiate
from fnflow.transforms.batching import broadcast_batched, moveaxis

SCATTER_MODES = ("add", "set", "mul", "min", "max")

# ------------------------------------------------------------------ helpers


def _normalize_np(idx, n):
    """Negative indices wrap once; anything still out of range is clamped."""
    idx = np.asarray(idx)
    idx = np.where(idx < 0, idx + n, idx)
    return np.clip(idx, 0, max(n - 1, 0))


def normalize_index(idx, n):
    """``idx`` with negatives wrapped and values clamped into ``[0, n)`` (works on tracers)."""
    c = concrete_or_none(idx)
    if c is not None:
        return _normalize_np(c, n).astype(get_aval(idx).dtype)
    idx = E.select(E.lt(idx, 0), E.add(idx, n), idx)
    return E.max(E.min(idx, max(n - 1, 0)), 0)


def check_bounds(idx, n, axis):
    """Raise NumPy's IndexError when concrete ``idx`` has a value outside ``[-n, n)``."""
    c = concrete_or_none(idx)
    if c is None or np.size(c) == 0:
        return
    c = np.asarray(c)
    lo, hi = int(c.min()), int(c.max())
    if lo < -n or hi >= n:
        bad = lo if lo < -n else hi
        raise IndexError(f"index {bad} is out of bounds for axis {axis} with size {n}")


def _index_value(idx, op):
    idx = asvalue(idx)
    dt = get_aval(idx).dtype
    if not is_int(dt):
        raise TypeError(f"{op}: indices must be integers, got {get_aval(idx).str_short()}")
    return idx


def _index_dtype(limit, dtype):
    """The index dtype, widened to int64 when values can reach ``limit``."""
    return np.dtype(np.int64) if limit >= 2**31 - 1 else np.dtype(dtype)


def _fold_batch(idx, n):
    """Normalised per-example indices offset by ``b * n`` for a batch folded into the indexed axis."""
    a = get_aval(idx)
    size = a.shape[0]
    dt = _index_dtype(size * max(n, 1), a.dtype)
    idx = normalize_index(asvalue(idx, dt) if dt != a.dtype else idx, n)
    offsets = (np.arange(size, dtype=dt) * n).reshape((size,) + (1,) * (a.ndim - 1))
    return E.add(idx, offsets)


# ------------------------------------------------------------------- gather

gather_p = Primitive("gather")


def _gather_impl(x, idx, axis):
    n = x.shape[axis]
    if n == 0:  # only reachable under tracing (clamping has nothing to clamp to)
        return np.zeros(x.shape[:axis] + idx.shape + x.shape[axis + 1:], x.dtype)
    return np.take(x, _normalize_np(idx, n), axis=axis)


gather_p.def_impl(_gather_impl)


@gather_p.def_abstract_eval
def _gather_abstract(x, idx, axis):
    if not is_int(idx.dtype):
        raise TypeError(f"gather: indices must be integers, got {idx.str_short()}")
    if not 0 <= axis < x.ndim:
        raise ValueError(f"gather: axis {axis} is out of range for an operand of shape {x.shape}")
    return ShapedArray(x.shape[:axis] + idx.shape + x.shape[axis + 1:], x.dtype)


def _gather_jvp(primals, tangents, axis):
    x, idx = primals
    tx = tangents[0]
    ans = bind(gather_p, x, idx, axis=axis)
    if isinstance(tx, Zero):
        return ans, Zero(get_aval(ans))
    return ans, bind(gather_p, tx, idx, axis=axis)


def _gather_transpose(ct, x, idx, axis):
    if is_undefined(idx):
        raise ValueError("gather: the indices are not differentiable")
    if isinstance(ct, Zero):
        return [None, None]
    zeros = np.zeros(x.aval.shape, x.aval.dtype)
    return [bind(scatter_p, zeros, idx, ct, axis=axis, mode="add"), None]


def _gather_batch(args, dims, axis):
    x, idx = args
    dx, di = dims
    if di is None:
        return bind(gather_p, moveaxis(x, dx, 0), idx, axis=axis + 1), 0
    if dx is None:
        return bind(gather_p, x, idx, axis=axis), axis + di
    # both batched: fold the batch into the gathered axis and offset the indices
    x, idx = moveaxis(x, dx, 0), moveaxis(idx, di, 0)
    xs = get_aval(x).shape
    size, n = xs[0], xs[axis + 1]
    x = moveaxis(x, axis + 1, 1)
    x = reshape(x, (size * n,) + tuple(get_aval(x).shape[2:]))
    out = bind(gather_p, x, _fold_batch(idx, n), axis=0)  # (B, I..., pre..., post...)
    ni = get_aval(idx).ndim - 1
    rest = get_aval(out).ndim - 1 - ni - axis
    perm = ([0] + list(range(1 + ni, 1 + ni + axis)) + list(range(1, 1 + ni))
            + list(range(1 + ni + axis, 1 + ni + axis + rest)))
    return transpose(out, tuple(perm)), 0


gather_p.def_jvp(_gather_jvp)
gather_p.def_transpose(_gather_transpose)
gather_p.def_batch(_gather_batch)


def gather(x, idx, axis=0):
    """``np.take(x, idx, axis)`` for an integer index array of any shape.

    Raises IndexError for concrete out-of-range indices; traced ones are clamped.
    """
    x = asvalue(x)
    idx = _index_value(idx, "gather")
    nd = get_aval(x).ndim
    if not -nd <= axis < nd:
        raise ValueError(f"gather: axis {axis} is out of range for an operand of shape {get_aval(x).shape}")
    axis %= nd
    check_bounds(idx, get_aval(x).shape[axis], axis)
    return bind(gather_p, x, idx, axis=axis)


# ------------------------------------------------------------------ scatter

scatter_p = Primitive("scatter")
_UFUNCS = {"add": np.add, "mul": np.multiply, "min": np.minimum, "max": np.maximum}


def _scatter_impl(x, idx, updates, axis, mode):
    out = np.array(x, copy=True)
    n = x.shape[axis]
    if n == 0 or idx.size == 0:
        return out
    idx = _normalize_np(idx, n)
    if mode == "set":
        # the last of duplicate indices wins (in C order of the index array), deterministically
        flat = idx.ravel()
        targets, first_from_end = np.unique(flat[::-1], return_index=True)
        last = flat.size - 1 - first_from_end
        upd = updates.reshape(x.shape[:axis] + (flat.size,) + x.shape[axis + 1:])
        np.moveaxis(out, axis, 0)[targets] = np.moveaxis(upd, axis, 0)[last]
    else:
        _UFUNCS[mode].at(out, (slice(None),) * axis + (idx,), updates)
    return out


scatter_p.def_impl(_scatter_impl)


@scatter_p.def_abstract_eval
def _scatter_abstract(x, idx, updates, axis, mode):
    if mode not in SCATTER_MODES:
        raise ValueError(f"scatter: mode must be one of {SCATTER_MODES}, got {mode!r}")
    if not is_int(idx.dtype):
        raise TypeError(f"scatter: indices must be integers, got {idx.str_short()}")
    if not 0 <= axis < x.ndim:
        raise ValueError(f"scatter: axis {axis} is out of range for an operand of shape {x.shape}")
    want = x.shape[:axis] + idx.shape + x.shape[axis + 1:]
    if updates.shape != want or updates.dtype != x.dtype:
        raise ValueError(f"scatter: updates must be {x.update(shape=want).str_short()} for an operand "
                         f"{x.str_short()} and indices {idx.str_short()} along axis {axis}, "
                         f"got {updates.str_short()}")
    return x


def _scatter(x, idx, updates, axis, mode):
    return bind(scatter_p, x, idx, updates, axis=axis, mode=mode)


def _idx_dims(axis, idx):
    return tuple(range(axis, axis + get_aval(idx).ndim))


def _winner_mask(idx, n, axis, upd_shape):
    """True for the updates that win a ``set`` scatter (the last of each duplicate index)."""
    a = get_aval(idx)
    ids = np.arange(a.size, dtype=_index_dtype(a.size, a.dtype)).reshape(a.shape)
    c = concrete_or_none(idx)
    if c is not None:
        flat = _normalize_np(c, n).ravel()
        win = np.zeros(flat.size, bool)
        win[flat.size - 1 - np.unique(flat[::-1], return_index=True)[1]] = True
        mask = win.reshape(a.shape)
    else:
        last = _scatter(np.full((max(n, 1),), -1, ids.dtype), idx, ids, 0, "max")
        mask = E.eq(bind(gather_p, last, idx, axis=0), ids)
    return broadcast_in_dim(mask, upd_shape, _idx_dims(axis, idx))


def _scatter_jvp(primals, tangents, axis, mode):
    x, idx, u = primals
    tx, _, tu = tangents
    ans = _scatter(x, idx, u, axis, mode)
    if isinstance(tx, Zero) and isinstance(tu, Zero):
        return ans, Zero(get_aval(ans))
    if mode in ("add", "set"):  # linear in (x, updates)
        return ans, _scatter(instantiate(tx), idx, instantiate(tu), axis, mode)
    dt = get_aval(x).dtype
    zeros = np.zeros(get_aval(x).shape, dt)
    if mode == "mul":
        t = _scatter_mul_tangent(x, idx, u, tx, tu, axis, zeros)
        return ans, Zero(get_aval(ans)) if t is None else t
    # min / max: the tangent of whichever won; ties share it equally
    x_win = E.eq(x, ans)
    u_win = E.eq(u, bind(gather_p, ans, idx, axis=axis))
    count = E.add(E.convert_element_type(x_win, dt),
                  _scatter(zeros, idx, E.convert_element_type(u_win, dt), axis, "add"))
    count = E.select(E.eq(count, 0), 1, count)  # only for NaN operands
    num = None
    if not isinstance(tx, Zero):
        num = E.select(x_win, tx, 0)
    if not isinstance(tu, Zero):
        part = _scatter(zeros, idx, E.select(u_win, tu, 0), axis, "add")
        num = part if num is None else E.add(num, part)
    return ans, E.div(num, count)


def _scatter_mul_tangent(x, idx, u, tx, tu, axis, zeros):
    """Product rule for ``x * prod(updates at each position)``, exact with duplicates and zeros."""
    c = concrete_or_none(idx)
    if c is not None:
        return _scatter_mul_tangent_rounds(x, _normalize_np(c, get_aval(x).shape[axis]).ravel(), u, tx, tu, axis,
                                           zeros)
    # Traced indices (duplicates unknown): the product of the *other* updates at an
    # update's position is Q / u when u != 0 and no other update there is zero, and Q
    # (the product of the nonzero ones) when u is the only zero. Exact to first order;
    # higher derivatives are exact except at updates that are exactly zero.
    dt = get_aval(x).dtype
    ones = np.ones(get_aval(x).shape, dt)
    is_zero = E.eq(u, 0)
    u_safe = E.select(is_zero, 1, u)
    q = _scatter(ones, idx, u_safe, axis, "mul")
    z = _scatter(zeros, idx, E.convert_element_type(is_zero, dt), axis, "add")
    out = None
    if not isinstance(tx, Zero):
        out = E.mul(tx, E.select(E.eq(z, 0), q, 0))
    if not isinstance(tu, Zero):
        qg, zg = bind(gather_p, q, idx, axis=axis), bind(gather_p, z, idx, axis=axis)
        others = E.select(is_zero, E.select(E.eq(zg, 1), qg, 0), E.select(E.eq(zg, 0), E.div(qg, u_safe), 0))
        part = E.mul(x, _scatter(zeros, idx, E.mul(tu, others), axis, "add"))
        out = part if out is None else E.add(out, part)
    return out


def _scatter_mul_tangent_rounds(x, flat, u, tx, tu, axis, zeros):
    """Concrete indices: split the updates into rounds of unique indices (the r-th
    occurrence of each index in round r) and chain the exact product rule of each
    round, ``d(x * P) = dx * P + x * dP``, so every derivative order is exact."""
    xa = get_aval(x)
    k = flat.size
    if k == 0:
        return tx if not isinstance(tx, Zero) else None
    u2 = reshape(u, xa.shape[:axis] + (k,) + xa.shape[axis + 1:])
    tu2 = None if isinstance(tu, Zero) else reshape(tu, get_aval(u2).shape)
    order = np.argsort(flat, kind="stable")
    rank = np.empty(k, np.int64)
    rank[order] = np.arange(k) - np.searchsorted(flat[order], flat[order], side="left")
    ones = np.ones(xa.shape, xa.dtype)
    t = None if isinstance(tx, Zero) else tx
    for r in range(int(rank.max()) + 1):
        pos = np.nonzero(rank == r)[0].astype(np.int32)
        ir = flat[pos]
        p = _scatter(ones, ir, bind(gather_p, u2, pos, axis=axis), axis, "mul")
        new = None if t is None else E.mul(t, p)
        if tu2 is not None:
            part = E.mul(x, _scatter(zeros, ir, bind(gather_p, tu2, pos, axis=axis), axis, "add"))
            new = part if new is None else E.add(new, part)
        t, x = new, E.mul(x, p)
    return t


def _scatter_transpose(ct, x, idx, u, axis, mode):
    if is_undefined(idx):
        raise ValueError("scatter: the indices are not differentiable")
    if mode not in ("add", "set"):
        raise NotImplementedError(f"scatter: transpose of mode {mode!r} (it is not linear)")
    if isinstance(ct, Zero):
        return [None, None, None]
    u_aval = u.aval if is_undefined(u) else get_aval(u)
    ct_x = ct_u = None
    if mode == "add":
        if is_undefined(x):
            ct_x = ct
        if is_undefined(u):
            ct_u = bind(gather_p, ct, idx, axis=axis)
    else:
        if is_undefined(x):  # overwritten positions get nothing back
            ct_x = _scatter(ct, idx, np.zeros(u_aval.shape, u_aval.dtype), axis, "set")
        if is_undefined(u):  # only the winning update of each position does
            n = get_aval(ct).shape[axis]
            ct_u = E.select(_winner_mask(idx, n, axis, u_aval.shape), bind(gather_p, ct, idx, axis=axis), 0)
    return [ct_x, None, ct_u]


def _scatter_batch(args, dims, axis, mode):
    x, idx, u = args
    dx, di, du = dims
    size = next(get_aval(a).shape[d] for a, d in zip(args, dims) if d is not None)
    x = broadcast_batched(x, dx, size)
    u = broadcast_batched(u, du, size)
    if di is None:
        return _scatter(x, idx, u, axis + 1, mode), 0
    # batched indices: fold the batch into the scattered axis and offset the indices
    idx = moveaxis(idx, di, 0)
    xs = get_aval(x).shape
    n = xs[axis + 1]
    x2 = moveaxis(x, axis + 1, 1)
    x2 = reshape(x2, (size * n,) + tuple(get_aval(x2).shape[2:]))
    ni = get_aval(idx).ndim - 1
    nu = get_aval(u).ndim
    # updates (B, pre, I, post) -> (B, I, pre, post)
    perm = ([0] + list(range(1 + axis, 1 + axis + ni)) + list(range(1, 1 + axis))
            + list(range(1 + axis + ni, nu)))
    out = _scatter(x2, _fold_batch(idx, n), transpose(u, tuple(perm)), 0, mode)
    out = reshape(out, (size, n) + tuple(get_aval(out).shape[1:]))
    return moveaxis(out, 1, axis + 1), 0


scatter_p.def_jvp(_scatter_jvp)
scatter_p.def_transpose(_scatter_transpose)
scatter_p.def_batch(_scatter_batch)


def scatter(x, idx, updates, axis=0, mode="add"):
    """A copy of ``x`` with ``updates`` combined in at ``idx`` along ``axis``.

    ``updates`` is broadcast to ``x.shape[:axis] + idx.shape + x.shape[axis+1:]``
    and cast to ``x``'s dtype. ``mode``: ``"add"`` (``np.add.at``), ``"set"``
    (assignment; the last of duplicate indices wins), ``"mul"``
    (``np.multiply.at``), ``"min"`` (``np.minimum.at``), ``"max"``
    (``np.maximum.at``). Every mode is differentiable in ``x`` and ``updates``,
    duplicates included: ``set`` sends cotangents to the winning update only,
    ``min``/``max`` give the tangent of the winner (ties share it equally), and
    ``mul`` follows the product rule exactly at every order for concrete
    indices; with traced indices its first derivatives are exact and higher
    ones are exact except at updates that are exactly zero.
    """
    if mode not in SCATTER_MODES:
        raise ValueError(f"scatter: mode must be one of {SCATTER_MODES}, got {mode!r}")
    x = asvalue(x)
    idx = _index_value(idx, "scatter")
    xa = get_aval(x)
    if not -xa.ndim <= axis < xa.ndim:
        raise ValueError(f"scatter: axis {axis} is out of range for an operand of shape {xa.shape}")
    axis %= xa.ndim
    check_bounds(idx, xa.shape[axis], axis)
    want = xa.shape[:axis] + get_aval(idx).shape + xa.shape[axis + 1:]
    updates = asvalue(updates, xa.dtype)
    try:
        updates = broadcast_to(updates, want)
    except ValueError:
        raise ValueError(f"scatter: updates of shape {get_aval(updates).shape} cannot be broadcast to the "
                         f"indexed shape {want}") from None
    return _scatter(x, idx, updates, axis, mode)


# ---------------------------------------------------------- strided scatter


def scatter_strided(ct, shape, start_indices, strides):
    """Zeros of ``shape`` with ``ct`` placed at ``start + k * stride`` on every axis.

    The transpose of a strided ``slice``. Built from linear ops (reshape and
    pad): each strided axis of ``ct`` gets ``stride - 1`` zeros after every
    element, then the result is shifted to ``start`` and padded or cropped to
    the full length. Its own transpose is therefore the strided slice.
    """
    ct = asvalue(ct)
    cs = get_aval(ct).shape
    shape = tuple(int(d) for d in shape)
    if len(cs) != len(shape) or len(start_indices) != len(shape) or len(strides) != len(shape):
        raise ValueError(f"scatter_strided: cotangent {cs}, shape {shape}, start {start_indices} and "
                         f"strides {strides} must have one entry per axis")
    spread, config, interleaved = [], [], []
    for m, st in zip(cs, strides):
        spread += [m, 1] if st > 1 else [m]
        config += [(0, 0), (0, st - 1)] if st > 1 else [(0, 0)]
        interleaved.append(m * st if st > 1 else m)
    if any(st > 1 for st in strides):
        ct = reshape(pad(reshape(ct, tuple(spread)), tuple(config)), tuple(interleaved))
    place = tuple((s, d - s - n) for s, d, n in zip(start_indices, shape, interleaved))
    return pad(ct, place)


__all__ = ["gather", "scatter", "scatter_strided", "gather_p", "scatter_p", "normalize_index", "check_bounds",
           "SCATTER_MODES"]
