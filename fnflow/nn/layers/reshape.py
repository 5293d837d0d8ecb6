"""Layers that only change shapes: ``Flatten`` and ``Reshape`` (the batch axis is kept)."""

from __future__ import annotations

import math

import attrs

import fnflow.numpy as fnp
from fnflow.nn.module import Module, static_field

__all__ = ["Flatten", "Reshape"]


@attrs.frozen
class Flatten(Module):
    """``(batch, d1, d2, ...) -> (batch, d1 * d2 * ...)`` (row-major, as Keras's channels-last Flatten)."""

    def __call__(self, x):
        shape = fnp.shape(x)
        if len(shape) == 0:
            raise ValueError("Flatten: the input needs a batch axis, got a scalar")
        return fnp.reshape(x, (shape[0], math.prod(shape[1:])))


def _shape_tuple(s):
    return (int(s),) if isinstance(s, int) else tuple(int(d) for d in s)


@attrs.frozen
class Reshape(Module):
    """``(batch, ...) -> (batch, *target_shape)``; one entry of ``target_shape`` may be -1."""

    target_shape: tuple = static_field(converter=_shape_tuple)

    def __call__(self, x):
        shape = fnp.shape(x)
        return fnp.reshape(x, (shape[0],) + self.target_shape)
