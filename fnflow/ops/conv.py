"""conv_general_dilated: N-d convolution in Keras's channels-last layout, with all its rules.

Layouts (as Keras's ``Conv1D/2D/3D``)::

    lhs    (N, *spatial, C_in)
    rhs    (*kernel_spatial, C_in // groups, C_out)      Conv2D: (kh, kw, in, out)
    out    (N, *out_spatial, C_out)

Parameters (one entry per spatial axis): ``window_strides``, ``padding``
(explicit ``(lo, hi)`` pairs, negative values crop), ``lhs_dilation`` (zeros
between input elements: transposed convolution), ``rhs_dilation`` (Keras's
``dilation_rate``) and ``feature_group_count`` (groups; depthwise when it equals
``C_in``). Input channel block ``g`` feeds output channel block ``g``.

The eager implementation (which the compiled CPU path also runs) dilates and
pads the input, takes a strided *view* of every window (no copy), and contracts
it with the kernel in one BLAS matrix product (im2col). When the products of
the raw input with every kernel tap are smaller than the im2col patches (input
gradients: few output channels, or zero-stuffed cotangents of strided convs),
it multiplies first and adds the taps into the output (``_conv_scatter``).

The op is bilinear. Both transposes are again ``conv_general_dilated``, so
derivatives of any order and ``vmap`` of them compose:

* d/d lhs: the cotangent convolved with the spatially flipped kernel (input
  and output channels swapped within each group), window strides =
  ``lhs_dilation``, ``lhs_dilation`` = strides, padding ``ke-1-lo`` and
  ``ke-1-hi+r`` (``ke`` the dilated kernel extent, ``r`` what the last window
  left over);
* d/d rhs: a convolution of the input (its channels as the batch, its batch as
  the features) with the cotangent as the kernel: window strides =
  ``rhs_dilation``, ``rhs_dilation`` = strides, feature groups kept.
"""

from __future__ import annotations

import importlib
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from fnflow.core.abstract import ShapedArray, get_aval
from fnflow.core.primitive import Primitive
from fnflow.core.trace import bind
from fnflow.ops._util import promote
from fnflow.ops.shape import reshape, rev, transpose
from fnflow.transforms.ad import defbilinear
from fnflow.transforms.batching import moveaxis

conv_general_dilated_p = Primitive("conv_general_dilated")

# ------------------------------------------------------------------ helpers


def dilate_np(x, axes, factors):
    """``x`` with ``f - 1`` zeros inserted between neighbours along each axis (NumPy)."""
    if all(f == 1 for f in factors):
        return x
    shape = list(x.shape)
    idx = [slice(None)] * x.ndim
    for a, f in zip(axes, factors):
        shape[a] = (shape[a] - 1) * f + 1 if shape[a] else 0
        idx[a] = slice(None, None, f)
    out = np.zeros(shape, x.dtype)
    out[tuple(idx)] = x
    return out


def pad_np(x, config, value=0):
    """``x`` padded by ``(lo, hi)`` per axis with ``value``; negative amounts crop (NumPy)."""
    grow = [(max(lo, 0), max(hi, 0)) for lo, hi in config]
    if any(lo or hi for lo, hi in grow):
        x = np.pad(x, grow, constant_values=value)
    if any(lo < 0 or hi < 0 for lo, hi in config):
        x = x[tuple(slice(-lo if lo < 0 else 0, x.shape[i] + hi if hi < 0 else None)
                    for i, (lo, hi) in enumerate(config))]
    return x


def window_view(x, axes, out_sizes, strides, win_sizes, win_dilation):
    """A read-only strided view of every window of ``x``.

    ``x`` has shape ``(A, *spatial, B)`` with the spatial ``axes``; the view has
    shape ``(A, *out_sizes, *win_sizes, B)``: element ``[a, o..., k..., b]`` is
    ``x[a, o*stride + k*dilation, ..., b]``. No data is copied.
    """
    st = x.strides
    lead = [i for i in range(x.ndim) if i < axes[0]]
    tail = [i for i in range(x.ndim) if i > axes[-1]]
    shape = ([x.shape[i] for i in lead] + list(out_sizes) + list(win_sizes) + [x.shape[i] for i in tail])
    strides = ([st[i] for i in lead] + [st[a] * s for a, s in zip(axes, strides)]
               + [st[a] * d for a, d in zip(axes, win_dilation)] + [st[i] for i in tail])
    return as_strided(x, shape, strides, writeable=False)


def out_size(size, lo, hi, k, stride, lhs_dil=1, rhs_dil=1):
    """Output length of a window op along one axis (may be <= 0 for a bad configuration)."""
    d = (size - 1) * lhs_dil + 1 if size > 0 else 0
    ke = (k - 1) * rhs_dil + 1
    return (lo + d + hi - ke) // stride + 1


def same_padding(size, k, stride, dilation=1):
    """Keras/TF "same" padding ``(lo, hi)``: output ``ceil(size/stride)``, the extra pixel at the end."""
    ke = (k - 1) * dilation + 1
    total = max((-(-size // stride) - 1) * stride + ke - size, 0)
    return total // 2, total - total // 2


def padding_pairs(padding, in_sizes, win_sizes, strides, dilation=None, op="conv"):
    """Explicit ``((lo, hi), ...)`` from "VALID"/"SAME" (any case) or pairs (checked)."""
    n = len(in_sizes)
    dilation = (1,) * n if dilation is None else dilation
    if isinstance(padding, str):
        p = padding.upper()
        if p == "VALID":
            return ((0, 0),) * n
        if p == "SAME":
            return tuple(same_padding(s, k, st, d) for s, k, st, d in zip(in_sizes, win_sizes, strides, dilation))
        raise ValueError(f"{op}: padding must be 'valid', 'same' or (lo, hi) pairs, got {padding!r}")
    try:
        pairs = tuple((int(lo), int(hi)) for lo, hi in padding)
    except (TypeError, ValueError):
        raise ValueError(f"{op}: padding must be 'valid', 'same' or (lo, hi) pairs, got {padding!r}") from None
    if len(pairs) != n:
        raise ValueError(f"{op}: {len(pairs)} padding pairs for {n} spatial axes")
    return pairs


def as_tuple(v, n, name, op):
    """An int or a sequence of ``n`` ints as a tuple of ``n`` ints."""
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    t = tuple(int(i) for i in v)
    if len(t) != n:
        raise ValueError(f"{op}: {name} {tuple(v)} must have one entry per spatial axis ({n})")
    return t


# ------------------------------------------------------------------- impl


def _conv_impl(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, feature_group_count):
    return conv_compute(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, feature_group_count)


def conv_compute(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, feature_group_count,
                 patches=None, scatter=None, strategy=None):
    """The convolution by the cheapest of three BLAS formulations (eager impl and CPU lowering).

    ``strategy`` forces one ("im2col", "scatter", "swapped"; groups need "im2col"), else it is
    picked from the shapes and the memory layout of ``lhs``.

    ``patches(x, out_sp, strides, padding, lhs_dilation, k_sp, rhs_dilation)`` returns the im2col
    matrix ``(N * prod(out_sp), prod(k_sp) * C)`` of ``x (N, *S, C)``; ``scatter(z, out_sp, strides,
    padding, lhs_dilation, rhs_dilation)`` adds the tap products ``z (N, *S, *K, C_out)`` into the
    output. Both default to NumPy; the CPU backend passes compiled kernels.
    """
    patches = patches or patches_np
    scatter = scatter or scatter_np
    nsp = lhs.ndim - 2
    k_sp = rhs.shape[:nsp]
    out_sp = tuple(out_size(lhs.shape[1 + i], *padding[i], k_sp[i], window_strides[i], lhs_dilation[i],
                            rhs_dilation[i]) for i in range(nsp))
    cgi, cout = rhs.shape[-2:]
    if strategy is None and feature_group_count == 1:
        strategy = "im2col"
        if _features_major(lhs):
            strategy = "swapped"
        # im2col copies (outputs x K*C_in) patches; the scatter form multiplies the raw input first, making
        # (inputs x K*C_out) products: pick the smaller (the scatter form wins for input gradients: few output
        # channels, or a zero-stuffed, padded cotangent)
        elif lhs[..., 0].size * cout < math.prod(out_sp) * lhs.shape[0] * cgi:
            strategy = "scatter"
    if strategy == "swapped":
        return _conv_swapped(lhs, rhs, out_sp, window_strides, padding, lhs_dilation, rhs_dilation, patches)
    if strategy == "scatter":
        return _conv_scatter(lhs, rhs, out_sp, window_strides, padding, lhs_dilation, rhs_dilation, scatter)
    if feature_group_count == 1:
        p = patches(lhs, out_sp, window_strides, padding, lhs_dilation, k_sp, rhs_dilation)
        out = np.dot(p, rhs.reshape(-1, cout))
        return out.reshape((lhs.shape[0],) + out_sp + (cout,))
    win = _window_np(lhs, out_sp, window_strides, padding, lhs_dilation, k_sp, rhs_dilation)
    return _contract(win, rhs, feature_group_count)


def _window_np(x, out_sp, strides, padding, lhs_dilation, k_sp, rhs_dilation):
    """Strided view ``(N, *out_sp, *k_sp, C)`` of every window of the dilated, padded ``x``."""
    axes = tuple(range(1, x.ndim - 1))
    x = dilate_np(x, axes, lhs_dilation)
    x = pad_np(x, ((0, 0),) + tuple(padding) + ((0, 0),))
    return window_view(x, axes, out_sp, strides, k_sp, rhs_dilation)


def patches_np(x, out_sp, strides, padding, lhs_dilation, k_sp, rhs_dilation):
    """The im2col matrix ``(N * prod(out_sp), prod(k_sp) * C)`` of ``x`` (NumPy: one strided copy)."""
    win = _window_np(x, out_sp, strides, padding, lhs_dilation, k_sp, rhs_dilation)
    return win.reshape(x.shape[0] * math.prod(out_sp), -1)


def _features_major(lhs):
    """True when ``lhs (A, *S, B)`` is a transposed view of a C-contiguous ``(B, *S, A)`` array.

    That is how the kernel gradient's rule presents the input (its channels as the batch, its batch
    as the features): reading it as laid out avoids a slow transposing copy.
    """
    nd = lhs.ndim
    if lhs.flags.c_contiguous:
        return False
    return lhs.transpose((nd - 1,) + tuple(range(1, nd - 1)) + (0,)).flags.c_contiguous


def _conv_swapped(lhs, rhs, out_sp, strides, padding, lhs_dilation, rhs_dilation, patches):
    """``out[a, o, co] = sum_{k, b} lhs[a, o*s + k*d, b] rhs[k, b, co]`` read from ``X = lhs`` as ``(B, *S, A)``.

    The im2col matrix of ``X`` with the roles of window and output swapped (windows at the
    kernel positions ``k`` with stride ``d``, taps at the outputs ``o`` with dilation ``s``) is
    ``Q[(b, k), (o, a)]``, and ``out = Q^T @ rhs`` as ``((b, k), co)``: one GEMM over the long axis.
    For a kernel gradient ``X`` is the layer input and ``rhs`` the cotangent, both as stored.
    """
    nsp = lhs.ndim - 2
    k_sp, cout = rhs.shape[:nsp], rhs.shape[-1]
    a = lhs.shape[0]
    x = lhs.transpose((nsp + 1,) + tuple(range(1, nsp + 1)) + (0,))
    q = patches(x, k_sp, rhs_dilation, padding, lhs_dilation, out_sp, strides)  # (B*K, O*A)
    r = rhs.transpose((nsp,) + tuple(range(nsp)) + (nsp + 1,))
    out = np.dot(q.T, np.ascontiguousarray(r).reshape(-1, cout))  # (O*A, co)
    out = out.reshape(tuple(out_sp) + (a, cout))
    return np.ascontiguousarray(np.moveaxis(out, nsp, 0))


def _contract(win, rhs, groups):
    """``out[n, o, co] = sum_{k, ci} win[n, o, k, g(co)*cgi + ci] * rhs[k, ci, co]`` by one BLAS call (im2col)."""
    nsp = rhs.ndim - 2
    n, o_sp = win.shape[0], win.shape[1:1 + nsp]
    cgi, cout = rhs.shape[-2:]
    m, kk = n * math.prod(o_sp), math.prod(rhs.shape[:nsp])
    if groups == 1:
        out = np.dot(win.reshape(m, kk * cgi), rhs.reshape(kk * cgi, cout))
        return out.reshape((n,) + o_sp + (cout,))
    cgo = cout // groups
    # (N, *O, *K, G, cgi) -> (G, N*O, K*cgi): one batched matrix product over the groups
    w = win.reshape(win.shape[:-1] + (groups, cgi))
    w = np.moveaxis(w, -2, 0).reshape(groups, m, kk * cgi)
    k = rhs.reshape(kk, cgi, groups, cgo).transpose(2, 0, 1, 3).reshape(groups, kk * cgi, cgo)
    out = np.matmul(w, k)  # (G, M, cgo)
    return np.moveaxis(out, 0, 1).reshape((n,) + o_sp + (cout,))


def _tap_range(o_size, s_size, k, stride, lo, lhs_dil, rhs_dil):
    """Outputs ``o`` reading input ``i`` through tap ``k``: ``o*stride + k*rhs_dil - lo == i*lhs_dil``.

    Returns ``(o0, i0, o_step, i_step, count)`` of the arithmetic progression (count 0: none).
    """
    o_min = max(0, -(-(lo - k * rhs_dil) // stride))
    o0 = next((o for o in range(o_min, o_min + lhs_dil) if (o * stride + k * rhs_dil - lo) % lhs_dil == 0), None)
    if o0 is None:
        return 0, 0, 1, 1, 0
    i0 = (o0 * stride + k * rhs_dil - lo) // lhs_dil
    o_step = lhs_dil // math.gcd(stride, lhs_dil)
    i_step = stride * o_step // lhs_dil
    count = min(-(-(o_size - o0) // o_step), -(-(s_size - i0) // i_step))
    return o0, i0, o_step, i_step, max(count, 0)


def _conv_scatter(lhs, rhs, out_sp, strides, padding, lhs_dilation, rhs_dilation, scatter):
    """Convolution as "multiply, then scatter the taps" (col2im), without dilating or padding the input.

    One BLAS product ``Z = rows(lhs) @ [rhs_k for every tap k]`` gives every real
    input element times every tap, ``(N, *S, K, C_out)``; tap ``k`` of input ``i``
    lands on the outputs ``o`` with ``o*stride + k*dilation - lo == i*lhs_dilation``,
    an arithmetic progression per axis, added as one strided slice per tap.
    """
    nsp = rhs.ndim - 2
    k_sp, (cin, cout) = rhs.shape[:nsp], rhs.shape[-2:]
    kk = math.prod(k_sp)
    n, s_sp = lhs.shape[0], lhs.shape[1:-1]
    # (N*S, C_in) @ (C_in, K*C_out)
    z = np.dot(np.ascontiguousarray(lhs).reshape(-1, cin),
               rhs.reshape(kk, cin, cout).transpose(1, 0, 2).reshape(cin, kk * cout))
    z = z.reshape((n,) + s_sp + tuple(k_sp) + (cout,))
    return scatter(z, out_sp, strides, padding, lhs_dilation, rhs_dilation)


def scatter_np(z, out_sp, strides, padding, lhs_dilation, rhs_dilation):
    """Add the tap products ``z (N, *S, *K, C_out)`` into the output ``(N, *out_sp, C_out)`` (col2im, NumPy)."""
    nsp = len(out_sp)
    n, s_sp, k_sp, cout = z.shape[0], z.shape[1:1 + nsp], z.shape[1 + nsp:-1], z.shape[-1]
    out = np.zeros((n,) + tuple(out_sp) + (cout,), z.dtype)
    for tap in np.ndindex(*k_sp):
        o_idx, i_idx = [slice(None)], [slice(None)]
        for a in range(nsp):
            o0, i0, os_, is_, c = _tap_range(out_sp[a], s_sp[a], tap[a], strides[a], padding[a][0],
                                            lhs_dilation[a], rhs_dilation[a])
            if c == 0:
                break
            o_idx.append(slice(o0, o0 + (c - 1) * os_ + 1, os_))
            i_idx.append(slice(i0, i0 + (c - 1) * is_ + 1, is_))
        else:
            out[tuple(o_idx)] += z[tuple(i_idx) + tap]
    return out


conv_general_dilated_p.def_impl(_conv_impl)


def lazy_kernel(module, name, fallback):
    """A CPU lowering that imports ``fnflow.backends.cpu.kernels.<module>.<name>`` on its first call.

    numba loads only when a compiled graph runs the op; without numba the NumPy ``fallback`` runs.
    """
    box = []

    def lower(*args, **params):
        if not box:
            try:
                box.append(getattr(importlib.import_module(f"fnflow.backends.cpu.kernels.{module}"), name))
            except ImportError:
                box.append(fallback)
        return box[0](*args, **params)

    return lower


conv_general_dilated_p.lowerings["cpu"] = lazy_kernel("conv", "conv_cpu", _conv_impl)


# --------------------------------------------------------------- abstract


@conv_general_dilated_p.def_abstract_eval
def _conv_abstract(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, feature_group_count):
    op = "conv_general_dilated"
    if lhs.ndim < 3:
        raise ValueError(f"{op}: the input must be (N, *spatial, C_in) with at least one spatial axis, got shape "
                         f"{lhs.shape}")
    if rhs.ndim != lhs.ndim:
        raise ValueError(f"{op}: the kernel (*kernel_spatial, C_in/groups, C_out) must have the input's rank "
                         f"{lhs.ndim}, got kernel shape {rhs.shape} for input shape {lhs.shape}")
    if lhs.dtype != rhs.dtype:
        raise TypeError(f"{op}: input and kernel must have the same dtype, got {lhs.str_short()} and "
                        f"{rhs.str_short()}")
    nsp = lhs.ndim - 2
    for name, v in (("window_strides", window_strides), ("lhs_dilation", lhs_dilation),
                    ("rhs_dilation", rhs_dilation), ("padding", padding)):
        if len(v) != nsp:
            raise ValueError(f"{op}: {name} {v} must have one entry per spatial axis ({nsp}) of input shape "
                             f"{lhs.shape}")
    for name, v in (("window_strides", window_strides), ("lhs_dilation", lhs_dilation),
                    ("rhs_dilation", rhs_dilation)):
        if any(int(s) < 1 for s in v):
            raise ValueError(f"{op}: {name} must be positive integers, got {v}")
    g = feature_group_count
    if g < 1:
        raise ValueError(f"{op}: feature_group_count must be >= 1, got {g}")
    cin, cgi, cout = lhs.shape[-1], rhs.shape[-2], rhs.shape[-1]
    if cin != cgi * g:
        grp = f" with feature_group_count={g}" if g > 1 else ""
        raise ValueError(f"{op}: input has {cin} channels but the kernel expects {cgi * g} (kernel in-channels "
                         f"{cgi}{grp}): input shape {lhs.shape}, kernel shape {rhs.shape}")
    if cout % g:
        raise ValueError(f"{op}: the kernel's {cout} output channels are not divisible by feature_group_count={g} "
                         f"(kernel shape {rhs.shape})")
    if any(k < 1 for k in rhs.shape[:nsp]):
        raise ValueError(f"{op}: empty kernel window {rhs.shape[:nsp]} (kernel shape {rhs.shape})")
    out_sp = tuple(out_size(lhs.shape[1 + i], *padding[i], rhs.shape[i], window_strides[i], lhs_dilation[i],
                            rhs_dilation[i]) for i in range(nsp))
    if any(o <= 0 for o in out_sp):
        raise ValueError(f"{op}: the output would have spatial size {out_sp} <= 0: input shape {lhs.shape}, kernel "
                         f"shape {rhs.shape}, strides {window_strides}, padding {padding}, lhs_dilation "
                         f"{lhs_dilation}, rhs_dilation {rhs_dilation} (the dilated kernel is larger than the "
                         f"padded input)")
    return ShapedArray((lhs.shape[0],) + out_sp + (cout,), lhs.dtype)


# ------------------------------------------------------------ derivatives


def _spatial(nd):
    return tuple(range(1, nd - 1))


def _conv_lhs_t(ct, rhs, lhs_aval, window_strides, padding, lhs_dilation, rhs_dilation, feature_group_count):
    nsp = lhs_aval.ndim - 2
    g = feature_group_count
    k_sp = get_aval(rhs).shape[:nsp]
    cgi, cout = get_aval(rhs).shape[-2:]
    cgo = cout // g
    pads = []
    for i in range(nsp):
        ke = (k_sp[i] - 1) * rhs_dilation[i] + 1
        lo, hi = padding[i]
        d = (lhs_aval.shape[1 + i] - 1) * lhs_dilation[i] + 1
        r = (lo + d + hi - ke) % window_strides[i]
        pads.append((ke - 1 - lo, ke - 1 - hi + r))
    # flip the window, swap in/out channels inside each group: (*K, cgi, G*cgo) -> (*K, cgo, G*cgi)
    w = rev(rhs, tuple(range(nsp)))
    w = reshape(w, k_sp + (cgi, g, cgo))
    w = transpose(w, tuple(range(nsp)) + (nsp + 2, nsp + 1, nsp))
    w = reshape(w, k_sp + (cgo, g * cgi))
    return conv_general_dilated(ct, w, lhs_dilation, tuple(pads), lhs_dilation=window_strides,
                                rhs_dilation=rhs_dilation, feature_group_count=g)


def _conv_rhs_t(ct, lhs, rhs_aval, window_strides, padding, lhs_dilation, rhs_dilation, feature_group_count):
    nsp = rhs_aval.ndim - 2
    g = feature_group_count
    la = get_aval(lhs)
    n, s_sp = la.shape[0], la.shape[1:-1]
    k_sp, cgi = rhs_aval.shape[:nsp], rhs_aval.shape[-2]
    sp = tuple(range(1, nsp + 1))
    # input as (cgi, *S, G*N): its channels within a group become the batch, (group, example) the features
    x = reshape(lhs, (n,) + s_sp + (g, cgi))
    x = transpose(x, (nsp + 2,) + sp + (nsp + 1, 0))
    x = reshape(x, (cgi,) + s_sp + (g * n,))
    # cotangent as the kernel (*O, N, C_out)
    k = transpose(ct, sp + (0, nsp + 1))
    pads = []
    for i in range(nsp):
        ke = (k_sp[i] - 1) * rhs_dilation[i] + 1
        lo, hi = padding[i]
        d = (s_sp[i] - 1) * lhs_dilation[i] + 1
        r = (lo + d + hi - ke) % window_strides[i]
        pads.append((lo, hi - r))
    out = conv_general_dilated(x, k, rhs_dilation, tuple(pads), lhs_dilation=lhs_dilation,
                               rhs_dilation=window_strides, feature_group_count=g)  # (cgi, *K, C_out)
    return transpose(out, sp + (0, nsp + 1))


defbilinear(conv_general_dilated_p, _conv_lhs_t, _conv_rhs_t)


# ---------------------------------------------------------------- batching


def _conv_batch(args, dims, **params):
    lhs, rhs = args
    dl, dr = dims
    g = params["feature_group_count"]
    if dr is None:  # fold the vmapped axis into the batch axis
        lhs = moveaxis(lhs, dl, 0)
        b, n = get_aval(lhs).shape[:2]
        out = bind(conv_general_dilated_p, reshape(lhs, (b * n,) + get_aval(lhs).shape[2:]), rhs, **params)
        return reshape(out, (b, n) + get_aval(out).shape[1:]), 0
    rhs = moveaxis(rhs, dr, 0)
    b = get_aval(rhs).shape[0]
    k_sp, (cgi, cout) = get_aval(rhs).shape[1:-2], get_aval(rhs).shape[-2:]
    nsp = len(k_sp)
    cgo = cout // g
    if dl is None:  # a batch of kernels: fold into the output channels, group by group
        w = moveaxis(rhs, 0, nsp + 1)  # (*K, cgi, B, C_out)
        w = reshape(w, k_sp + (cgi, b, g, cgo))
        w = transpose(w, tuple(range(nsp)) + (nsp, nsp + 2, nsp + 1, nsp + 3))  # (*K, cgi, G, B, cgo)
        w = reshape(w, k_sp + (cgi, g * b * cgo))
        out = bind(conv_general_dilated_p, lhs, w, **params)  # (N, *O, G*B*cgo)
        oa = get_aval(out)
        out = reshape(out, oa.shape[:-1] + (g, b, cgo))
        out = transpose(out, (nsp + 2,) + tuple(range(nsp + 1)) + (nsp + 1, nsp + 3))  # (B, N, *O, G, cgo)
        return reshape(out, (b,) + oa.shape[:-1] + (cout,)), 0
    # both batched: every example is its own set of groups
    lhs = moveaxis(lhs, dl, 0)  # (B, N, *S, C_in)
    la = get_aval(lhs)
    x = moveaxis(lhs, 0, la.ndim - 2)  # (N, *S, B, C_in)
    x = reshape(x, la.shape[1:-1] + (b * la.shape[-1],))
    w = moveaxis(rhs, 0, nsp + 1)  # (*K, cgi, B, C_out)
    w = reshape(w, k_sp + (cgi, b * cout))
    out = bind(conv_general_dilated_p, x, w, **dict(params, feature_group_count=b * g))
    oa = get_aval(out)
    out = reshape(out, oa.shape[:-1] + (b, cout))
    return moveaxis(out, oa.ndim - 1, 0), 0


conv_general_dilated_p.def_batch(_conv_batch)


# ------------------------------------------------------------------ wrapper


def conv_general_dilated(lhs, rhs, window_strides=None, padding="VALID", lhs_dilation=None, rhs_dilation=None,
                         feature_group_count=1):
    """N-d convolution, channels last: ``lhs (N, *S, C_in)``, ``rhs (*K, C_in/groups, C_out)``.

    ``window_strides``, ``lhs_dilation``, ``rhs_dilation``: an int or one per
    spatial axis (default 1). ``padding``: "VALID", "SAME" (Keras/TF rule:
    output ``ceil(in/stride)``, the odd pixel of padding at the end) or
    explicit ``(lo, hi)`` pairs. See the module docstring.
    """
    lhs, rhs = promote(lhs, rhs)
    la, ra = get_aval(lhs), get_aval(rhs)
    op = "conv_general_dilated"
    if la.ndim < 3:
        raise ValueError(f"{op}: the input must be (N, *spatial, C_in) with at least one spatial axis, got shape "
                         f"{la.shape}")
    nsp = la.ndim - 2
    strides = as_tuple(1 if window_strides is None else window_strides, nsp, "window_strides", op)
    ld = as_tuple(1 if lhs_dilation is None else lhs_dilation, nsp, "lhs_dilation", op)
    rd = as_tuple(1 if rhs_dilation is None else rhs_dilation, nsp, "rhs_dilation", op)
    if ra.ndim != la.ndim:
        raise ValueError(f"{op}: the kernel (*kernel_spatial, C_in/groups, C_out) must have the input's rank "
                         f"{la.ndim}, got kernel shape {ra.shape} for input shape {la.shape}")
    in_d = tuple((s - 1) * d + 1 if s else 0 for s, d in zip(la.shape[1:-1], ld))
    pads = padding_pairs(padding, in_d, ra.shape[:nsp], strides, rd, op)
    params = dict(window_strides=strides, padding=pads, lhs_dilation=ld, rhs_dilation=rd,
                  feature_group_count=int(feature_group_count))
    _conv_abstract(la, ra, **params)  # eager calls skip abstract_eval: check the shapes here too
    return bind(conv_general_dilated_p, lhs, rhs, **params)


__all__ = ["conv_general_dilated", "conv_general_dilated_p", "padding_pairs", "same_padding", "out_size",
           "window_view", "pad_np", "dilate_np", "as_tuple"]
