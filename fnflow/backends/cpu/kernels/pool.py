"""Compiled max pooling for the CPU backend: maximum and arg-max in one pass, gather, scatter-add.

The kernels cover channels-last pooling, the only kind ``fnflow.nn`` emits: windows
``(1, ph, pw, 1)`` over ``(N, H, W, C)`` (or ``(1, p, 1)`` over ``(N, L, C)``, run with a
unit axis), float32/float64, any strides and padding of the two spatial axes. Anything
else runs the primitive's NumPy impl. Semantics are the impl's: padding never wins
(it holds ``-inf``), ties go to the first maximal element in row-major window order,
a window whose maximum is NaN has arg-max 0.
"""

from __future__ import annotations

import numpy as np

from fnflow.backends.cpu.kernels import DTYPES as _DTYPES
from fnflow.backends.cpu.kernels import jit as _jit
from fnflow.backends.cpu.kernels import readonly as _readonly
from fnflow.ops import pool as _pool


def _max_argmax_2d(x, out, idx, ph, pw, sh, sw, lo_h, lo_w):
    n_, h_, w_, c_ = x.shape
    oh_, ow_ = out.shape[1], out.shape[2]
    for n in range(n_):
        for oh in range(oh_):
            for ow in range(ow_):
                m, a = out[n, oh, ow], idx[n, oh, ow]
                for kh in range(ph):
                    ih = oh * sh + kh - lo_h
                    for kw in range(pw):
                        iw = ow * sw + kw - lo_w
                        k = kh * pw + kw
                        if not (0 <= ih < h_ and 0 <= iw < w_):  # padding (-inf) only wins as the first tap
                            if k == 0:
                                m[:] = -np.inf
                                a[:] = 0
                            continue
                        v = x[n, ih, iw]
                        if k == 0:
                            m[:] = v
                            a[:] = 0
                            continue
                        for c in range(c_):  # branch-free, so it vectorises
                            vc, b = v[c], m[c]
                            take = (vc > b) | ((vc != vc) & (b == b))  # NaN wins; its window's arg-max is 0
                            m[c] = vc if take else b
                            a[c] = (k if vc == vc else 0) if take else a[c]


def _scatter_2d(ct, idx, out, pw, sh, sw, lo_h, lo_w):
    # out (zero on entry) [position of the arg-max of window o] += ct[o]; padding positions are dropped
    n_, oh_, ow_, c_ = ct.shape
    h_, w_ = out.shape[1], out.shape[2]
    for n in range(n_):
        for oh in range(oh_):
            for ow in range(ow_):
                for c in range(c_):
                    k = idx[n, oh, ow, c]
                    ih = oh * sh + k // pw - lo_h
                    iw = ow * sw + k % pw - lo_w
                    if 0 <= ih < h_ and 0 <= iw < w_:
                        out[n, ih, iw, c] += ct[n, oh, ow, c]


def _scatter_tiled_2d(ct, idx, out, ph, pw):
    # stride == window, no padding: every element of out is written once (out uninitialised on entry)
    n_, oh_, ow_, c_ = ct.shape
    for n in range(n_):
        for oh in range(oh_):
            for kh in range(ph):
                ih = oh * ph + kh
                for ow in range(ow_):
                    g, a = ct[n, oh, ow], idx[n, oh, ow]
                    for kw in range(pw):
                        o = out[n, ih, ow * pw + kw]
                        k = kh * pw + kw
                        for c in range(c_):
                            o[c] = g[c] if a[c] == k else 0
                out[n, ih, ow_ * pw:] = 0
        out[n, oh_ * ph:] = 0


def _gather_2d(t, idx, out, pw, sh, sw, lo_h, lo_w):
    # out[o] = t[position of the arg-max of window o] (zero padding)
    n_, oh_, ow_, c_ = out.shape
    h_, w_ = t.shape[1], t.shape[2]
    for n in range(n_):
        for oh in range(oh_):
            for ow in range(ow_):
                for c in range(c_):
                    k = idx[n, oh, ow, c]
                    ih = oh * sh + k // pw - lo_h
                    iw = ow * sw + k % pw - lo_w
                    out[n, oh, ow, c] = t[n, ih, iw, c] if 0 <= ih < h_ and 0 <= iw < w_ else 0


max_argmax_2d = _jit(_max_argmax_2d)
scatter_2d = _jit(_scatter_2d)
scatter_tiled_2d = _jit(_scatter_tiled_2d)
gather_2d = _jit(_gather_2d)


def _spatial(ndim, window_dimensions, window_strides, padding):
    """``(ph, pw, sh, sw, lo_h, lo_w)`` of a channels-last pooling window, or None (not one)."""
    if ndim not in (3, 4) or window_dimensions[0] != 1 or window_dimensions[-1] != 1:
        return None
    if window_strides[0] != 1 or window_strides[-1] != 1 or padding[0] != (0, 0) or padding[-1] != (0, 0):
        return None
    if ndim == 3:
        return 1, window_dimensions[1], 1, window_strides[1], 0, padding[1][0]
    return (window_dimensions[1], window_dimensions[2], window_strides[1], window_strides[2], padding[1][0],
            padding[2][0])


def _as4(a):
    return a[:, None] if a.ndim == 3 else a


def _shape4(shape):
    return (shape[0], 1) + tuple(shape[1:]) if len(shape) == 3 else tuple(shape)


def window_max_argmax(x, window_dimensions, window_strides, padding):
    """``(reduce_window_max(x), window_argmax(x))`` in one pass."""
    sp = _spatial(x.ndim, window_dimensions, window_strides, padding)
    if sp is None or x.dtype not in _DTYPES:
        return _pool._max_argmax_impl(x, window_dimensions, window_strides, padding)
    shape = _pool._out_shape(x.shape, window_dimensions, window_strides, padding)
    oshape = _shape4(shape)
    out, idx = np.empty(oshape, x.dtype), np.empty(oshape, np.int32)
    max_argmax_2d(_readonly(_as4(x)), out, idx, *sp)
    return out.reshape(shape), idx.reshape(shape)


def reduce_window_max(x, window_dimensions, window_strides, padding):
    return window_max_argmax(x, window_dimensions, window_strides, padding)[0]


def window_argmax(x, window_dimensions, window_strides, padding):
    return window_max_argmax(x, window_dimensions, window_strides, padding)[1]


def window_scatter_add(ct, idx, operand_shape, window_dimensions, window_strides, padding):
    sp = _spatial(ct.ndim, window_dimensions, window_strides, padding)
    if sp is None or ct.dtype not in _DTYPES:
        return _pool._scatter_impl(ct, idx, operand_shape, window_dimensions, window_strides, padding)
    ph, pw, sh, sw, lo_h, lo_w = sp
    ct, idx = _readonly(_as4(ct)), _readonly(_as4(idx).astype(np.int32, copy=False))
    if (ph, pw, lo_h, lo_w) == (sh, sw, 0, 0):  # tiles (Keras's default pooling): write each element once
        out = np.empty(_shape4(operand_shape), ct.dtype)
        scatter_tiled_2d(ct, idx, out, ph, pw)
    else:
        out = np.zeros(_shape4(operand_shape), ct.dtype)
        scatter_2d(ct, idx, out, pw, sh, sw, lo_h, lo_w)
    return out.reshape(operand_shape)


def window_gather(t, idx, window_dimensions, window_strides, padding):
    sp = _spatial(t.ndim, window_dimensions, window_strides, padding)
    if sp is None or t.dtype not in _DTYPES:
        return _pool._gather_impl(t, idx, window_dimensions, window_strides, padding)
    out = np.empty(_as4(idx).shape, t.dtype)
    gather_2d(_readonly(_as4(t)), _readonly(_as4(idx).astype(np.int32, copy=False)), out, *sp[1:])
    return out.reshape(idx.shape)
