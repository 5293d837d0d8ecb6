"""Shape primitives: reshape, transpose, broadcast_in_dim, concatenate, pad, slice, rev.

All are linear, so each needs a transpose rule and nothing else for
differentiation.
"""

from __future__ import annotations

import builtins

import numpy as np

from fnflow.core.abstract import ShapedArray, get_aval
from fnflow.core.primitive import Primitive, is_undefined
from fnflow.core.trace import Tracer, bind
from fnflow.ops._util import asvalue, normalize_axes
from fnflow.transforms.ad import Zero, deflinear, zeros_of
from fnflow.transforms.batching import bdim_at_front, moveaxis

# ------------------------------------------------------------------ reshape

reshape_p = Primitive("reshape")
reshape_p.def_impl(lambda x, new_sizes: np.reshape(x, new_sizes))


@reshape_p.def_abstract_eval
def _reshape_abstract(x, new_sizes):
    if int(np.prod(new_sizes, dtype=np.int64)) != x.size:
        raise ValueError(f"reshape: cannot reshape an array of shape {x.shape} ({x.size} elements) "
                         f"into shape {tuple(new_sizes)}")
    return x.update(shape=new_sizes)


deflinear(reshape_p, lambda ct, x, new_sizes: [reshape(ct, x.aval.shape)])
reshape_p.def_batch(lambda args, dims, new_sizes: (
    reshape(moveaxis(args[0], dims[0], 0), (get_aval(args[0]).shape[dims[0]],) + tuple(new_sizes)), 0))


def _infer_shape(size, shape, op="reshape"):
    shape = tuple(int(d) for d in shape)
    if shape.count(-1) > 1:
        raise ValueError(f"{op}: can only specify one unknown dimension (-1), got {shape}")
    if -1 in shape:
        known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
        if known == 0 or size % known:
            raise ValueError(f"{op}: cannot reshape an array of size {size} into shape {shape}")
        shape = tuple(size // known if d == -1 else d for d in shape)
    return shape


def reshape(x, new_sizes):
    """``x`` with a new shape of the same size (one entry may be -1)."""
    x = asvalue(x)
    if isinstance(new_sizes, (int, np.integer)):
        new_sizes = (new_sizes,)
    new_sizes = _infer_shape(get_aval(x).size, new_sizes)
    if get_aval(x).shape == new_sizes:
        return x
    return bind(reshape_p, x, new_sizes=new_sizes)


# ---------------------------------------------------------------- transpose

transpose_p = Primitive("transpose")
transpose_p.def_impl(lambda x, permutation: np.transpose(x, permutation))


@transpose_p.def_abstract_eval
def _transpose_abstract(x, permutation):
    if sorted(permutation) != list(range(x.ndim)):
        raise ValueError(f"transpose: permutation {permutation} is not a permutation of the axes of "
                         f"an array of shape {x.shape}")
    return x.update(shape=tuple(x.shape[i] for i in permutation))


deflinear(transpose_p, lambda ct, x, permutation: [transpose(ct, tuple(np.argsort(permutation)))])
transpose_p.def_batch(lambda args, dims, permutation: (
    transpose(args[0], _batched_perm(dims[0], permutation)), 0))


def _batched_perm(bdim, perm):
    # batch axis first, then the permuted other axes (renumbered around bdim)
    others = [i + (i >= bdim) for i in perm]
    return (bdim,) + tuple(others)


def transpose(x, permutation=None):
    """Permute the axes of ``x`` (reverse them by default)."""
    x = asvalue(x)
    nd = get_aval(x).ndim
    if permutation is None:
        permutation = tuple(reversed(range(nd)))
    permutation = tuple(int(p) % nd if nd else int(p) for p in permutation)
    if len(permutation) != nd or sorted(permutation) != list(range(nd)):
        raise ValueError(f"transpose: axes {permutation} are not a permutation of {nd} axes")
    if permutation == tuple(range(nd)):
        return x
    return bind(transpose_p, x, permutation=permutation)


# ---------------------------------------------------------- broadcast_in_dim

broadcast_in_dim_p = Primitive("broadcast_in_dim")


def _bid_impl(x, shape, broadcast_dimensions):
    expanded = [1] * len(shape)
    for i, d in enumerate(broadcast_dimensions):
        expanded[d] = x.shape[i]
    return np.broadcast_to(np.reshape(x, expanded), shape)


broadcast_in_dim_p.def_impl(_bid_impl)


@broadcast_in_dim_p.def_abstract_eval
def _bid_abstract(x, shape, broadcast_dimensions):
    ok = len(broadcast_dimensions) == x.ndim and all(
        0 <= d < len(shape) and (x.shape[i] == 1 or x.shape[i] == shape[d])
        for i, d in enumerate(broadcast_dimensions)) and list(broadcast_dimensions) == sorted(broadcast_dimensions)
    if not ok:
        raise ValueError(f"broadcast: cannot broadcast an array of shape {x.shape} to shape {tuple(shape)} "
                         f"(dimensions {broadcast_dimensions})")
    return x.update(shape=shape)


def _bid_transpose(ct, x, shape, broadcast_dimensions):
    from fnflow.ops.reduce import reduce_sum

    if isinstance(ct, Zero):
        return [None]
    xs = x.aval.shape
    summed = tuple(i for i in range(len(shape)) if i not in broadcast_dimensions)
    expanded = tuple(d for i, d in enumerate(broadcast_dimensions) if xs[i] == 1 and shape[d] != 1)
    out = reduce_sum(ct, tuple(sorted(summed + expanded))) if summed or expanded else ct
    return [reshape(out, xs)]


deflinear(broadcast_in_dim_p, _bid_transpose)


def _bid_batch(args, dims, shape, broadcast_dimensions):
    x, d = args[0], dims[0]
    x = moveaxis(x, d, 0)
    size = get_aval(x).shape[0]
    return bind(broadcast_in_dim_p, x, shape=(size,) + tuple(shape),
                broadcast_dimensions=(0,) + tuple(b + 1 for b in broadcast_dimensions)), 0


broadcast_in_dim_p.def_batch(_bid_batch)


def broadcast_in_dim(x, shape, broadcast_dimensions):
    """Broadcast ``x`` to ``shape``; axis i of x becomes axis ``broadcast_dimensions[i]``."""
    x = asvalue(x)
    shape = tuple(int(s) for s in shape)
    if get_aval(x).shape == shape and tuple(broadcast_dimensions) == tuple(range(len(shape))):
        return x
    return bind(broadcast_in_dim_p, x, shape=shape, broadcast_dimensions=tuple(broadcast_dimensions))


def broadcast_to(x, shape):
    """NumPy's ``broadcast_to``."""
    x = asvalue(x)
    shape = tuple(int(s) for s in shape)
    xs = get_aval(x).shape
    if xs == shape:
        return x
    if len(xs) > len(shape):
        raise ValueError(f"broadcast_to: cannot broadcast shape {xs} to the smaller rank shape {shape}")
    lead = len(shape) - len(xs)
    for i, d in enumerate(xs):
        if d != 1 and d != shape[lead + i]:
            raise ValueError(f"broadcast_to: cannot broadcast an array of shape {xs} to shape {shape}")
    return bind(broadcast_in_dim_p, x, shape=shape, broadcast_dimensions=tuple(range(lead, len(shape))))


# ------------------------------------------------------------- concatenate

concatenate_p = Primitive("concatenate")
concatenate_p.def_impl(lambda *xs, dimension: np.concatenate(xs, axis=dimension))


@concatenate_p.def_abstract_eval
def _concat_abstract(*xs, dimension):
    base = xs[0]
    for x in xs[1:]:
        if x.ndim != base.ndim or any(a != b for i, (a, b) in enumerate(zip(x.shape, base.shape))
                                      if i != dimension) or x.dtype != base.dtype:
            raise ValueError(f"concatenate: arrays must match in dtype and in every axis but {dimension}, got "
                             f"{', '.join(a.str_short() for a in xs)}")
    shape = list(base.shape)
    shape[dimension] = sum(x.shape[dimension] for x in xs)
    return base.update(shape=shape)


def _concat_transpose(ct, *xs, dimension):
    if isinstance(ct, Zero):
        return [None] * len(xs)
    out, start = [], 0
    for x in xs:
        n = (x.aval if is_undefined(x) else get_aval(x)).shape[dimension]
        if is_undefined(x):
            out.append(slice_in_dim(ct, start, start + n, axis=dimension))
        else:
            out.append(None)
        start += n
    return out


deflinear(concatenate_p, _concat_transpose)


def _concat_batch(args, dims, dimension):
    size = next(get_aval(a).shape[d] for a, d in zip(args, dims) if d is not None)
    xs = [bdim_at_front(a, d, size) for a, d in zip(args, dims)]
    return bind(concatenate_p, *xs, dimension=dimension + 1), 0


concatenate_p.def_batch(_concat_batch)


def concatenate(xs, axis=0):
    """Join arrays along an existing axis."""
    from fnflow.ops._util import promote

    xs = promote(*xs)
    if not xs:
        raise ValueError("concatenate: need at least one array")
    nd = get_aval(xs[0]).ndim
    if nd == 0:
        raise ValueError("concatenate: zero-dimensional arrays cannot be concatenated")
    axis = normalize_axes(axis, nd, "concatenate")[0]
    if len(xs) == 1:
        return xs[0]
    return bind(concatenate_p, *xs, dimension=axis)


def stack_values(xs, dtype=None):
    """Stack a (nested) list of arrays/tracers/scalars along a new leading axis."""
    from fnflow.ops._util import promote

    items = [stack_values(x, dtype) if isinstance(x, (list, tuple)) else x for x in xs]
    items = promote(*items, dtype=dtype) if items else items
    return concatenate([reshape(i, (1,) + get_aval(i).shape) for i in items], axis=0)


# --------------------------------------------------------------------- pad

pad_p = Primitive("pad")


def _pad_impl(x, padval, config):
    lo_hi = [(max(lo, 0), max(hi, 0)) for lo, hi in config]
    out = np.pad(x, lo_hi, constant_values=padval)
    idx = tuple(builtins.slice(-lo if lo < 0 else 0, out.shape[i] + hi if hi < 0 else None)
                for i, (lo, hi) in enumerate(config))
    return out[idx]


pad_p.def_impl(_pad_impl)


@pad_p.def_abstract_eval
def _pad_abstract(x, padval, config):
    if padval.shape != () or padval.dtype != x.dtype:
        raise TypeError(f"pad: the padding value must be a scalar of dtype {x.dtype}, got {padval.str_short()}")
    if len(config) != x.ndim:
        raise ValueError(f"pad: {len(config)} (low, high) pairs for an array of rank {x.ndim}")
    shape = tuple(d + lo + hi for d, (lo, hi) in zip(x.shape, config))
    if any(s < 0 for s in shape):
        raise ValueError(f"pad: negative padding {config} removes more than the shape {x.shape} has")
    return x.update(shape=shape)


def _pad_transpose(ct, x, padval, config):
    from fnflow.ops.reduce import reduce_sum

    if isinstance(ct, Zero):
        return [None, None]
    ct_x = None
    if is_undefined(x):
        ct_x = bind(pad_p, ct, np.zeros((), get_aval(ct).dtype), config=tuple((-lo, -hi) for lo, hi in config))
    ct_p = None
    if is_undefined(padval):
        ones = bind(pad_p, np.zeros(x.aval.shape if is_undefined(x) else get_aval(x).shape, get_aval(ct).dtype),
                    np.ones((), get_aval(ct).dtype), config=config)
        from fnflow.ops.elementwise import mul

        ct_p = reduce_sum(mul(ct, ones), None)
    return [ct_x, ct_p]


deflinear(pad_p, _pad_transpose)


def _pad_batch(args, dims, config):
    x, pv = args
    dx, dp = dims
    if dp is not None:
        raise NotImplementedError("vmap of pad with a batched padding value")
    x = moveaxis(x, dx, 0)
    return bind(pad_p, x, pv, config=((0, 0),) + tuple(config)), 0


pad_p.def_batch(_pad_batch)


def pad(x, config, value=0):
    """Pad ``x`` with ``value``; ``config`` is one ``(low, high)`` pair per axis (negative crops)."""
    x = asvalue(x)
    pv = asvalue(value, get_aval(x).dtype)
    config = tuple((int(lo), int(hi)) for lo, hi in config)
    if all(lo == 0 and hi == 0 for lo, hi in config):
        return x
    return bind(pad_p, x, pv, config=config)


# ------------------------------------------------------------------- slice

slice_p = Primitive("slice")


def _slice_impl(x, start_indices, limit_indices, strides):
    return x[tuple(builtins.slice(s, e, st) for s, e, st in zip(start_indices, limit_indices, strides))]


slice_p.def_impl(_slice_impl)


@slice_p.def_abstract_eval
def _slice_abstract(x, start_indices, limit_indices, strides):
    if not (len(start_indices) == len(limit_indices) == len(strides) == x.ndim) or any(
            not 0 <= s <= e <= d or st < 1 for s, e, st, d in zip(start_indices, limit_indices, strides, x.shape)):
        raise ValueError(f"slice: start {start_indices}, limit {limit_indices}, strides {strides} do not fit "
                         f"an array of shape {x.shape}")
    shape = tuple(max(0, -(-(e - s) // st)) for s, e, st in zip(start_indices, limit_indices, strides))
    return x.update(shape=shape)


def _slice_transpose(ct, x, start_indices, limit_indices, strides):
    if isinstance(ct, Zero):
        return [None]
    shape = x.aval.shape
    if all(st == 1 for st in strides):
        config = tuple((s, d - e) for s, e, d in zip(start_indices, limit_indices, shape))
        return [bind(pad_p, ct, np.zeros((), get_aval(ct).dtype), config=config)]
    # strided: scatter the cotangent into zeros
    from fnflow.ops.indexing import scatter_strided

    return [scatter_strided(ct, shape, start_indices, strides)]


deflinear(slice_p, _slice_transpose)


def _slice_batch(args, dims, start_indices, limit_indices, strides):
    x = moveaxis(args[0], dims[0], 0)
    n = get_aval(x).shape[0]
    return bind(slice_p, x, start_indices=(0,) + tuple(start_indices), limit_indices=(n,) + tuple(limit_indices),
                strides=(1,) + tuple(strides)), 0


slice_p.def_batch(_slice_batch)


def slice(x, start_indices, limit_indices, strides=None):  # noqa: A001
    """The static slice ``x[start:limit:stride, ...]`` (non-negative, in bounds)."""
    x = asvalue(x)
    nd = get_aval(x).ndim
    strides = (1,) * nd if strides is None else tuple(int(s) for s in strides)
    start_indices = tuple(int(s) for s in start_indices)
    limit_indices = tuple(int(s) for s in limit_indices)
    if start_indices == (0,) * nd and limit_indices == get_aval(x).shape and strides == (1,) * nd:
        return x
    return bind(slice_p, x, start_indices=start_indices, limit_indices=limit_indices, strides=strides)


def slice_in_dim(x, start, limit, stride=1, axis=0):
    """``x`` sliced along one axis."""
    shape = get_aval(x).shape
    st = [0] * len(shape)
    lim = list(shape)
    strides = [1] * len(shape)
    st[axis], lim[axis], strides[axis] = start, limit, stride
    return slice(x, st, lim, strides)


# --------------------------------------------------------------------- rev

rev_p = Primitive("rev")
rev_p.def_impl(lambda x, dimensions: np.flip(x, dimensions) if dimensions else x)
rev_p.def_abstract_eval(lambda x, dimensions: x)
deflinear(rev_p, lambda ct, x, dimensions: [rev(ct, dimensions)])
rev_p.def_batch(lambda args, dims, dimensions: (
    rev(args[0], tuple(d + (d >= dims[0]) for d in dimensions)), dims[0]))


def rev(x, dimensions):
    """Reverse ``x`` along the given axes."""
    x = asvalue(x)
    dimensions = normalize_axes(dimensions, get_aval(x).ndim, "flip")
    if not dimensions:
        return x
    return bind(rev_p, x, dimensions=dimensions)


# ------------------------------------------------------------ derived helpers


def expand_dims(x, axes):
    """Insert axes of size 1 at the positions ``axes`` of the result."""
    x = asvalue(x)
    shape = list(get_aval(x).shape)
    if isinstance(axes, int):
        axes = (axes,)
    axes = normalize_axes(axes, len(shape) + len(axes), "expand_dims")
    for a in axes:
        shape.insert(a, 1)
    return reshape(x, tuple(shape))


def squeeze(x, axes=None):
    """Remove axes of size 1 (all of them, or the given ones)."""
    x = asvalue(x)
    shape = get_aval(x).shape
    if axes is None:
        axes = tuple(i for i, d in enumerate(shape) if d == 1)
    axes = normalize_axes(axes, len(shape), "squeeze")
    for a in axes:
        if shape[a] != 1:
            raise ValueError(f"squeeze: cannot select an axis to squeeze out which has size not equal to "
                             f"one (axis {a} of shape {shape})")
    return reshape(x, tuple(d for i, d in enumerate(shape) if i not in axes))


__all__ = ["reshape", "transpose", "broadcast_in_dim", "broadcast_to", "concatenate", "pad", "slice",
           "slice_in_dim", "rev", "expand_dims", "squeeze", "stack_values", "Tracer", "ShapedArray",
           "zeros_of"]
