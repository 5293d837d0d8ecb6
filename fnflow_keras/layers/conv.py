"""Convolutions: Conv1D/2D/3D, Conv1DTranspose/Conv2DTranspose (over ``fnflow.ops.conv``, ``fnflow.nn.functional``)."""

from __future__ import annotations

import fnflow.nn.functional as F
import fnflow.numpy as fnp
from fnflow.ops.conv import conv_general_dilated
from fnflow_keras import activations, backend, constraints, initializers, regularizers
from fnflow_keras.layers.layer import Layer, check_no_quantization
from fnflow_keras.utils.serialization_lib import serialize_keras_object


def _tuple(v, n, name):
    if isinstance(v, int):
        return (v,) * n
    v = tuple(int(e) for e in v)
    if len(v) != n:
        raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. Received: {v}")
    return v


def _out_len(n, k, stride, padding, dilation=1):
    if n is None:
        return None
    keff = (k - 1) * dilation + 1
    if padding == "same":
        return -(-n // stride)
    return (n - keff) // stride + 1 if n >= keff else 0


class BaseConv(Layer):
    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, quantization_config=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        check_no_quantization(type(self).__name__, quantization_config)
        r = self.rank
        self.filters = int(filters)
        self.kernel_size = _tuple(kernel_size, r, "kernel_size")
        self.strides = _tuple(strides, r, "strides")
        self.padding = padding.lower()
        if self.padding not in ("valid", "same", "causal") or (self.padding == "causal" and r != 1):
            raise ValueError(f"Invalid padding {padding!r} for {type(self).__name__}")
        self.data_format = backend.standardize_data_format(data_format)
        self.dilation_rate = _tuple(dilation_rate, r, "dilation_rate")
        self.groups = int(groups)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _channels(self, input_shape):
        return input_shape[-1] if self.data_format == "channels_last" else input_shape[1]

    def build(self, input_shape):
        cin = self._channels(input_shape)
        if cin % self.groups:
            raise ValueError(f"The number of input channels must be evenly divisible by the number of groups. "
                             f"Received groups={self.groups}, but the input has {cin} channels")
        self.kernel = self.add_weight(name="kernel", shape=self.kernel_size + (cin // self.groups, self.filters),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = (self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer,
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)
        self.built = True

    def call(self, inputs):
        x = inputs
        if self.data_format == "channels_first":
            x = fnp.moveaxis(x, 1, -1)
        padding = self.padding.upper()
        if self.padding == "causal":
            left = (self.kernel_size[0] - 1) * self.dilation_rate[0]
            x = fnp.pad(x, ((0, 0), (left, 0), (0, 0)))
            padding = "VALID"
        y = conv_general_dilated(x, self.kernel.value, self.strides, padding, rhs_dilation=self.dilation_rate,
                                 feature_group_count=self.groups)
        if self.bias is not None:
            y = y + self.bias.value
        y = self.activation(y)
        if self.data_format == "channels_first":
            y = fnp.moveaxis(y, -1, 1)
        return y

    def compute_output_shape(self, input_shape):
        sp = input_shape[1:-1] if self.data_format == "channels_last" else input_shape[2:]
        pad = "same" if self.padding == "causal" else self.padding
        out = tuple(_out_len(n, k, s, pad, d) if self.padding != "causal" else
                    (None if n is None else (n - 1) // s + 1)
                    for n, k, s, d in zip(sp, self.kernel_size, self.strides, self.dilation_rate))
        if self.data_format == "channels_last":
            return (input_shape[0],) + out + (self.filters,)
        return (input_shape[0], self.filters) + out

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": list(self.dilation_rate), "groups": self.groups,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": serialize_keras_object(self.kernel_initializer),
                "bias_initializer": serialize_keras_object(self.bias_initializer),
                "kernel_regularizer": serialize_keras_object(self.kernel_regularizer),
                "bias_regularizer": serialize_keras_object(self.bias_regularizer),
                "activity_regularizer": serialize_keras_object(self.activity_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint)}


class Conv1D(BaseConv):
    """1-D convolution: kernel ``(kernel_size, in_channels, filters)``; padding valid, same or causal."""

    rank = 1


class Conv2D(BaseConv):
    """2-D convolution: kernel ``(kh, kw, in_channels // groups, filters)``."""

    rank = 2


class Conv3D(BaseConv):
    """3-D convolution."""

    rank = 3


class BaseConvTranspose(BaseConv):
    """Transposed convolution (the gradient of a convolution): kernel ``(*kernel_size, filters, in_channels)``."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, **kwargs)
        if self.padding == "causal":
            raise ValueError(f"Invalid padding 'causal' for {type(self).__name__}")
        self.output_padding = (None if output_padding is None else
                               _tuple(output_padding, self.rank, "output_padding"))

    def build(self, input_shape):
        cin = self._channels(input_shape)
        self.kernel = self.add_weight(name="kernel", shape=self.kernel_size + (self.filters, cin),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = (self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer,
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)
        self.built = True

    def _out_len(self, n, k, s, d, op):
        keff = (k - 1) * d + 1
        if op is None:
            return (n - 1) * s + max(keff, s) if self.padding == "valid" else n * s
        pad = 0 if self.padding == "valid" else keff // 2
        return (n - 1) * s + keff - 2 * pad + op

    def call(self, inputs):
        bias = None if self.bias is None else self.bias.value
        y = F.conv_transpose(inputs, self.kernel.value, bias, strides=self.strides, padding=self.padding,
                             output_padding=self.output_padding, dilation_rate=self.dilation_rate,
                             data_format=self.data_format)
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        sp = input_shape[1:-1] if self.data_format == "channels_last" else input_shape[2:]
        ops = self.output_padding or (None,) * self.rank
        out = tuple(None if n is None else self._out_len(n, k, s, d, op)
                    for n, k, s, d, op in zip(sp, self.kernel_size, self.strides, self.dilation_rate, ops))
        if self.data_format == "channels_last":
            return (input_shape[0],) + out + (self.filters,)
        return (input_shape[0], self.filters) + out

    def get_config(self):
        config = super().get_config()
        config.pop("groups", None)
        config["output_padding"] = None if self.output_padding is None else list(self.output_padding)
        return config


class Conv1DTranspose(BaseConvTranspose):
    """Transposed 1-D convolution: kernel ``(kernel_size, filters, in_channels)``."""

    rank = 1


class Conv2DTranspose(BaseConvTranspose):
    """Transposed 2-D convolution: kernel ``(kh, kw, filters, in_channels)`` (the gradient of Conv2D)."""

    rank = 2


Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution1DTranspose, Convolution2DTranspose = Conv1DTranspose, Conv2DTranspose

__all__ = ["Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Convolution1D", "Convolution2D",
           "Convolution3D", "Convolution1DTranspose", "Convolution2DTranspose"]
