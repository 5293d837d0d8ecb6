"""Regularization layers: SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout, AlphaDropout,
ActivityRegularization (Dropout itself lives in ``core``).

The noise layers act only in training (``training=True``, as inside ``fit``) and
return their input unchanged otherwise. Their randomness comes from a
``keras.random.SeedGenerator`` (or the train step's key inside a StatelessScope).
"""

from __future__ import annotations

import math

from fnflow_keras import backend, regularizers
from fnflow_keras import random as krandom
from fnflow_keras.layers.core.misc import Dropout
from fnflow_keras.layers.layer import Layer


def _check_rate(rate, what="rate"):
    if not 0 <= rate <= 1:
        raise ValueError(f"Invalid value received for argument `{what}`. Expected a float value between 0 and 1. "
                         f"Received: {what}={rate}")


class _SpatialDropout(Dropout):
    """Dropout of whole feature maps: one draw per (sample, channel), shared along the spatial axes."""

    rank = 1

    def __init__(self, rate, seed=None, name=None, dtype=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype)
        self.data_format = "channels_last"

    def _noise_shape(self, shape):
        ones = (1,) * self.rank
        if self.data_format == "channels_first":
            return (shape[0], shape[1]) + ones
        return (shape[0],) + ones + (shape[-1],)

    def call(self, inputs, training=False):
        if inputs.ndim != self.rank + 2:
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected inputs of rank {self.rank + 2}, got "
                             f"shape {tuple(inputs.shape)}")
        if training and self.rate > 0:
            return krandom.dropout(inputs, self.rate, noise_shape=self._noise_shape(tuple(inputs.shape)),
                                   seed=self.seed_generator)
        return inputs

    def get_config(self):  # Keras writes no "trainable" (its constructor does not take one)
        return {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": self.dtype}


class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels of ``(batch, steps, channels)`` inputs."""

    rank = 1


class SpatialDropout2D(_SpatialDropout):
    """Drops whole 2-D feature maps (``data_format`` channels_last or channels_first)."""

    rank = 2

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype)
        self.data_format = backend.standardize_data_format(data_format)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class SpatialDropout3D(SpatialDropout2D):
    """Drops whole 3-D feature maps."""

    rank = 3


class GaussianNoise(Layer):
    """Adds zero-mean Gaussian noise of standard deviation ``stddev`` in training."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        _check_rate(stddev, "stddev")
        self.stddev, self.seed = stddev, seed
        self.seed_generator = krandom.SeedGenerator(seed) if stddev > 0 else None
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=False):
        if training and self.stddev > 0:
            return inputs + krandom.normal(tuple(inputs.shape), stddev=self.stddev, dtype=inputs.dtype,
                                           seed=self.seed_generator)
        return inputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(Layer):
    """Multiplies by Gaussian noise of mean 1 and standard deviation ``sqrt(rate / (1 - rate))`` in training."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        _check_rate(rate)
        self.rate, self.seed = rate, seed
        self.seed_generator = krandom.SeedGenerator(seed) if rate > 0 else None
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=False):
        if training and self.rate > 0:
            stddev = math.sqrt(self.rate / (1.0 - self.rate))
            return inputs * krandom.normal(tuple(inputs.shape), mean=1.0, stddev=stddev, dtype=inputs.dtype,
                                           seed=self.seed_generator)
        return inputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


# SELU's constants: AlphaDropout keeps SELU activations at mean 0 and variance 1
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


class AlphaDropout(Layer):
    """Dropout for SELU networks: dropped units are set to SELU's negative saturation value and the result is
    affinely corrected so that mean and variance are kept."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        _check_rate(rate)
        self.rate, self.noise_shape, self.seed = rate, noise_shape, seed
        self.seed_generator = krandom.SeedGenerator(seed) if rate > 0 else None
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=False):
        if not (training and self.rate > 0):
            return inputs
        shape = tuple(inputs.shape)
        if self.noise_shape is not None:
            shape = tuple(s if d is None else d for d, s in zip(self.noise_shape, shape))
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        kept = (krandom.uniform(shape, seed=self.seed_generator) >= self.rate).astype(inputs.dtype)
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        x = inputs * kept + alpha_p * (1 - kept)
        return a * x + b

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        noise_shape = None if self.noise_shape is None else list(self.noise_shape)
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": noise_shape}


class ActivityRegularization(Layer):
    """Identity that adds ``l1 * sum(|x|) + l2 * sum(x ** 2)`` (divided by the batch size) to the losses."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = l1, l2
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}


__all__ = ["SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout",
           "AlphaDropout", "ActivityRegularization"]
