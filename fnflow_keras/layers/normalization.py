"""BatchNormalization, LayerNormalization, GroupNormalization, UnitNormalization, and Normalization (with
``adapt``)."""

from __future__ import annotations

import numpy as np

import fnflow
import fnflow.numpy as fnp
from fnflow_keras import constraints, initializers, regularizers
from fnflow_keras.layers.layer import Layer
from fnflow_keras.utils.serialization_lib import serialize_keras_object


def _scale_and_center(layer, y, bshape):
    """``y * gamma + beta`` with the layer's optional ``gamma``/``beta`` broadcast as ``bshape``."""
    if layer.gamma is not None:
        y = y * fnp.reshape(layer.gamma.value, bshape)
    if layer.beta is not None:
        y = y + fnp.reshape(layer.beta.value, bshape)
    return y


def _gamma_beta_config(layer):
    """The initializer/regularizer/constraint entries of ``beta`` and ``gamma`` (Keras's key order)."""
    return {"beta_initializer": serialize_keras_object(layer.beta_initializer),
            "gamma_initializer": serialize_keras_object(layer.gamma_initializer),
            "beta_regularizer": serialize_keras_object(layer.beta_regularizer),
            "gamma_regularizer": serialize_keras_object(layer.gamma_regularizer),
            "beta_constraint": constraints.serialize(layer.beta_constraint),
            "gamma_constraint": constraints.serialize(layer.gamma_constraint)}


class BatchNormalization(Layer):
    """Normalize with batch statistics in training (updating the moving ones), moving statistics in inference.

    Weights: ``gamma``, ``beta`` (trainable), ``moving_mean``, ``moving_variance``
    (non-trainable, updated with ``moving = moving * momentum + batch * (1 - momentum)``).
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 synchronized=False, renorm=False, renorm_clipping=None, renorm_momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        if renorm:
            raise NotImplementedError("BatchNormalization(renorm=True) (batch renormalization) is not supported by "
                                      "fnflow_keras")
        self.renorm, self.renorm_clipping, self.renorm_momentum = False, renorm_clipping, float(renorm_momentum)
        self.axis = int(axis)
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = center, scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True

    def build(self, input_shape):
        dim = input_shape[self.axis]
        shape = (dim,)
        self.gamma = self.add_weight(shape=shape, name="gamma", initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer, constraint=self.gamma_constraint) \
            if self.scale else None
        self.beta = self.add_weight(shape=shape, name="beta", initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer, constraint=self.beta_constraint) \
            if self.center else None
        self.moving_mean = self.add_weight(shape=shape, name="moving_mean", initializer=self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight(shape=shape, name="moving_variance",
                                               initializer=self.moving_variance_initializer, trainable=False)
        self._ndim = len(input_shape)
        self.built = True

    def _bshape(self, ndim):
        ax = self.axis % ndim
        return tuple(-1 if i == ax else 1 for i in range(ndim))

    def call(self, inputs, training=None, mask=None):
        x = inputs
        ndim = x.ndim
        ax = self.axis % ndim
        red = tuple(i for i in range(ndim) if i != ax)
        bshape = self._bshape(ndim)
        if training and self.trainable:
            mean = fnp.mean(x, axis=red)
            var = fnp.mean(fnp.square(x - fnp.reshape(mean, bshape)), axis=red)
            m = self.momentum
            self.moving_mean.assign(self.moving_mean.value * m + fnflow.stop_gradient(mean) * (1.0 - m))
            self.moving_variance.assign(self.moving_variance.value * m + fnflow.stop_gradient(var) * (1.0 - m))
        else:
            mean, var = self.moving_mean.value, self.moving_variance.value
        inv = 1.0 / fnp.sqrt(var + self.epsilon)
        if self.gamma is not None:
            inv = inv * self.gamma.value
        y = (x - fnp.reshape(mean, bshape)) * fnp.reshape(inv, bshape)
        if self.beta is not None:
            y = y + fnp.reshape(self.beta.value, bshape)
        return y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "beta_initializer": serialize_keras_object(self.beta_initializer),
                "gamma_initializer": serialize_keras_object(self.gamma_initializer),
                "moving_mean_initializer": serialize_keras_object(self.moving_mean_initializer),
                "moving_variance_initializer": serialize_keras_object(self.moving_variance_initializer),
                "beta_regularizer": serialize_keras_object(self.beta_regularizer),
                "gamma_regularizer": serialize_keras_object(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint), "synchronized": False,
                "renorm": self.renorm, "renorm_clipping": self.renorm_clipping, "renorm_momentum": self.renorm_momentum}


class LayerNormalization(Layer):
    """Normalize each sample over ``axis`` (default the last), then scale by ``gamma`` and shift by ``beta``."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else int(axis)
        self.epsilon = float(epsilon)
        self.center, self.scale, self.rms_scaling = center, scale, rms_scaling
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True

    def _axes(self, ndim):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        return tuple(sorted(a % ndim for a in axes))

    def build(self, input_shape):
        axes = self._axes(len(input_shape))
        shape = tuple(input_shape[a] for a in axes)
        self.gamma = self.add_weight(name="gamma", shape=shape, initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer, constraint=self.gamma_constraint) \
            if self.scale else None
        self.beta = self.add_weight(name="beta", shape=shape, initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer, constraint=self.beta_constraint) \
            if self.center else None
        self.built = True

    def call(self, inputs):
        x = inputs
        axes = self._axes(x.ndim)
        bshape = tuple(x.shape[i] if i in axes else 1 for i in range(x.ndim))
        if self.rms_scaling:
            y = x / fnp.sqrt(fnp.mean(fnp.square(x), axis=axes, keepdims=True) + self.epsilon)
            return y * fnp.reshape(self.gamma.value, bshape) if self.gamma is not None else y
        mean = fnp.mean(x, axis=axes, keepdims=True)
        var = fnp.mean(fnp.square(x - mean), axis=axes, keepdims=True)
        y = (x - mean) / fnp.sqrt(var + self.epsilon)
        return _scale_and_center(self, y, bshape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, "rms_scaling": self.rms_scaling,
                **_gamma_beta_config(self)}


class Normalization(Layer):
    """Feature-wise ``(x - mean) / sqrt(var)``; ``adapt(data)`` computes mean and variance from data.

    Weights (non-trainable): ``mean`` and ``variance`` (as Keras 3).
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = (axis,) if isinstance(axis, int) else (tuple(axis) if axis is not None else ())
        self.input_mean, self.input_variance = mean, variance
        self.invert = invert
        if (mean is None) != (variance is None):
            raise ValueError("When setting values directly, both `mean` and `variance` must be set.")

    def build(self, input_shape):
        ndim = len(input_shape)
        self._keep = tuple(a % ndim for a in self.axis)
        shape = tuple(input_shape[a] for a in self._keep)
        self._bshape = tuple(input_shape[i] if i in self._keep else 1 for i in range(ndim))
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(name="mean", shape=shape, initializer="zeros", trainable=False)
            self.adapt_variance = self.add_weight(name="variance", shape=shape, initializer="ones", trainable=False)
        self.built = True

    def adapt(self, data, batch_size=None, steps=None):
        """Compute the mean and variance of ``data`` (an array, or an iterable of batches) per feature."""
        if hasattr(data, "__array__") or isinstance(data, (list, tuple)) and not hasattr(data, "__next__"):
            arr = np.asarray(data, dtype=np.float64)
        else:
            arr = np.concatenate([np.asarray(b[0] if isinstance(b, tuple) else b, np.float64) for b in data])
        if arr.ndim == 1:
            arr = arr[:, None]
        if not self.built:
            self._maybe_build((None,) + arr.shape[1:])
        red = tuple(i for i in range(arr.ndim) if i not in self._keep)
        self.adapt_mean.assign(arr.mean(axis=red).astype(np.float32).reshape(self.adapt_mean.shape))
        self.adapt_variance.assign(arr.var(axis=red).astype(np.float32).reshape(self.adapt_variance.shape))

    def _stats(self):
        if self.input_mean is not None:
            mean = fnp.reshape(fnp.asarray(np.broadcast_to(np.asarray(self.input_mean, np.float32),
                                                           [d for d in self._bshape if d != 1] or ())), self._bshape)
            var = fnp.reshape(fnp.asarray(np.broadcast_to(np.asarray(self.input_variance, np.float32),
                                                          [d for d in self._bshape if d != 1] or ())), self._bshape)
            return mean, var
        return fnp.reshape(self.adapt_mean.value, self._bshape), fnp.reshape(self.adapt_variance.value, self._bshape)

    def call(self, inputs):
        mean, var = self._stats()
        std = fnp.maximum(fnp.sqrt(var), 1e-7)
        if self.invert:
            return mean + inputs * std
        return (inputs - mean) / std

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = {**super().get_config(), "axis": list(self.axis), "invert": self.invert}
        config["mean"] = None if self.input_mean is None else np.asarray(self.input_mean).tolist()
        config["variance"] = None if self.input_variance is None else np.asarray(self.input_variance).tolist()
        return config


class GroupNormalization(Layer):
    """Normalize each sample over groups of channels: the channels along ``axis`` are split into ``groups``
    groups, each normalized over its channels and every non-batch axis, then scaled by ``gamma`` and shifted by
    ``beta`` (per channel). ``groups=-1`` is instance normalization (one group per channel)."""

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        if not isinstance(groups, int) or (groups <= 0 and groups != -1):
            raise ValueError(f"Received an invalid value for argument `groups`, expected a positive integer (or `-1` "
                             f"for instance normalization). Received: groups={groups}")
        super().__init__(**kwargs)
        self.groups, self.axis, self.epsilon = groups, int(axis), float(epsilon)
        self.center, self.scale = center, scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True

    def build(self, input_shape):
        dim = input_shape[self.axis]
        if dim is None:
            raise ValueError(f"Axis {self.axis} of input tensor should have a defined dimension but the layer "
                             f"received an input with shape {input_shape}.")
        if self.groups == -1:
            self.groups = dim  # as Keras: the config then says how many groups there are
        if dim < self.groups or dim % self.groups:
            raise ValueError(f"GroupNormalization {self.name!r}: the number of channels ({dim}) must be a multiple "
                             f"of the number of groups ({self.groups}).")
        self.gamma = self.add_weight(shape=(dim,), name="gamma", initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer, constraint=self.gamma_constraint) \
            if self.scale else None
        self.beta = self.add_weight(shape=(dim,), name="beta", initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer, constraint=self.beta_constraint) \
            if self.center else None
        self.built = True

    def call(self, inputs):
        x = inputs
        shape, ndim = tuple(x.shape), x.ndim
        a = self.axis % ndim
        g = self.groups
        grouped = fnp.reshape(x, shape[:a] + (g, shape[a] // g) + shape[a + 1:])
        red = tuple(i for i in range(1, ndim + 1) if i != a)
        mean = fnp.mean(grouped, axis=red, keepdims=True)
        var = fnp.mean(fnp.square(grouped - mean), axis=red, keepdims=True)
        y = fnp.reshape((grouped - mean) / fnp.sqrt(var + self.epsilon), shape)
        bshape = tuple(shape[a] if i == a else 1 for i in range(ndim))
        return _scale_and_center(self, y, bshape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                **_gamma_beta_config(self)}


class UnitNormalization(Layer):
    """Scale each sample to unit L2 norm over ``axis`` (an int or a list): ``x / max(||x||, 1e-12)``."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = [int(a) for a in axis]
        elif isinstance(axis, int):
            self.axis = axis
        else:
            raise TypeError(f"Invalid value for `axis` argument: expected an int or a list/tuple of ints. "
                            f"Received: axis={axis}")
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        axes = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        square_sum = fnp.sum(fnp.square(inputs), axis=axes, keepdims=True)
        return inputs / fnp.sqrt(fnp.maximum(square_sum, 1e-24))  # norm floored at Keras's epsilon 1e-12

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


__all__ = ["BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization", "Normalization"]
