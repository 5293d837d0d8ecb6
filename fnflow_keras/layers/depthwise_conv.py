"""Depthwise and separable convolutions: DepthwiseConv1D/2D, SeparableConv1D/2D.

A depthwise convolution filters each input channel on its own with
``depth_multiplier`` kernels (kernel ``(*kernel_size, in_channels,
depth_multiplier)``, output channel ``c * depth_multiplier + m`` as in Keras);
it is a grouped convolution with one group per input channel. A separable
convolution follows it with a 1x1 ("pointwise") convolution mixing the channels.
"""

from __future__ import annotations

import fnflow.nn.functional as F
import fnflow.numpy as fnp
from fnflow_keras import activations, backend, constraints, initializers, regularizers
from fnflow_keras.layers.conv import _out_len, _tuple
from fnflow_keras.layers.layer import Layer
from fnflow_keras.utils.serialization_lib import serialize_keras_object


def _depthwise(x, kernel, strides, padding, dilation_rate, data_format):
    """Keras's depthwise convolution as a grouped convolution: kernel ``(*k, C, M)`` -> ``(*k, 1, C * M)``."""
    shape = tuple(kernel.shape)
    k = fnp.reshape(kernel, shape[:-2] + (1, shape[-2] * shape[-1]))
    return F.conv(x, k, strides=strides, padding=padding, dilation_rate=dilation_rate, groups=shape[-2],
                  data_format=data_format)


class _DepthwiseBase(Layer):
    rank = 2

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        r, name = self.rank, type(self).__name__
        self.depth_multiplier = int(depth_multiplier)
        if self.depth_multiplier <= 0:
            raise ValueError(f"Invalid value for argument `depth_multiplier`. Expected a strictly positive value. "
                             f"Received depth_multiplier={depth_multiplier}.")
        self.kernel_size = _tuple(kernel_size, r, "kernel_size")
        self.strides = _tuple(strides, r, "strides")
        self.dilation_rate = _tuple(dilation_rate, r, "dilation_rate")
        if not all(self.kernel_size) or not all(self.strides):
            raise ValueError(f"{name}: `kernel_size` and `strides` cannot contain 0. Received "
                             f"kernel_size={self.kernel_size}, strides={self.strides}.")
        self.padding = str(padding).lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(f"Invalid padding {padding!r} for {name}: expected 'valid' or 'same'")
        self.data_format = backend.standardize_data_format(data_format)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _channels(self, input_shape):
        return input_shape[-1] if self.data_format == "channels_last" else input_shape[1]

    def _depthwise_weight(self, input_shape, name):
        cin = self._channels(input_shape)
        if cin is None:
            raise ValueError(f"{type(self).__name__} {self.name!r}: the channel dimension of the inputs must be "
                             f"known, got shape {input_shape}")
        return self.add_weight(name=name, shape=self.kernel_size + (cin, self.depth_multiplier),
                               initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
                               constraint=self.depthwise_constraint)

    def _bias(self, units):
        return (self.add_weight(name="bias", shape=(units,), initializer=self.bias_initializer,
                                regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                if self.use_bias else None)

    def _add_bias(self, y):
        if self.bias is None:
            return y
        if self.data_format == "channels_last":
            return y + self.bias.value
        return y + fnp.reshape(self.bias.value, (1, -1) + (1,) * self.rank)

    def _output_shape(self, input_shape, channels):
        sp = input_shape[1:-1] if self.data_format == "channels_last" else input_shape[2:]
        out = tuple(_out_len(n, k, s, self.padding, d)
                    for n, k, s, d in zip(sp, self.kernel_size, self.strides, self.dilation_rate))
        if self.data_format == "channels_last":
            return (input_shape[0],) + out + (channels,)
        return (input_shape[0], channels) + out

    def get_config(self):
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier,
                "kernel_size": list(self.kernel_size), "strides": list(self.strides), "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": list(self.dilation_rate),
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "depthwise_initializer": serialize_keras_object(self.depthwise_initializer),
                "bias_initializer": serialize_keras_object(self.bias_initializer),
                "depthwise_regularizer": serialize_keras_object(self.depthwise_regularizer),
                "bias_regularizer": serialize_keras_object(self.bias_regularizer),
                "activity_regularizer": serialize_keras_object(self.activity_regularizer),
                "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint)}


class DepthwiseConv2D(_DepthwiseBase):
    """Depthwise 2-D convolution: kernel ``(kh, kw, in_channels, depth_multiplier)``, bias ``(in * mult,)``."""

    rank = 2

    def build(self, input_shape):
        self.kernel = self._depthwise_weight(input_shape, "kernel")
        self.bias = self._bias(self._channels(input_shape) * self.depth_multiplier)
        self.built = True

    def call(self, inputs):
        y = _depthwise(inputs, self.kernel.value, self.strides, self.padding, self.dilation_rate, self.data_format)
        return self.activation(self._add_bias(y))

    def compute_output_shape(self, input_shape):
        return self._output_shape(input_shape, self._channels(input_shape) * self.depth_multiplier)


class DepthwiseConv1D(DepthwiseConv2D):
    """Depthwise 1-D convolution: kernel ``(k, in_channels, depth_multiplier)``."""

    rank = 1


class SeparableConv2D(_DepthwiseBase):
    """Depthwise 2-D convolution then a 1x1 convolution to ``filters`` channels.

    Weights: ``depthwise_kernel (kh, kw, in, mult)``, ``pointwise_kernel (1, 1, in * mult, filters)``,
    ``bias (filters,)``.
    """

    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides=strides, padding=padding, depth_multiplier=depth_multiplier,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer, depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint, **kwargs)
        self.filters = int(filters)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def build(self, input_shape):
        self.depthwise_kernel = self._depthwise_weight(input_shape, "depthwise_kernel")
        mid = self._channels(input_shape) * self.depth_multiplier
        self.pointwise_kernel = self.add_weight(name="pointwise_kernel", shape=(1,) * self.rank + (mid, self.filters),
                                                initializer=self.pointwise_initializer,
                                                regularizer=self.pointwise_regularizer,
                                                constraint=self.pointwise_constraint)
        self.bias = self._bias(self.filters)
        self.built = True

    def call(self, inputs):
        y = _depthwise(inputs, self.depthwise_kernel.value, self.strides, self.padding, self.dilation_rate,
                       self.data_format)
        y = F.conv(y, self.pointwise_kernel.value, data_format=self.data_format)
        return self.activation(self._add_bias(y))

    def compute_output_shape(self, input_shape):
        return self._output_shape(input_shape, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "pointwise_initializer": serialize_keras_object(self.pointwise_initializer),
                "pointwise_regularizer": serialize_keras_object(self.pointwise_regularizer),
                "pointwise_constraint": constraints.serialize(self.pointwise_constraint)}


class SeparableConv1D(SeparableConv2D):
    """Depthwise 1-D convolution then a pointwise one: ``pointwise_kernel (1, in * mult, filters)``."""

    rank = 1


SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D

__all__ = ["DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D", "SeparableConvolution1D",
           "SeparableConvolution2D"]
