"""Shape manipulation under NumPy's names."""

from __future__ import annotations

import numpy as np

from fnflow.core.abstract import get_aval
from fnflow.ops import shape as S
from fnflow.ops._util import asvalue, normalize_axes, promote


def reshape(a, newshape=None, order="C", shape=None):
    """``a`` with a new shape (C order only)."""
    if order != "C":
        raise NotImplementedError("reshape: only order='C' is supported")
    newshape = shape if newshape is None else newshape
    return S.reshape(a, newshape)


def ravel(a, order="C"):
    """The flattened array."""
    return reshape(a, (-1,), order)


def transpose(a, axes=None):
    """Permute axes (reverse them by default)."""
    return S.transpose(a, axes)


def permute_dims(a, axes=None):
    return S.transpose(a, axes)


def matrix_transpose(a):
    """Swap the last two axes."""
    return swapaxes(a, -1, -2)


def swapaxes(a, axis1, axis2):
    """Interchange two axes."""
    a = asvalue(a)
    nd = get_aval(a).ndim
    i, j = (normalize_axes(x, nd, "swapaxes")[0] for x in (axis1, axis2))
    perm = list(range(nd))
    perm[i], perm[j] = perm[j], perm[i]
    return S.transpose(a, tuple(perm))


def moveaxis(a, source, destination):
    """Move axes to new positions; the others keep their order."""
    a = asvalue(a)
    nd = get_aval(a).ndim
    src = [normalize_axes(s, nd, "moveaxis")[0] for s in np.atleast_1d(source)]
    dst = [normalize_axes(d, nd, "moveaxis")[0] for d in np.atleast_1d(destination)]
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination must have the same number of elements")
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return S.transpose(a, tuple(order))


def expand_dims(a, axis):
    """Insert axes of length one."""
    return S.expand_dims(a, axis)


def squeeze(a, axis=None):
    """Remove axes of length one."""
    return S.squeeze(a, axis)


def broadcast_to(a, shape):
    """Broadcast to ``shape``."""
    return S.broadcast_to(a, shape)


def broadcast_arrays(*args):
    """Broadcast arrays against each other."""
    from fnflow.core.abstract import broadcast_shapes

    vals = [asvalue(a) for a in args]
    shape = broadcast_shapes(*[get_aval(v).shape for v in vals], op="broadcast_arrays")
    return [S.broadcast_to(v, shape) for v in vals]


def broadcast_shapes(*shapes):
    from fnflow.core.abstract import broadcast_shapes as bs

    return bs(*[tuple(s) for s in shapes], op="broadcast_shapes")


def atleast_1d(*arys):
    out = [reshape(a, (1,)) if get_aval(asvalue(a)).ndim == 0 else asvalue(a) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys):
    out = []
    for a in arys:
        a = asvalue(a)
        nd = get_aval(a).ndim
        out.append(reshape(a, (1, 1)) if nd == 0 else reshape(a, (1, -1)) if nd == 1 else a)
    return out[0] if len(out) == 1 else out


def atleast_3d(*arys):
    out = []
    for a in arys:
        a = asvalue(a)
        s = get_aval(a).shape
        out.append(reshape(a, (1, 1, 1)) if len(s) == 0 else reshape(a, (1, s[0], 1)) if len(s) == 1
                   else reshape(a, s + (1,)) if len(s) == 2 else a)
    return out[0] if len(out) == 1 else out


def concatenate(arrays, axis=0):
    """Join arrays along an existing axis (``axis=None`` flattens them first)."""
    if axis is None:
        return S.concatenate([ravel(a) for a in arrays], 0)
    return S.concatenate(list(arrays), axis)


concat = concatenate


def stack(arrays, axis=0):
    """Join arrays along a new axis."""
    arrays = promote(*arrays)
    if not arrays:
        raise ValueError("stack: need at least one array")
    shapes = {get_aval(a).shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"stack: all input arrays must have the same shape, got {sorted(shapes)}")
    nd = get_aval(arrays[0]).ndim + 1
    axis = normalize_axes(axis, nd, "stack")[0]
    return S.concatenate([S.expand_dims(a, axis) for a in arrays], axis)


def vstack(tup):
    return concatenate(atleast_2d(*tup) if len(tup) > 1 else [atleast_2d(tup[0])], 0)


def hstack(tup):
    arrs = [atleast_1d(a) for a in tup]
    return concatenate(arrs, 0 if get_aval(arrs[0]).ndim == 1 else 1)


def dstack(tup):
    return concatenate([atleast_3d(a) for a in tup], 2)


def column_stack(tup):
    arrs = [reshape(a, (-1, 1)) if get_aval(asvalue(a)).ndim < 2 else asvalue(a) for a in tup]
    return concatenate(arrs, 1)


def split(ary, indices_or_sections, axis=0):
    """Split into a list of sub-arrays along ``axis`` (equal sections or at indices)."""
    ary = asvalue(ary)
    shape = get_aval(ary).shape
    axis = normalize_axes(axis, len(shape), "split")[0]
    n = shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0 or n % k:
            raise ValueError(f"split: array split does not result in an equal division ({n} into {k})")
        bounds = [i * (n // k) for i in range(k + 1)]
    else:
        idx = [int(i) for i in indices_or_sections]
        bounds = [0] + [min(max(i if i >= 0 else i + n, 0), n) for i in idx] + [n]
    return [S.slice_in_dim(ary, bounds[i], max(bounds[i], bounds[i + 1]), axis=axis)
            for i in range(len(bounds) - 1)]


def array_split(ary, indices_or_sections, axis=0):
    """Like split, but sections may differ in size by one."""
    if not isinstance(indices_or_sections, (int, np.integer)):
        return split(ary, indices_or_sections, axis)
    n = get_aval(asvalue(ary)).shape[axis]
    k = int(indices_or_sections)
    q, r = divmod(n, k)
    sizes = [q + 1] * r + [q] * (k - r)
    return split(ary, list(np.cumsum(sizes)[:-1]), axis)


def hsplit(ary, s):
    return split(ary, s, 1 if get_aval(asvalue(ary)).ndim > 1 else 0)


def vsplit(ary, s):
    return split(ary, s, 0)


def flip(m, axis=None):
    """Reverse the order of elements along ``axis`` (all axes by default)."""
    return S.rev(m, axis if axis is not None else tuple(range(get_aval(asvalue(m)).ndim)))


def fliplr(m):
    return flip(m, 1)


def flipud(m):
    return flip(m, 0)


def roll(a, shift, axis=None):
    """Roll elements along ``axis`` (the flattened array when None)."""
    a = asvalue(a)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), get_aval(a).shape)
    shifts = np.atleast_1d(shift)
    axes = np.atleast_1d(axis)
    if len(shifts) == 1 and len(axes) > 1:
        shifts = np.repeat(shifts, len(axes))
    for s, ax in zip(shifts, axes):
        ax = normalize_axes(int(ax), get_aval(a).ndim, "roll")[0]
        n = get_aval(a).shape[ax]
        if n == 0:
            continue
        s = int(s) % n
        if s:
            a = S.concatenate([S.slice_in_dim(a, n - s, n, axis=ax), S.slice_in_dim(a, 0, n - s, axis=ax)], ax)
    return a


def rot90(m, k=1, axes=(0, 1)):
    m = asvalue(m)
    k %= 4
    a0, a1 = axes
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, a0), a1)
    if k == 1:
        return swapaxes(flip(m, a1), a0, a1)
    return flip(swapaxes(m, a0, a1), a1)


def tile(A, reps):
    """Repeat the whole array ``reps`` times along each axis."""
    A = asvalue(A)
    reps = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    shape = get_aval(A).shape
    nd = max(len(shape), len(reps))
    shape = (1,) * (nd - len(shape)) + shape
    reps = (1,) * (nd - len(reps)) + reps
    A = reshape(A, shape)
    # broadcast to (r0, s0, r1, s1, ...) then merge pairs
    big = []
    dims = []
    for i, (r, s) in enumerate(zip(reps, shape)):
        big += [r, s]
        dims.append(2 * i + 1)
    out = S.broadcast_in_dim(A, tuple(big), tuple(dims))
    return reshape(out, tuple(r * s for r, s in zip(reps, shape)))


def repeat(a, repeats, axis=None):
    """Repeat each element ``repeats`` times (an int, or one count per element)."""
    a = asvalue(a)
    if axis is None:
        a = ravel(a)
        axis = 0
    shape = get_aval(a).shape
    axis = normalize_axes(axis, len(shape), "repeat")[0]
    if isinstance(repeats, (int, np.integer)):
        r = int(repeats)
        expanded = shape[:axis + 1] + (r,) + shape[axis + 1:]
        dims = tuple(i if i <= axis else i + 1 for i in range(len(shape)))
        out = S.broadcast_in_dim(a, expanded, dims)
        return reshape(out, shape[:axis] + (shape[axis] * r,) + shape[axis + 1:])
    counts = np.asarray(repeats)
    if hasattr(repeats, "_trace"):
        raise TypeError("repeat: per-element repeat counts must be concrete (they set the output shape)")
    idx = np.repeat(np.arange(shape[axis]), counts)
    from fnflow.numpy._indexing import take

    return take(a, idx.astype(np.int32), axis=axis)


def pad(array, pad_width, mode="constant", constant_values=0):
    """Pad with a constant (``mode='constant'``), edge values, reflection or wrap-around."""
    array = asvalue(array)
    nd = get_aval(array).ndim
    pw = np.asarray(pad_width, np.int64)
    pw = np.broadcast_to(pw.reshape(-1, 2) if pw.ndim else np.full((1, 2), int(pw)), (nd, 2))
    if np.any(pw < 0):
        raise ValueError(f"pad: negative pad widths {pw.tolist()}")
    config = tuple((int(lo), int(hi)) for lo, hi in pw)
    if mode == "constant":
        return S.pad(array, config, constant_values)
    out = array
    for ax, (lo, hi) in enumerate(config):
        n = get_aval(out).shape[ax]
        parts = []
        if mode == "edge":
            left = [S.slice_in_dim(out, 0, 1, axis=ax)] * lo
            right = [S.slice_in_dim(out, n - 1, n, axis=ax)] * hi
        elif mode == "reflect":
            left = [S.slice_in_dim(out, i, i + 1, axis=ax) for i in range(lo, 0, -1)]
            right = [S.slice_in_dim(out, n - 2 - i, n - 1 - i, axis=ax) for i in range(hi)]
        elif mode == "symmetric":
            left = [S.slice_in_dim(out, i, i + 1, axis=ax) for i in range(lo - 1, -1, -1)]
            right = [S.slice_in_dim(out, n - 1 - i, n - i, axis=ax) for i in range(hi)]
        elif mode == "wrap":
            left = [S.slice_in_dim(out, n - lo, n, axis=ax)] if lo else []
            right = [S.slice_in_dim(out, 0, hi, axis=ax)] if hi else []
        else:
            raise NotImplementedError(f"pad: mode {mode!r} is not supported "
                                      f"(constant, edge, reflect, symmetric, wrap)")
        parts = left + [out] + right
        out = S.concatenate(parts, ax) if len(parts) > 1 else out
    return out


__all__ = [n for n in dir() if not n.startswith("_") and n not in (
    "annotations", "np", "get_aval", "S", "asvalue", "normalize_axes", "promote")]
