"""Dense (fully connected) layers."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

import fnflow.numpy as fnp
import fnflow.random as fr
from fnflow.nn import initializers as inits
from fnflow.nn.module import Module, activation_field, get_activation

__all__ = ["Linear", "Dense"]


@attrs.frozen
class Linear(Module):
    """``activation(x @ kernel + bias)`` on the last axis of ``x`` (Keras's ``Dense``).

    Parameters: ``kernel`` ``(in_features, units)``, ``bias`` ``(units,)`` or None.
    ``activation`` is a Keras name (``"relu"``), a function, or None (linear).
    """

    kernel: Any
    bias: Any = None
    activation: Any = activation_field()

    @classmethod
    def init(cls, key, in_features, units, *, activation=None, use_bias=True,
             kernel_initializer="glorot_uniform", bias_initializer="zeros", dtype=np.float32):
        """A new layer; Keras's defaults (glorot-uniform kernel, zero bias)."""
        kk, kb = fr.split(key)
        kernel = inits.get(kernel_initializer)(kk, (int(in_features), int(units)), dtype)
        bias = inits.get(bias_initializer)(kb, (int(units),), dtype) if use_bias else None
        return cls(kernel, bias, activation)

    @property
    def in_features(self):
        return self.kernel.shape[0]

    @property
    def units(self):
        return self.kernel.shape[1]

    def __call__(self, x):
        y = fnp.matmul(x, self.kernel)
        if self.bias is not None:
            y = fnp.add(y, self.bias)
        return get_activation(self.activation)(y)


Dense = Linear
