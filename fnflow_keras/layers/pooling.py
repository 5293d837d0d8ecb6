"""Pooling (channels last): Max/Average Pooling 1D/2D and their global versions."""

from __future__ import annotations

import fnflow.numpy as fnp
from fnflow.ops.pool import reduce_window_max, reduce_window_sum
from fnflow_keras import backend
from fnflow_keras.layers.conv import _out_len, _tuple
from fnflow_keras.layers.layer import Layer


class BasePooling(Layer):
    rank = 2
    mode = "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.pool_size = _tuple(pool_size, self.rank, "pool_size")
        self.strides = self.pool_size if strides is None else _tuple(strides, self.rank, "strides")
        self.padding = padding.lower()
        self.data_format = backend.standardize_data_format(data_format)
        self.built = True

    def call(self, inputs):
        x = inputs
        if self.data_format == "channels_first":
            x = fnp.moveaxis(x, 1, -1)
        window = (1,) + self.pool_size + (1,)
        strides = (1,) + self.strides + (1,)
        pad = self.padding.upper()
        if self.mode == "max":
            y = reduce_window_max(x, window, strides, pad)
        else:
            s = reduce_window_sum(x, window, strides, pad)
            if self.padding == "valid":
                y = s / float(fnp.prod(fnp.asarray(self.pool_size)))
            else:  # the count excludes the padding (TensorFlow's rule)
                ones = fnp.ones((1,) + tuple(x.shape[1:-1]) + (1,), x.dtype)
                y = s / reduce_window_sum(ones, window, strides, pad)
        if self.data_format == "channels_first":
            y = fnp.moveaxis(y, -1, 1)
        return y

    def compute_output_shape(self, input_shape):
        sp = input_shape[1:-1] if self.data_format == "channels_last" else input_shape[2:]
        out = tuple(_out_len(n, k, s, self.padding) for n, k, s in zip(sp, self.pool_size, self.strides))
        if self.data_format == "channels_last":
            return (input_shape[0],) + out + (input_shape[-1],)
        return (input_shape[0], input_shape[1]) + out

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "padding": self.padding,
                "strides": list(self.strides), "data_format": self.data_format}


class MaxPooling1D(BasePooling):
    """Max over windows of ``pool_size`` steps."""

    rank, mode = 1, "max"


class MaxPooling2D(BasePooling):
    """Max over ``pool_size`` windows (default 2x2, strides = pool_size)."""

    rank, mode = 2, "max"


class AveragePooling1D(BasePooling):
    """Mean over windows of ``pool_size`` steps."""

    rank, mode = 1, "avg"


class AveragePooling2D(BasePooling):
    """Mean over ``pool_size`` windows (padding excluded from the mean with ``padding="same"``)."""

    rank, mode = 2, "avg"


class BaseGlobalPooling(Layer):
    rank = 2
    mode = "max"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = backend.standardize_data_format(data_format)
        self.keepdims = keepdims
        self.built = True

    def _axes(self):
        return tuple(range(1, self.rank + 1)) if self.data_format == "channels_last" else tuple(
            range(2, self.rank + 2))

    def call(self, inputs):
        f = fnp.max if self.mode == "max" else fnp.mean
        return f(inputs, axis=self._axes(), keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        axes = self._axes()
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in axes)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalMaxPooling1D(BaseGlobalPooling):
    rank, mode = 1, "max"


class GlobalMaxPooling2D(BaseGlobalPooling):
    rank, mode = 2, "max"


class GlobalAveragePooling1D(BaseGlobalPooling):
    """Mean over the steps; with a mask, the mean over the unmasked steps only (as Keras)."""

    rank, mode = 1, "avg"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format=data_format, keepdims=keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        steps = 1 if self.data_format == "channels_last" else 2
        m = fnp.expand_dims(fnp.asarray(mask).astype("bool"), 2 if self.data_format == "channels_last" else 1)
        x = fnp.where(m, inputs, 0)
        w = m.astype(inputs.dtype)
        return fnp.sum(x, axis=steps, keepdims=self.keepdims) / fnp.sum(w, axis=steps, keepdims=self.keepdims)

    def compute_mask(self, inputs, mask=None):
        return None


class GlobalAveragePooling2D(BaseGlobalPooling):
    rank, mode = 2, "avg"


MaxPool1D, MaxPool2D, AvgPool1D, AvgPool2D = MaxPooling1D, MaxPooling2D, AveragePooling1D, AveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D

__all__ = ["MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D", "GlobalMaxPooling1D",
           "GlobalMaxPooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "MaxPool1D", "MaxPool2D",
           "AvgPool1D", "AvgPool2D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalAvgPool1D", "GlobalAvgPool2D"]
