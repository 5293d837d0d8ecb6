"""keras.regularizers: weight penalties (L1, L2, L1L2, OrthogonalRegularizer is not provided)."""

from __future__ import annotations

import fnflow.numpy as fnp


class Regularizer:
    """Base class: ``regularizer(weight) -> scalar penalty``."""

    def __call__(self, x):
        return 0.0

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x ** 2)``."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        x = fnp.asarray(x)
        out = 0.0
        if self.l1:
            out = out + self.l1 * fnp.sum(fnp.abs(x))
        if self.l2:
            out = out + self.l2 * fnp.sum(fnp.square(x))
        return out if not isinstance(out, float) else fnp.asarray(0.0, x.dtype)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """``l1 * sum(|x|)`` (default 0.01)."""

    def __init__(self, l1=0.01):
        self.l1 = float(l1)

    def __call__(self, x):
        return self.l1 * fnp.sum(fnp.abs(fnp.asarray(x)))

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(x ** 2)`` (default 0.01)."""

    def __init__(self, l2=0.01):
        self.l2 = float(l2)

    def __call__(self, x):
        return self.l2 * fnp.sum(fnp.square(fnp.asarray(x)))

    def get_config(self):
        return {"l2": self.l2}


l1, l2, l1_l2 = L1, L2, L1L2
_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": L1L2, "L1": L1, "L2": L2, "L1L2": L1L2}


def get(identifier):
    """A regularizer from a name, a config dict, an instance, a callable or None."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}")
        return _BY_NAME[identifier]()
    if isinstance(identifier, dict):
        from fnflow_keras.utils.serialization_lib import deserialize_keras_object

        return deserialize_keras_object(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}")


def serialize(regularizer):
    from fnflow_keras.utils.serialization_lib import serialize_keras_object

    return serialize_keras_object(regularizer)


__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "serialize"]
