"""Compiled im2col (padded inputs) and col2im for ``conv_general_dilated`` (CPU lowering; GEMMs stay in BLAS).

``conv_cpu`` runs the same strategies as the NumPy impl (``fnflow.ops.conv.conv_compute``:
im2col + GEMM, GEMM + col2im scatter, or the swapped im2col for kernel gradients), with
the memory-bound copies done by the numba loops below: they read the input once, write
zeros for padding and skip dilation holes without materialising a padded or dilated copy.
1-d convolutions run as 2-d ones with a unit axis; 3-d ones and other dtypes use NumPy.
"""

from __future__ import annotations

import math

import numpy as np

from fnflow.backends.cpu import blas as _blas
from fnflow.backends.cpu.kernels import DTYPES as _DTYPES
from fnflow.backends.cpu.kernels import jit as _jit
from fnflow.backends.cpu.kernels import readonly as _readonly
from fnflow.ops import conv as _conv


def _src(od, l, size):
    # the input index of dilated position ``od`` (``l`` = lhs dilation), or -1 for a hole or padding
    if l == 1:  # no integer division on the common path
        return od if 0 <= od < size else -1
    if od < 0 or od % l != 0 or od // l >= size:
        return -1
    return od // l


def _dst(od, s, size):
    # the output index ``o`` with ``o * s == od``, or -1
    if s == 1:
        return od if 0 <= od < size else -1
    if od < 0 or od % s != 0 or od // s >= size:
        return -1
    return od // s


def _im2col_2d(x, out, sh, sw, dh, dw, lo_h, lo_w, lh, lw):
    # out[n, oh, ow, kh, kw, c] = x_dilated_padded[n, oh*sh + kh*dh, ow*sw + kw*dw, c] (0 outside x)
    n_, h_, w_, c_ = x.shape
    oh_, ow_, kh_, kw_ = out.shape[1], out.shape[2], out.shape[3], out.shape[4]
    for n in range(n_):
        for oh in range(oh_):
            for ow in range(ow_):
                for kh in range(kh_):
                    ih = src(oh * sh + kh * dh - lo_h, lh, h_)
                    for kw in range(kw_):
                        iw = src(ow * sw + kw * dw - lo_w, lw, w_)
                        if ih >= 0 and iw >= 0:
                            for c in range(c_):
                                out[n, oh, ow, kh, kw, c] = x[n, ih, iw, c]
                        else:
                            for c in range(c_):
                                out[n, oh, ow, kh, kw, c] = 0


def _col2im_2d(z, out, sh, sw, dh, dw, lo_h, lo_w, lh, lw):
    # out[n, o, c] += z[n, i, k, c] wherever o*s + k*d - lo == i*l (out zero on entry)
    n_, ih_, iw_, kh_, kw_, c_ = z.shape
    oh_, ow_ = out.shape[1], out.shape[2]
    for n in range(n_):
        for ih in range(ih_):
            for kh in range(kh_):
                oh = dst(ih * lh + lo_h - kh * dh, sh, oh_)
                if oh < 0:
                    continue
                for iw in range(iw_):
                    for kw in range(kw_):
                        ow = dst(iw * lw + lo_w - kw * dw, sw, ow_)
                        if ow < 0:
                            continue
                        for c in range(c_):
                            out[n, oh, ow, c] += z[n, ih, iw, kh, kw, c]


src = _jit(_src)
dst = _jit(_dst)
im2col_2d = _jit(_im2col_2d)
col2im_2d = _jit(_col2im_2d)


def _params_2d(nsp, strides, padding, lhs_dilation, rhs_dilation):
    if nsp == 1:  # a unit first axis
        return ((1,) + tuple(strides), ((0, 0),) + tuple(padding), (1,) + tuple(lhs_dilation),
                (1,) + tuple(rhs_dilation))
    return strides, padding, lhs_dilation, rhs_dilation


def patches(x, out_sp, strides, padding, lhs_dilation, k_sp, rhs_dilation):
    """im2col matrix ``(N * prod(out_sp), prod(k_sp) * C)`` of ``x (N, *S, C)`` (1-d and 2-d compiled)."""
    nsp = x.ndim - 2
    # NumPy's strided copy is as fast for many channels and faster for few (measured, conv1 of the
    # MNIST convnet: C = 1); the loop wins when NumPy would first copy a padded or dilated input
    plain = all(lo == 0 and hi == 0 for lo, hi in padding) and all(d == 1 for d in lhs_dilation)
    if nsp > 2 or x.dtype not in _DTYPES or x.shape[-1] < 8 or plain:
        return _conv.patches_np(x, out_sp, strides, padding, lhs_dilation, k_sp, rhs_dilation)
    s, p, ld, rd = _params_2d(nsp, strides, padding, lhs_dilation, rhs_dilation)
    if nsp == 1:
        x, out_sp, k_sp = x[:, None], (1,) + tuple(out_sp), (1,) + tuple(k_sp)
    n, c = x.shape[0], x.shape[-1]
    out = np.empty((n,) + tuple(out_sp) + tuple(k_sp) + (c,), x.dtype)
    im2col_2d(_readonly(x), out, s[0], s[1], rd[0], rd[1], p[0][0], p[1][0], ld[0], ld[1])
    return out.reshape(n * math.prod(out_sp), -1)


def scatter(z, out_sp, strides, padding, lhs_dilation, rhs_dilation):
    """col2im: the tap products ``z (N, *S, *K, C_out)`` added into ``(N, *out_sp, C_out)``."""
    nsp = len(out_sp)
    if nsp > 2 or z.dtype not in _DTYPES:
        return _conv.scatter_np(z, out_sp, strides, padding, lhs_dilation, rhs_dilation)
    s, p, ld, rd = _params_2d(nsp, strides, padding, lhs_dilation, rhs_dilation)
    shape = (z.shape[0],) + tuple(out_sp) + (z.shape[-1],)
    if nsp == 1:
        z, out_sp = z[:, None, :, None], (1,) + tuple(out_sp)
    out = np.zeros((z.shape[0],) + tuple(out_sp) + (z.shape[-1],), z.dtype)
    col2im_2d(_readonly(z), out, s[0], s[1], rd[0], rd[1], p[0][0], p[1][0], ld[0], ld[1])
    return out.reshape(shape)


def conv_cpu(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, feature_group_count):
    """``conv_general_dilated`` for the CPU backend (same contract as the primitive's impl)."""
    return _conv.conv_compute(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, feature_group_count,
                              patches=patches, scatter=scatter)


# its GEMMs on one BLAS thread while the machine is busy (see ``blas.busy``)
conv_cpu = _blas.adaptive(conv_cpu)
