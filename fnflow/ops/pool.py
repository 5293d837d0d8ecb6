"""Window reductions (pooling): ``reduce_window_sum`` and ``reduce_window_max``, with all their rules.

A window op slides a window over *every* axis of its operand: the parameters
have one entry per axis (``window_dimensions``, ``window_strides``, ``padding``
as ``(lo, hi)`` pairs); pooling a channels-last ``(N, H, W, C)`` batch uses
windows ``(1, ph, pw, 1)``. Output length per axis:
``(lo + size + hi - window) // stride + 1``.

The implementations read the windows through a strided view of the padded
operand and combine its taps (``prod(window)`` whole-array NumPy operations,
never a loop over pixels).

Derivatives:

* ``reduce_window_sum`` is linear. Its transpose spreads each cotangent over
  its window: a ``reduce_window_sum`` of the cotangent dilated by the strides
  (``base_dilation``, zeros between elements) with transposed padding, whose
  own transpose is again a ``reduce_window_sum``.
* ``reduce_window_max``: the tangent of each output is the tangent at the
  position of its window's maximum (``window_argmax``; ties go to the *first*
  maximal element in row-major window order, as a select-and-scatter does).
  That is ``window_gather(t, argmax)``, linear in ``t``; its transpose
  ``window_scatter_add`` adds each cotangent into the arg-max position of its
  window (overlapping windows accumulate), and the transpose of that is the
  gather again, so gradients of gradients work. The arg-max is piecewise
  constant (zero derivative).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from fnflow.core.abstract import ShapedArray, get_aval, int_, is_float
from fnflow.core.primitive import Primitive
from fnflow.core.trace import bind
from fnflow.ops._util import asvalue
from fnflow.ops.conv import dilate_np, lazy_kernel, pad_np, padding_pairs
from fnflow.transforms.ad import Zero, defjvp, deflinear, defzero, instantiate
from fnflow.transforms.batching import broadcast_batched, moveaxis

# ------------------------------------------------------------------ helpers


def _windows(x, out_shape, strides, window, writeable=False):
    """Strided view ``(*out_shape, *window)``: element ``[o, k]`` is ``x[o * stride + k]``."""
    st = x.strides
    return as_strided(x, tuple(out_shape) + tuple(window), tuple(s * m for s, m in zip(st, strides)) + st,
                      writeable=writeable)


def _taps(window):
    return list(np.ndindex(*window))


def _tap(view, nd, tap):
    return view[(slice(None),) * nd + tap]


def _out_shape(shape, window, strides, padding, base_dilation=None):
    base_dilation = (1,) * len(shape) if base_dilation is None else base_dilation
    return tuple((lo + ((d - 1) * b + 1 if d else 0) + hi - w) // s + 1
                 for d, w, s, (lo, hi), b in zip(shape, window, strides, padding, base_dilation))


def _check(name, x, window_dimensions, window_strides, padding, base_dilation=None):
    nd = x.ndim
    for what, v in (("window_dimensions", window_dimensions), ("window_strides", window_strides),
                    ("padding", padding)) + ((("base_dilation", base_dilation),) if base_dilation else ()):
        if len(v) != nd:
            raise ValueError(f"{name}: {what} {v} must have one entry per axis of the operand {x.shape}")
    for what, v in (("window_dimensions", window_dimensions), ("window_strides", window_strides),
                    ("base_dilation", base_dilation or (1,) * nd)):
        if any(int(i) < 1 for i in v):
            raise ValueError(f"{name}: {what} must be positive integers, got {v}")
    out = _out_shape(x.shape, window_dimensions, window_strides, padding, base_dilation)
    if any(o <= 0 for o in out):
        raise ValueError(f"{name}: the window {window_dimensions} is larger than the padded operand (shape "
                         f"{x.shape}, padding {padding}): the output would have shape {out}")
    return out


def _lowest(dtype):
    dtype = np.dtype(dtype)
    if is_float(dtype):
        return -np.inf
    if dtype == np.bool_:
        return False
    return np.iinfo(dtype).min


def _front(prim, params, extra=("window_dimensions", "window_strides", "padding")):
    """Params for the operand with a batch axis in front: a trivial window along it."""
    new = dict(params)
    for k in extra:
        v = params[k]
        new[k] = ((0, 0),) + tuple(v) if k == "padding" else (1,) + tuple(v)
    return new


def _norm(x, window_dimensions, window_strides, padding, op):
    nd = get_aval(x).ndim
    window = tuple(int(w) for w in window_dimensions)
    if len(window) != nd:
        raise ValueError(f"{op}: window_dimensions {window} must have one entry per axis of the operand "
                         f"{get_aval(x).shape}")
    strides = (1,) * nd if window_strides is None else tuple(int(s) for s in window_strides)
    if len(strides) != nd:
        raise ValueError(f"{op}: window_strides {strides} must have one entry per axis of the operand "
                         f"{get_aval(x).shape}")
    pads = padding_pairs(padding, get_aval(x).shape, window, strides, op=op)
    _check(op, get_aval(x), window, strides, pads)  # eager calls skip abstract_eval
    return window, strides, pads


# --------------------------------------------------------- reduce_window_sum

reduce_window_sum_p = Primitive("reduce_window_sum")


def _rws_impl(x, window_dimensions, window_strides, padding, base_dilation):
    nd = x.ndim
    x = pad_np(dilate_np(x, range(nd), base_dilation), padding)
    out = _out_shape(x.shape, window_dimensions, window_strides, ((0, 0),) * nd)
    view = _windows(x, out, window_strides, window_dimensions)
    if math.prod(window_dimensions) > 64:
        return np.sum(view, axis=tuple(range(nd, 2 * nd)), dtype=x.dtype)
    taps = _taps(window_dimensions)
    acc = _tap(view, nd, taps[0]).copy()
    for t in taps[1:]:
        acc += _tap(view, nd, t)
    return acc


reduce_window_sum_p.def_impl(_rws_impl)


@reduce_window_sum_p.def_abstract_eval
def _rws_abstract(x, window_dimensions, window_strides, padding, base_dilation):
    return x.update(shape=_check("reduce_window_sum", x, window_dimensions, window_strides, padding, base_dilation))


def _rws_transpose(ct, x, window_dimensions, window_strides, padding, base_dilation):
    if isinstance(ct, Zero):
        return [None]
    pads = []
    for d, w, s, (lo, hi), b in zip(x.aval.shape, window_dimensions, window_strides, padding, base_dilation):
        r = (lo + (d - 1) * b + 1 + hi - w) % s
        pads.append((w - 1 - lo, w - 1 - hi + r))
    return [bind(reduce_window_sum_p, ct, window_dimensions=window_dimensions, window_strides=base_dilation,
                 padding=tuple(pads), base_dilation=window_strides)]


deflinear(reduce_window_sum_p, _rws_transpose)


def _rws_batch(args, dims, **params):
    x = moveaxis(args[0], dims[0], 0)
    return bind(reduce_window_sum_p, x, **_front(reduce_window_sum_p, params, (
        "window_dimensions", "window_strides", "padding", "base_dilation"))), 0


reduce_window_sum_p.def_batch(_rws_batch)


def reduce_window_sum(x, window_dimensions, window_strides=None, padding="VALID", base_dilation=None):
    """Sum over sliding windows (one window size/stride/padding per axis of ``x``; zero padding).

    ``padding``: "VALID", "SAME" (Keras/TF rule) or ``(lo, hi)`` pairs;
    ``base_dilation`` inserts ``d - 1`` zeros between the elements of ``x`` first.
    """
    x = asvalue(x)
    window, strides, pads = _norm(x, window_dimensions, window_strides, padding, "reduce_window_sum")
    nd = len(window)
    bd = (1,) * nd if base_dilation is None else tuple(int(b) for b in base_dilation)
    return bind(reduce_window_sum_p, x, window_dimensions=window, window_strides=strides, padding=pads,
                base_dilation=bd)


# --------------------------------------------------------- reduce_window_max

reduce_window_max_p = Primitive("reduce_window_max")
window_argmax_p = Primitive("window_argmax")


def _max_view(x, window_dimensions, window_strides, padding):
    nd = x.ndim
    x = pad_np(x, padding, _lowest(x.dtype))
    out = _out_shape(x.shape, window_dimensions, window_strides, ((0, 0),) * nd)
    return _windows(x, out, window_strides, window_dimensions)


def _rwm_impl(x, window_dimensions, window_strides, padding):
    nd = x.ndim
    view = _max_view(x, window_dimensions, window_strides, padding)
    if math.prod(window_dimensions) > 64:
        return np.max(view, axis=tuple(range(nd, 2 * nd)))
    taps = _taps(window_dimensions)
    acc = _tap(view, nd, taps[0]).copy()
    for t in taps[1:]:
        np.maximum(acc, _tap(view, nd, t), out=acc)
    return acc


def _argmax_impl(x, window_dimensions, window_strides, padding):
    return _max_argmax_impl(x, window_dimensions, window_strides, padding)[1]


def _max_argmax_impl(x, window_dimensions, window_strides, padding):
    # index (row-major in the window) of the first maximal element of each window: the last tap that
    # equals the maximum, scanning the taps backwards
    nd = x.ndim
    best = _rwm_impl(x, window_dimensions, window_strides, padding)
    view = _max_view(x, window_dimensions, window_strides, padding)
    taps = _taps(window_dimensions)
    idx = np.zeros(best.shape, np.int32)
    for k in range(len(taps) - 1, -1, -1):
        idx = np.where(_tap(view, nd, taps[k]) == best, np.int32(k), idx)
    # windows whose maximum is NaN (no tap compares equal) keep index 0
    return best, idx


reduce_window_max_p.def_impl(_rwm_impl)
window_argmax_p.def_impl(_argmax_impl)
# both in one pass: what the JVP of reduce_window_max needs (a gradient never recomputes the maximum)
window_max_argmax_p = Primitive("window_max_argmax", multiple_results=True)
window_max_argmax_p.def_impl(lambda x, **params: list(_max_argmax_impl(x, **params)))


@reduce_window_max_p.def_abstract_eval
def _rwm_abstract(x, window_dimensions, window_strides, padding):
    return x.update(shape=_check("reduce_window_max", x, window_dimensions, window_strides, padding))


@window_argmax_p.def_abstract_eval
def _argmax_abstract(x, window_dimensions, window_strides, padding):
    return ShapedArray(_check("window_argmax", x, window_dimensions, window_strides, padding), np.dtype(int_))


@window_max_argmax_p.def_abstract_eval
def _max_argmax_abstract(x, window_dimensions, window_strides, padding):
    out = _check("window_max_argmax", x, window_dimensions, window_strides, padding)
    return [x.update(shape=out), ShapedArray(out, np.dtype(int_))]


def _window_batch(prim):
    def rule(args, dims, **params):
        x = moveaxis(args[0], dims[0], 0)
        return bind(prim, x, **_front(prim, params)), 0

    return rule


reduce_window_max_p.def_batch(_window_batch(reduce_window_max_p))
window_argmax_p.def_batch(_window_batch(window_argmax_p))
defzero(window_argmax_p)


def _max_argmax_batch(args, dims, **params):
    x = moveaxis(args[0], dims[0], 0)
    return bind(window_max_argmax_p, x, **_front(window_max_argmax_p, params)), [0, 0]


window_max_argmax_p.def_batch(_max_argmax_batch)


@window_max_argmax_p.def_jvp
def _max_argmax_jvp(primals, tangents, **params):
    (x,), (t,) = primals, tangents
    out, idx = bind(window_max_argmax_p, x, **params)
    return [out, idx], [window_gather(instantiate(t), idx, **params), Zero(get_aval(idx))]


@reduce_window_max_p.def_jvp
def _rwm_jvp(primals, tangents, **params):
    # the tangent at each window's first maximum, picked with the arg-max computed in the same pass
    (x,), (t,) = primals, tangents
    out, idx = bind(window_max_argmax_p, x, **params)
    return out, window_gather(instantiate(t), idx, **params)


def reduce_window_max(x, window_dimensions, window_strides=None, padding="VALID"):
    """Maximum over sliding windows (one window size/stride/padding per axis; padding never wins).

    The derivative flows to the first maximal element of each window.
    """
    x = asvalue(x)
    window, strides, pads = _norm(x, window_dimensions, window_strides, padding, "reduce_window_max")
    return bind(reduce_window_max_p, x, window_dimensions=window, window_strides=strides, padding=pads)


def window_argmax(x, window_dimensions, window_strides=None, padding="VALID"):
    """For each window, the row-major index of its first maximal element (int32, no derivative)."""
    x = asvalue(x)
    window, strides, pads = _norm(x, window_dimensions, window_strides, padding, "window_argmax")
    return bind(window_argmax_p, x, window_dimensions=window, window_strides=strides, padding=pads)


# ------------------------------------------------ window gather and scatter-add

window_gather_p = Primitive("window_gather")
window_scatter_add_p = Primitive("window_scatter_add")


def _gather_impl(t, idx, window_dimensions, window_strides, padding):
    nd = t.ndim
    view = _windows(pad_np(t, padding), idx.shape, window_strides, window_dimensions)
    taps = _taps(window_dimensions)
    out = _tap(view, nd, taps[0]).copy()
    for k in range(1, len(taps)):
        out = np.where(idx == k, _tap(view, nd, taps[k]), out)
    return out


def _scatter_impl(ct, idx, operand_shape, window_dimensions, window_strides, padding):
    nd = ct.ndim
    padded = tuple(lo + d + hi for d, (lo, hi) in zip(operand_shape, padding))
    buf = np.zeros(padded, ct.dtype)
    view = _windows(buf, idx.shape, window_strides, window_dimensions, writeable=True)
    disjoint = all(s >= w for s, w in zip(window_strides, window_dimensions))
    for k, tap in enumerate(_taps(window_dimensions)):
        dst = _tap(view, nd, tap)
        if disjoint:  # windows do not overlap: every element is written by at most one output
            np.multiply(ct, idx == k, out=dst)
        else:  # one tap's positions are distinct for distinct outputs, so += through the view is safe
            dst += ct * (idx == k)
    return np.ascontiguousarray(pad_np(buf, tuple((-lo, -hi) for lo, hi in padding)))


window_gather_p.def_impl(_gather_impl)
window_scatter_add_p.def_impl(_scatter_impl)


def _check_idx(name, idx, want):
    if idx.shape != tuple(want) or np.dtype(idx.dtype).kind not in "iu":
        raise ValueError(f"{name}: indices must be integers of shape {tuple(want)}, got {idx.str_short()}")


@window_gather_p.def_abstract_eval
def _gather_abstract(t, idx, window_dimensions, window_strides, padding):
    out = _check("window_gather", t, window_dimensions, window_strides, padding)
    _check_idx("window_gather", idx, out)
    return t.update(shape=out)


@window_scatter_add_p.def_abstract_eval
def _scatter_abstract(ct, idx, operand_shape, window_dimensions, window_strides, padding):
    out = _check("window_scatter_add", ShapedArray(operand_shape, ct.dtype), window_dimensions, window_strides,
                 padding)
    if ct.shape != out:
        raise ValueError(f"window_scatter_add: cotangent shape {ct.shape} does not match the window output "
                         f"{out} of an operand of shape {operand_shape}")
    _check_idx("window_scatter_add", idx, out)
    return ct.update(shape=tuple(operand_shape))


defjvp(window_gather_p, lambda t, ans, x, idx, **p: window_gather(t, idx, **p), None)
defjvp(window_scatter_add_p, lambda t, ans, ct, idx, **p: window_scatter_add(t, idx, **p), None)


def _gather_transpose(ct, t, idx, window_dimensions, window_strides, padding):
    if isinstance(ct, Zero):
        return [None, None]
    return [window_scatter_add(ct, idx, t.aval.shape, window_dimensions, window_strides, padding), None]


def _scatter_transpose(ct, c, idx, operand_shape, window_dimensions, window_strides, padding):
    if isinstance(ct, Zero):
        return [None, None]
    return [window_gather(ct, idx, window_dimensions, window_strides, padding), None]


window_gather_p.def_transpose(_gather_transpose)
window_scatter_add_p.def_transpose(_scatter_transpose)


def _pair_batch(prim, shape_param=False):
    def rule(args, dims, **params):
        a, idx = args
        da, di = dims
        size = get_aval(a).shape[da] if da is not None else get_aval(idx).shape[di]
        a, idx = broadcast_batched(a, da, size), broadcast_batched(idx, di, size)
        new = _front(prim, params)
        if shape_param:
            new["operand_shape"] = (size,) + tuple(params["operand_shape"])
        return bind(prim, a, idx, **new), 0

    return rule


window_gather_p.def_batch(_pair_batch(window_gather_p))
window_scatter_add_p.def_batch(_pair_batch(window_scatter_add_p, shape_param=True))


def window_gather(t, idx, window_dimensions, window_strides, padding):
    """``out[o] = t_padded[o * stride + unravel(idx[o])]``: pick one element of each window (zero padding)."""
    return bind(window_gather_p, t, idx, window_dimensions=tuple(window_dimensions),
                window_strides=tuple(window_strides), padding=tuple(padding))


def window_scatter_add(ct, idx, operand_shape, window_dimensions, window_strides, padding):
    """Transpose of :func:`window_gather`: zeros of ``operand_shape`` plus ``ct[o]`` at each picked element."""
    return bind(window_scatter_add_p, ct, idx, operand_shape=tuple(operand_shape),
                window_dimensions=tuple(window_dimensions), window_strides=tuple(window_strides),
                padding=tuple(padding))


# the CPU backend runs compiled kernels for channels-last pooling (fnflow/backends/cpu/kernels/pool.py)
reduce_window_max_p.lowerings["cpu"] = lazy_kernel("pool", "reduce_window_max", _rwm_impl)
window_argmax_p.lowerings["cpu"] = lazy_kernel("pool", "window_argmax", _argmax_impl)
window_max_argmax_p.lowerings["cpu"] = lazy_kernel("pool", "window_max_argmax", _max_argmax_impl)
window_gather_p.lowerings["cpu"] = lazy_kernel("pool", "window_gather", _gather_impl)
window_scatter_add_p.lowerings["cpu"] = lazy_kernel("pool", "window_scatter_add", _scatter_impl)

__all__ = ["reduce_window_sum", "reduce_window_max", "window_argmax", "window_gather", "window_scatter_add",
           "reduce_window_sum_p", "reduce_window_max_p", "window_argmax_p", "window_gather_p",
           "window_scatter_add_p", "window_max_argmax_p"]
