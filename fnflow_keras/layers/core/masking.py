"""Masking: mark the time steps whose features all equal ``mask_value`` as padding."""

from __future__ import annotations

import fnflow.numpy as fnp
from fnflow_keras.layers.layer import Layer
from fnflow_keras.utils.masking import set_keras_mask


class Masking(Layer):
    """``Masking(mask_value=0.0)``: steps ``t`` with ``all(inputs[:, t] == mask_value)`` are masked.

    The output equals the input with masked steps set to 0 and carries the mask
    ``any(inputs != mask_value, axis=-1)`` (``(batch, time)``) for the next layers (RNNs skip those steps).
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value
        self.supports_masking = True
        self.built = True

    def compute_mask(self, inputs, mask=None):
        return fnp.any(fnp.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs):
        keep = fnp.any(fnp.not_equal(inputs, self.mask_value), axis=-1, keepdims=True)
        outputs = fnp.where(keep, inputs, fnp.zeros((), inputs.dtype))
        set_keras_mask(outputs, fnp.squeeze(keep, axis=-1))
        return outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


__all__ = ["Masking"]
