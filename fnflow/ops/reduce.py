"""Reductions over axes: sum, max, min, prod, argmax, argmin, and, or."""

from __future__ import annotations

import numpy as np

from fnflow.core.abstract import get_aval, int_, is_float
from fnflow.core.primitive import Primitive
from fnflow.core.trace import bind
from fnflow.ops._util import asvalue, normalize_axes
from fnflow.transforms.ad import Zero, defjvp, deflinear, defzero
from fnflow.transforms.batching import moveaxis


def _reduced_shape(shape, axes):
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _kept_shape(shape, axes):
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


def _abstract(name, out_dtype=None, nonempty=False):
    def abstract(x, axes):
        if any(a >= x.ndim for a in axes):
            raise ValueError(f"{name}: axes {axes} out of range for shape {x.shape}")
        if nonempty and any(x.shape[a] == 0 for a in axes):
            raise ValueError(f"{name}: zero-size reduction along axes {axes} of shape {x.shape} has no identity")
        return x.update(shape=_reduced_shape(x.shape, axes), dtype=out_dtype or x.dtype)

    return abstract


def _batch(prim):
    def rule(args, dims, axes, **kw):
        x = moveaxis(args[0], dims[0], 0)
        return bind(prim, x, axes=tuple(a + 1 for a in axes), **kw), 0

    return rule


def _restore(y, shape, axes):
    """Broadcast a reduced value back to the operand's shape."""
    from fnflow.ops.shape import broadcast_in_dim

    kept = tuple(i for i in range(len(shape)) if i not in axes)
    return broadcast_in_dim(y, shape, kept)


# --------------------------------------------------------------------- sum

reduce_sum_p = Primitive("reduce_sum")
reduce_sum_p.def_impl(lambda x, axes: np.sum(x, axis=axes, dtype=x.dtype))
reduce_sum_p.def_abstract_eval(_abstract("reduce_sum"))
deflinear(reduce_sum_p, lambda ct, x, axes: [None if isinstance(ct, Zero) else _restore(ct, x.aval.shape, axes)])
reduce_sum_p.def_batch(_batch(reduce_sum_p))


def reduce_sum(x, axes=None):
    """Sum over ``axes`` (all by default); booleans sum as int32."""
    x = asvalue(x)
    a = get_aval(x)
    if a.dtype == np.bool_:
        from fnflow.ops.elementwise import convert_element_type

        x = convert_element_type(x, int_)
    axes = normalize_axes(axes, a.ndim, "sum")
    if not axes:
        return x
    return bind(reduce_sum_p, x, axes=axes)


# ----------------------------------------------------------------- max, min


def _chooser_jvp(t, ans, x, axes):
    # The tangent at the arg-max location(s); ties share it equally (as JAX).
    from fnflow.ops.elementwise import convert_element_type, div, eq, mul

    shape = get_aval(x).shape
    loc = convert_element_type(eq(x, _restore(ans, shape, axes)), get_aval(t).dtype)
    counts = reduce_sum(loc, axes)
    return div(reduce_sum(mul(t, loc), axes), counts)


reduce_max_p = Primitive("reduce_max")
reduce_max_p.def_impl(lambda x, axes: np.max(x, axis=axes))
reduce_max_p.def_abstract_eval(_abstract("reduce_max", nonempty=True))
defjvp(reduce_max_p, _chooser_jvp)
reduce_max_p.def_batch(_batch(reduce_max_p))

reduce_min_p = Primitive("reduce_min")
reduce_min_p.def_impl(lambda x, axes: np.min(x, axis=axes))
reduce_min_p.def_abstract_eval(_abstract("reduce_min", nonempty=True))
defjvp(reduce_min_p, _chooser_jvp)
reduce_min_p.def_batch(_batch(reduce_min_p))


def reduce_max(x, axes=None):
    """Maximum over ``axes``."""
    x = asvalue(x)
    axes = normalize_axes(axes, get_aval(x).ndim, "max")
    return bind(reduce_max_p, x, axes=axes) if axes else x


def reduce_min(x, axes=None):
    """Minimum over ``axes``."""
    x = asvalue(x)
    axes = normalize_axes(axes, get_aval(x).ndim, "min")
    return bind(reduce_min_p, x, axes=axes) if axes else x


# -------------------------------------------------------------------- prod

reduce_prod_p = Primitive("reduce_prod")
reduce_prod_p.def_impl(lambda x, axes: np.prod(x, axis=axes, dtype=x.dtype))
reduce_prod_p.def_abstract_eval(_abstract("reduce_prod"))


def _prod_jvp(t, ans, x, axes):
    # d prod = sum_j t_j * prod_{i != j} x_i, computed without dividing by x
    # (exact when some x_i are zero): move the reduced axes to the end, flatten
    # them, and use exclusive products from the left and the right.
    from fnflow.ops.elementwise import mul
    from fnflow.ops.shape import reshape, transpose

    shape = get_aval(x).shape
    keep = [i for i in range(len(shape)) if i not in axes]
    perm = tuple(keep) + tuple(axes)
    n = int(np.prod([shape[a] for a in axes], dtype=np.int64))
    lead = tuple(shape[i] for i in keep)
    xf = reshape(transpose(x, perm), lead + (n,))
    tf = reshape(transpose(t, perm), lead + (n,))
    left = exclusive_cumprod(xf, reverse=False)
    right = exclusive_cumprod(xf, reverse=True)
    return reduce_sum(mul(tf, mul(left, right)), (len(lead),))


def exclusive_cumprod(x, reverse=False):
    """Products of the elements strictly before (or after) each position, on the last axis."""
    from fnflow.ops.cumulative import cumprod
    from fnflow.ops.shape import concatenate, slice_in_dim

    a = get_aval(x)
    n = a.shape[-1]
    ones = np.ones(a.shape[:-1] + (1,), a.dtype)
    if n <= 1:
        return np.ones(a.shape, a.dtype)
    ax = a.ndim - 1
    if not reverse:
        return concatenate([ones, cumprod(slice_in_dim(x, 0, n - 1, axis=ax), axis=ax)], axis=ax)
    return concatenate([cumprod(slice_in_dim(x, 1, n, axis=ax), axis=ax, reverse=True), ones], axis=ax)


defjvp(reduce_prod_p, _prod_jvp)
reduce_prod_p.def_batch(_batch(reduce_prod_p))


def reduce_prod(x, axes=None):
    """Product over ``axes``; booleans multiply as int32."""
    x = asvalue(x)
    if get_aval(x).dtype == np.bool_:
        from fnflow.ops.elementwise import convert_element_type

        x = convert_element_type(x, int_)
    axes = normalize_axes(axes, get_aval(x).ndim, "prod")
    return bind(reduce_prod_p, x, axes=axes) if axes else x


# ------------------------------------------------------------ and / or

reduce_and_p = Primitive("reduce_and")
reduce_and_p.def_impl(lambda x, axes: np.all(x, axis=axes))
reduce_and_p.def_abstract_eval(_abstract("reduce_and", out_dtype=np.bool_))
defzero(reduce_and_p)
reduce_and_p.def_batch(_batch(reduce_and_p))
reduce_or_p = Primitive("reduce_or")
reduce_or_p.def_impl(lambda x, axes: np.any(x, axis=axes))
reduce_or_p.def_abstract_eval(_abstract("reduce_or", out_dtype=np.bool_))
defzero(reduce_or_p)
reduce_or_p.def_batch(_batch(reduce_or_p))


def _as_bool(x):
    from fnflow.ops.elementwise import ne

    x = asvalue(x)
    return x if get_aval(x).dtype == np.bool_ else ne(x, 0)


def reduce_and(x, axes=None):
    """True where all elements along ``axes`` are true."""
    x = _as_bool(x)
    axes = normalize_axes(axes, get_aval(x).ndim, "all")
    return bind(reduce_and_p, x, axes=axes) if axes else x


def reduce_or(x, axes=None):
    """True where any element along ``axes`` is true."""
    x = _as_bool(x)
    axes = normalize_axes(axes, get_aval(x).ndim, "any")
    return bind(reduce_or_p, x, axes=axes) if axes else x


# ------------------------------------------------------------ argmax / argmin


def _arg_abstract(name):
    def abstract(x, axis, index_dtype):
        if not 0 <= axis < x.ndim:
            raise ValueError(f"{name}: axis {axis} out of range for shape {x.shape}")
        if x.shape[axis] == 0:
            raise ValueError(f"{name}: attempt to get {name} of an empty sequence (axis {axis} of {x.shape})")
        return x.update(shape=_reduced_shape(x.shape, (axis,)), dtype=index_dtype)

    return abstract


argmax_p = Primitive("argmax")
argmax_p.def_impl(lambda x, axis, index_dtype: np.argmax(x, axis=axis).astype(index_dtype))
argmax_p.def_abstract_eval(_arg_abstract("argmax"))
defzero(argmax_p)
argmin_p = Primitive("argmin")
argmin_p.def_impl(lambda x, axis, index_dtype: np.argmin(x, axis=axis).astype(index_dtype))
argmin_p.def_abstract_eval(_arg_abstract("argmin"))
defzero(argmin_p)


def _arg_batch(prim):
    def rule(args, dims, axis, index_dtype):
        x = moveaxis(args[0], dims[0], 0)
        return bind(prim, x, axis=axis + 1, index_dtype=index_dtype), 0

    return rule


argmax_p.def_batch(_arg_batch(argmax_p))
argmin_p.def_batch(_arg_batch(argmin_p))


def argmax(x, axis):
    """Index of the first maximum along ``axis`` (NaN counts as the maximum, as NumPy)."""
    x = asvalue(x)
    axis = normalize_axes(axis, get_aval(x).ndim, "argmax")[0]
    return bind(argmax_p, x, axis=axis, index_dtype=int_)


def argmin(x, axis):
    """Index of the first minimum along ``axis``."""
    x = asvalue(x)
    axis = normalize_axes(axis, get_aval(x).ndim, "argmin")[0]
    return bind(argmin_p, x, axis=axis, index_dtype=int_)


__all__ = ["reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "reduce_and", "reduce_or",
           "argmax", "argmin", "is_float"]
