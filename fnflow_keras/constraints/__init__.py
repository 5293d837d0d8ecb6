"""keras.constraints: projections applied to a weight after each optimizer update.

A constraint is a callable ``constraint(w) -> projected w`` (same shape). Layers take them as
``kernel_constraint=``, ``bias_constraint=`` ...; the Variable keeps it in ``.constraint`` and the
optimizer applies it to the new value of every trainable variable it updated (eagerly in
``apply``/``apply_gradients`` and inside the trainer's jitted step), as Keras 3 does.

The norm constraints follow Keras 3's formulas, with ``epsilon = keras.backend.epsilon()`` (1e-7) added
to the norm in the denominator::

    norms    = sqrt(sum(w ** 2, axis, keepdims=True))
    MaxNorm:    w * clip(norms, 0, max_value) / (epsilon + norms)
    MinMaxNorm: w * (rate * clip(norms, min_value, max_value) + (1 - rate) * norms) / (epsilon + norms)
    UnitNorm:   w / (epsilon + norms)
    NonNeg:     maximum(w, 0)

They are written with ``fnflow.numpy``, so they work on traced values.
"""

from __future__ import annotations

import inspect

import fnflow.numpy as fnp
from fnflow_keras import backend
from fnflow_keras.utils import serialization_lib


class Constraint:
    """Base class: ``constraint(w)`` returns the projected weight (the base class returns ``w`` unchanged)."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _axis(axis):
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


def _norms(w, axis):
    return fnp.sqrt(fnp.sum(fnp.square(w), axis=_axis(axis), keepdims=True))


def _as_float(w):
    w = fnp.asarray(w)
    return w if fnp.issubdtype(w.dtype, fnp.floating) else w.astype(backend.floatx())


class MaxNorm(Constraint):
    """Scale each slice along ``axis`` (the weights incident to one unit) down to a norm of at most ``max_value``.

    ``axis=0`` for a Dense kernel ``(input_dim, units)``; ``axis=[0, 1, 2]`` for a Conv2D kernel
    ``(rows, cols, in, out)`` in channels_last.
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        w = _as_float(w)
        norms = _norms(w, self.axis)
        desired = fnp.clip(norms, 0, self.max_value)
        return fnp.multiply(w, fnp.divide(desired, fnp.add(backend.epsilon(), norms)))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Clip the weights at zero from below."""

    def __call__(self, w):
        w = fnp.asarray(w)
        return fnp.maximum(w, fnp.zeros((), w.dtype))


class UnitNorm(Constraint):
    """Scale each slice along ``axis`` to (almost exactly) unit norm."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        w = _as_float(w)
        return fnp.divide(w, fnp.add(backend.epsilon(), _norms(w, self.axis)))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Move the norm of each slice along ``axis`` into ``[min_value, max_value]``.

    The new norm is ``rate * clip(norm, min_value, max_value) + (1 - rate) * norm``: ``rate=1`` enforces the
    bounds exactly, a smaller rate moves the norm part of the way at each step.
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w):
        w = _as_float(w)
        norms = _norms(w, self.axis)
        desired = fnp.add(fnp.multiply(self.rate, fnp.clip(norms, self.min_value, self.max_value)),
                          fnp.multiply(1 - self.rate, norms))
        return fnp.multiply(w, fnp.divide(desired, fnp.add(backend.epsilon(), norms)))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


# Keras's lowercase aliases are the classes themselves
max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm

_ALL = (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)
_BY_NAME = {cls.__name__: cls for cls in _ALL}
_BY_NAME.update({"constraint": Constraint, "max_norm": MaxNorm, "min_max_norm": MinMaxNorm, "non_neg": NonNeg,
                 "unit_norm": UnitNorm})

serialization_lib.register_module("keras.constraints", __name__)


def serialize(constraint):
    """Keras 3's serialization dict of ``constraint`` (None stays None)."""
    out = serialization_lib.serialize_keras_object(constraint)
    if isinstance(out, dict) and type(constraint) is Constraint:
        out["module"] = "keras.constraints"  # Keras exports the base class as keras.constraints.Constraint
    return out


def deserialize(config, custom_objects=None):
    """The constraint described by ``config`` (a serialization dict or a name)."""
    if isinstance(config, str):
        return get(config) if config in _BY_NAME else serialization_lib.deserialize_keras_object(
            config, custom_objects)
    if isinstance(config, dict) and config.get("class_name") in _BY_NAME and config.get("module") in (
            None, "keras", "keras.constraints") and serialization_lib.get_registered_object(
            config.get("registered_name") or config["class_name"], custom_objects) is None:
        # a built-in: also found when the dict has no module or names the top-level "keras" module
        return _BY_NAME[config["class_name"]].from_config(config.get("config") or {})
    return serialization_lib.deserialize_keras_object(config, custom_objects)


def get(identifier):
    """A constraint from None, a name (``"max_norm"``, ``"MaxNorm"``), a serialization dict, a class, an
    instance or any callable ``w -> w``."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = _BY_NAME.get(identifier)
        if obj is None:
            raise ValueError(f"Could not interpret constraint identifier: {identifier!r} (known names: "
                             f"{', '.join(sorted(_BY_NAME))})")
    else:
        obj = identifier
    if inspect.isclass(obj):
        obj = obj()
    if not callable(obj):
        raise ValueError(f"Could not interpret constraint identifier: {identifier!r}")
    return obj


__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "max_norm", "min_max_norm", "non_neg",
           "unit_norm", "get", "serialize", "deserialize"]
