"""Pure convolution and pooling functions with Keras's arguments, layouts and padding rules.

Inputs are channels-last ``(N, *spatial, C)`` by default; ``data_format=
"channels_first"`` accepts ``(N, C, *spatial)`` (the input is transposed to
channels-last and the result back). Kernels always have Keras's layouts:

* ``conv1d/2d/3d``: ``(*k, C_in // groups, C_out)`` (Conv2D: ``(kh, kw, in, out)``);
* ``depthwise_conv2d``: ``(kh, kw, C_in, depth_multiplier)``;
* ``conv_transpose1d/2d``: ``(*k, C_out, C_in)`` (Conv2DTranspose: ``(kh, kw, out, in)``).

``padding`` is "valid" or "same" (Keras/TF rule: output ``ceil(in / stride)``,
the odd pixel of padding at the end; ``conv1d`` also takes "causal"). Average
pooling with "same" padding divides by the number of real (non-padded)
elements in each window, as Keras does; max pooling ignores the padding.
"""

from __future__ import annotations

import math

import numpy as np

import fnflow.numpy as fnp
from fnflow.core.abstract import get_aval, is_float
from fnflow.ops._util import asvalue
from fnflow.ops.conv import as_tuple, conv_general_dilated, padding_pairs
from fnflow.ops.pool import _rws_impl, reduce_window_max, reduce_window_sum

__all__ = ["conv", "conv1d", "conv2d", "conv3d", "depthwise_conv2d", "conv_transpose", "conv_transpose1d",
           "conv_transpose2d", "max_pool", "max_pool1d", "max_pool2d", "avg_pool", "avg_pool1d", "avg_pool2d",
           "global_avg_pool", "global_max_pool", "upsample_nearest2d"]


# ------------------------------------------------------------------ layouts


def _check_format(data_format, op):
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{op}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")


def _to_last(x, data_format):
    if data_format == "channels_first":
        nd = get_aval(x).ndim
        return fnp.transpose(x, (0,) + tuple(range(2, nd)) + (1,))
    return x


def _from_last(x, data_format):
    if data_format == "channels_first":
        nd = get_aval(x).ndim
        return fnp.transpose(x, (0, nd - 1) + tuple(range(1, nd - 1)))
    return x


def _input(x, rank, data_format, op):
    _check_format(data_format, op)
    x = asvalue(x)
    if not is_float(get_aval(x).dtype):
        x = fnp.asarray(x, fnp.float32)
    if get_aval(x).ndim != rank + 2:
        layout = "(N, " + ", ".join(["spatial"] * rank) + ", C)" if data_format == "channels_last" else \
            "(N, C, " + ", ".join(["spatial"] * rank) + ")"
        raise ValueError(f"{op}: expected a {rank + 2}-d input {layout}, got shape {get_aval(x).shape}")
    return _to_last(x, data_format)


def _padding(padding, op, allow_causal=False):
    p = padding.lower() if isinstance(padding, str) else padding
    ok = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    if p not in ok:
        raise ValueError(f"{op}: padding must be one of {', '.join(repr(o) for o in ok)}, got {padding!r}")
    return p


def _add_bias(y, bias):
    if bias is None:
        return y
    return fnp.add(y, fnp.asarray(bias, get_aval(y).dtype))


# ------------------------------------------------------------- convolutions


def conv(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1, groups=1,
         data_format="channels_last"):
    """N-d convolution (rank from the kernel), Keras's ``Conv1D/2D/3D`` forward pass.

    ``kernel`` is ``(*k, C_in // groups, C_out)``; ``bias`` ``(C_out,)`` or None.
    """
    kernel = asvalue(kernel)
    rank = get_aval(kernel).ndim - 2
    if rank < 1:
        raise ValueError(f"conv: the kernel must be (*kernel_size, C_in // groups, C_out), got shape "
                         f"{get_aval(kernel).shape}")
    return _conv(x, kernel, bias, strides, padding, dilation_rate, groups, data_format, rank, "conv")


def _conv(x, kernel, bias, strides, padding, dilation_rate, groups, data_format, rank, op):
    x = _input(x, rank, data_format, op)
    kernel = fnp.asarray(kernel, get_aval(x).dtype)
    ka = get_aval(kernel)
    if ka.ndim != rank + 2:
        raise ValueError(f"{op}: the kernel must be {rank + 2}-d (*kernel_size, C_in // groups, C_out), got shape "
                         f"{ka.shape}")
    strides = as_tuple(strides, rank, "strides", op)
    dil = as_tuple(dilation_rate, rank, "dilation_rate", op)
    p = _padding(padding, op, allow_causal=rank == 1)
    if p == "causal":  # left padding only: output t sees inputs <= t
        pads = (((ka.shape[0] - 1) * dil[0], 0),)
    else:
        pads = padding_pairs(p, get_aval(x).shape[1:-1], ka.shape[:rank], strides, dil, op)
    y = conv_general_dilated(x, kernel, strides, pads, rhs_dilation=dil, feature_group_count=groups)
    return _from_last(_add_bias(y, bias), data_format)


def conv1d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1, groups=1,
           data_format="channels_last"):
    """1-d convolution: ``x (N, L, C_in)``, ``kernel (k, C_in // groups, C_out)``; padding may be "causal"."""
    return _conv(x, kernel, bias, strides, padding, dilation_rate, groups, data_format, 1, "conv1d")


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1, groups=1,
           data_format="channels_last"):
    """2-d convolution: ``x (N, H, W, C_in)``, ``kernel (kh, kw, C_in // groups, C_out)`` (Keras's Conv2D)."""
    return _conv(x, kernel, bias, strides, padding, dilation_rate, groups, data_format, 2, "conv2d")


def conv3d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1, groups=1,
           data_format="channels_last"):
    """3-d convolution: ``x (N, D, H, W, C_in)``, ``kernel (kd, kh, kw, C_in // groups, C_out)``."""
    return _conv(x, kernel, bias, strides, padding, dilation_rate, groups, data_format, 3, "conv3d")


def depthwise_conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1,
                     data_format="channels_last"):
    """Keras's DepthwiseConv2D: ``kernel (kh, kw, C_in, depth_multiplier)``, output channel ``c * mult + m``."""
    op = "depthwise_conv2d"
    kernel = asvalue(kernel)
    ka = get_aval(kernel)
    if ka.ndim != 4:
        raise ValueError(f"{op}: the kernel must be (kh, kw, C_in, depth_multiplier), got shape {ka.shape}")
    kh, kw, cin, mult = ka.shape
    k = fnp.reshape(kernel, (kh, kw, 1, cin * mult))
    return _conv(x, k, bias, strides, padding, dilation_rate, cin, data_format, 2, op)


def _transpose_pads(k, stride, dilation, padding, output_padding):
    """Keras's (lo, hi) padding of the stride-dilated input for a transposed convolution along one axis."""
    ke = (k - 1) * dilation + 1
    if padding == "valid":
        extra = max(ke, stride) - ke if output_padding is None else output_padding
        return ke - 1, ke - 1 + extra
    total = stride + ke - 2 if output_padding is None else ke + ke % 2 - 2 + output_padding
    lo = min(total // 2 + total % 2, ke - 1)
    return lo, total - lo


def conv_transpose(x, kernel, bias=None, strides=1, padding="valid", output_padding=None, dilation_rate=1,
                   data_format="channels_last"):
    """N-d transposed convolution, Keras's ``Conv1DTranspose/2DTranspose`` (kernel ``(*k, C_out, C_in)``).

    The gradient of a convolution with ``kernel`` with respect to its input.
    Output length per axis: "valid": ``(in - 1) * s + max(k_eff, s)``; "same":
    ``in * s``; with ``output_padding`` p: ``(in - 1) * s + k_eff - 2 * pad + p``
    (``k_eff = (k - 1) * dilation + 1``).
    """
    kernel = asvalue(kernel)
    rank = get_aval(kernel).ndim - 2
    return _conv_transpose(x, kernel, bias, strides, padding, output_padding, dilation_rate, data_format, rank,
                           "conv_transpose")


def _conv_transpose(x, kernel, bias, strides, padding, output_padding, dilation_rate, data_format, rank, op):
    x = _input(x, rank, data_format, op)
    kernel = fnp.asarray(kernel, get_aval(x).dtype)
    ka = get_aval(kernel)
    if ka.ndim != rank + 2:
        raise ValueError(f"{op}: the kernel must be {rank + 2}-d (*kernel_size, C_out, C_in), got shape {ka.shape}")
    if ka.shape[-1] != get_aval(x).shape[-1]:
        raise ValueError(f"{op}: input has {get_aval(x).shape[-1]} channels but the kernel (*kernel_size, C_out, "
                         f"C_in) expects {ka.shape[-1]}: input shape {get_aval(x).shape}, kernel shape {ka.shape}")
    strides = as_tuple(strides, rank, "strides", op)
    dil = as_tuple(dilation_rate, rank, "dilation_rate", op)
    outp = (None,) * rank if output_padding is None else as_tuple(output_padding, rank, "output_padding", op)
    p = _padding(padding, op)
    pads = tuple(_transpose_pads(k, s, d, p, o) for k, s, d, o in zip(ka.shape[:rank], strides, dil, outp))
    # a forward convolution of the stride-dilated input with the flipped kernel, channels swapped
    w = fnp.flip(kernel, tuple(range(rank)))
    w = fnp.swapaxes(w, rank, rank + 1)
    y = conv_general_dilated(x, w, 1, pads, lhs_dilation=strides, rhs_dilation=dil)
    return _from_last(_add_bias(y, bias), data_format)


def conv_transpose1d(x, kernel, bias=None, strides=1, padding="valid", output_padding=None, dilation_rate=1,
                     data_format="channels_last"):
    """Keras's Conv1DTranspose: ``x (N, L, C_in)``, ``kernel (k, C_out, C_in)``."""
    return _conv_transpose(x, kernel, bias, strides, padding, output_padding, dilation_rate, data_format, 1,
                           "conv_transpose1d")


def conv_transpose2d(x, kernel, bias=None, strides=1, padding="valid", output_padding=None, dilation_rate=1,
                     data_format="channels_last"):
    """Keras's Conv2DTranspose: ``x (N, H, W, C_in)``, ``kernel (kh, kw, C_out, C_in)``."""
    return _conv_transpose(x, kernel, bias, strides, padding, output_padding, dilation_rate, data_format, 2,
                           "conv_transpose2d")


# ------------------------------------------------------------------ pooling


def _pool_args(x, rank, pool_size, strides, padding, data_format, op):
    x = _input(x, rank, data_format, op)
    pool = as_tuple(pool_size, rank, "pool_size", op)
    strides = pool if strides is None else as_tuple(strides, rank, "strides", op)
    p = _padding(padding, op)
    pads = padding_pairs(p, get_aval(x).shape[1:-1], pool, strides, op=op)
    return x, (1,) + pool + (1,), (1,) + strides + (1,), ((0, 0),) + pads + ((0, 0),)


def max_pool(x, pool_size, strides=None, padding="valid", data_format="channels_last"):
    """N-d max pooling (rank from ``x``); ``strides`` default to ``pool_size`` (Keras's MaxPooling)."""
    rank = get_aval(asvalue(x)).ndim - 2
    return _max_pool(x, rank, pool_size, strides, padding, data_format, "max_pool")


def _max_pool(x, rank, pool_size, strides, padding, data_format, op):
    x, window, st, pads = _pool_args(x, rank, pool_size, strides, padding, data_format, op)
    return _from_last(reduce_window_max(x, window, st, pads), data_format)


def max_pool1d(x, pool_size=2, strides=None, padding="valid", data_format="channels_last"):
    """Keras's MaxPooling1D on ``(N, L, C)``."""
    return _max_pool(x, 1, pool_size, strides, padding, data_format, "max_pool1d")


def max_pool2d(x, pool_size=2, strides=None, padding="valid", data_format="channels_last"):
    """Keras's MaxPooling2D on ``(N, H, W, C)``."""
    return _max_pool(x, 2, pool_size, strides, padding, data_format, "max_pool2d")


def avg_pool(x, pool_size, strides=None, padding="valid", data_format="channels_last"):
    """N-d average pooling; with "same" padding each window averages its real elements only (Keras)."""
    rank = get_aval(asvalue(x)).ndim - 2
    return _avg_pool(x, rank, pool_size, strides, padding, data_format, "avg_pool")


def _avg_pool(x, rank, pool_size, strides, padding, data_format, op):
    x, window, st, pads = _pool_args(x, rank, pool_size, strides, padding, data_format, op)
    dt = get_aval(x).dtype
    total = reduce_window_sum(x, window, st, pads)
    if all(lo == 0 and hi == 0 for lo, hi in pads):
        y = fnp.divide(total, np.asarray(math.prod(window), dt))
    else:  # count the real elements of every window (a constant: shapes are static)
        ones = np.ones((1,) + get_aval(x).shape[1:-1] + (1,), dt)
        counts = _rws_impl(ones, window, st, pads, (1,) * len(window))
        y = fnp.divide(total, counts)
    return _from_last(y, data_format)


def avg_pool1d(x, pool_size=2, strides=None, padding="valid", data_format="channels_last"):
    """Keras's AveragePooling1D on ``(N, L, C)``."""
    return _avg_pool(x, 1, pool_size, strides, padding, data_format, "avg_pool1d")


def avg_pool2d(x, pool_size=2, strides=None, padding="valid", data_format="channels_last"):
    """Keras's AveragePooling2D on ``(N, H, W, C)``."""
    return _avg_pool(x, 2, pool_size, strides, padding, data_format, "avg_pool2d")


def _global_axes(x, axes, data_format, op):
    _check_format(data_format, op)
    nd = get_aval(x).ndim
    if axes is not None:
        return axes
    if nd < 3:
        raise ValueError(f"{op}: expected an input (N, *spatial, C) with at least one spatial axis, got shape "
                         f"{get_aval(x).shape}")
    return tuple(range(1, nd - 1)) if data_format == "channels_last" else tuple(range(2, nd))


def global_avg_pool(x, axes=None, keepdims=False, data_format="channels_last"):
    """Mean over ``axes`` (default: every spatial axis), Keras's GlobalAveragePooling."""
    x = asvalue(x)
    return fnp.mean(x, axis=_global_axes(x, axes, data_format, "global_avg_pool"), keepdims=keepdims)


def global_max_pool(x, axes=None, keepdims=False, data_format="channels_last"):
    """Maximum over ``axes`` (default: every spatial axis), Keras's GlobalMaxPooling."""
    x = asvalue(x)
    return fnp.max(x, axis=_global_axes(x, axes, data_format, "global_max_pool"), keepdims=keepdims)


def upsample_nearest2d(x, size=2, data_format="channels_last"):
    """Keras's UpSampling2D (nearest): every pixel repeated ``size = (sh, sw)`` times."""
    op = "upsample_nearest2d"
    _check_format(data_format, op)
    x = _to_last(asvalue(x), data_format) if get_aval(asvalue(x)).ndim == 4 else asvalue(x)
    xa = get_aval(x)
    if xa.ndim != 4:
        raise ValueError(f"{op}: expected a 4-d input, got shape {xa.shape}")
    sh, sw = as_tuple(size, 2, "size", op)
    n, h, w, c = xa.shape
    y = fnp.broadcast_to(fnp.reshape(x, (n, h, 1, w, 1, c)), (n, h, sh, w, sw, c))
    return _from_last(fnp.reshape(y, (n, h * sh, w * sw, c)), data_format)
