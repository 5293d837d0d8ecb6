"""keras.activations: activation functions by name (``get("relu")``) over :mod:`fnflow.nn`."""

from __future__ import annotations

import fnflow.nn as nn
import fnflow.numpy as fnp


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit with Keras's optional slope, ceiling and threshold."""
    x = fnp.asarray(x)
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return nn.relu(x)
    if threshold != 0.0:
        y = fnp.where(x > threshold, x, fnp.zeros_like(x))
    else:
        y = nn.relu(x)
    if max_value is not None:
        y = fnp.minimum(y, max_value)
    if negative_slope != 0.0:
        y = fnp.where(x < threshold, negative_slope * (x - threshold), y)
    return y


def leaky_relu(x, negative_slope=0.2):
    return nn.leaky_relu(fnp.asarray(x), negative_slope)


def relu6(x):
    return nn.relu6(fnp.asarray(x))


def elu(x, alpha=1.0):
    return nn.elu(fnp.asarray(x), alpha)


def selu(x):
    return nn.selu(fnp.asarray(x))


def gelu(x, approximate=False):
    return nn.gelu(fnp.asarray(x), approximate=approximate)


def sigmoid(x):
    return nn.sigmoid(fnp.asarray(x))


def hard_sigmoid(x):
    return nn.hard_sigmoid(fnp.asarray(x))


def hard_silu(x):
    return nn.hard_silu(fnp.asarray(x))


hard_swish = hard_silu


def silu(x):
    return nn.silu(fnp.asarray(x))


swish = silu


def softplus(x):
    return nn.softplus(fnp.asarray(x))


def softsign(x):
    return nn.soft_sign(fnp.asarray(x))


def tanh(x):
    return fnp.tanh(fnp.asarray(x))


def mish(x):
    return nn.mish(fnp.asarray(x))


def exponential(x):
    return fnp.exp(fnp.asarray(x))


def linear(x):
    return x


def softmax(x, axis=-1):
    return nn.softmax(fnp.asarray(x), axis=axis)


def log_softmax(x, axis=-1):
    return nn.log_softmax(fnp.asarray(x), axis=axis)


_BY_NAME = {f.__name__: f for f in (relu, leaky_relu, relu6, elu, selu, gelu, sigmoid, hard_sigmoid, hard_silu,
                                    silu, softplus, softsign, tanh, mish, exponential, linear, softmax,
                                    log_softmax)}
_BY_NAME.update({"swish": silu, "hard_swish": hard_silu})


def get(identifier):
    """An activation function from a name (``"relu"``), a callable, or None (linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(f"Could not interpret activation function identifier: {identifier!r}")
        return _BY_NAME[identifier]
    if isinstance(identifier, dict):
        from fnflow_keras.utils.serialization_lib import deserialize_keras_object

        return deserialize_keras_object(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}")


def serialize(activation):
    """The name of a built-in activation, else its serialized form."""
    name = getattr(activation, "__name__", None)
    if name in _BY_NAME and _BY_NAME[name] is activation:
        return name
    from fnflow_keras.utils.serialization_lib import serialize_keras_object

    return serialize_keras_object(activation)


def deserialize(config, custom_objects=None):
    from fnflow_keras.utils.serialization_lib import deserialize_keras_object

    if isinstance(config, str):
        return get(config)
    return deserialize_keras_object(config, custom_objects)


__all__ = [*_BY_NAME, "get", "serialize", "deserialize"]
