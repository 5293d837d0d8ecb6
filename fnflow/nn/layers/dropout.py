"""Dropout: random zeroing with inverted scaling, driven by an explicit key."""

from __future__ import annotations

import attrs

import fnflow.numpy as fnp
import fnflow.random as fr
from fnflow.nn.module import Module, static_field

__all__ = ["Dropout"]


def _noise_shape(s):
    return None if s is None else tuple(None if d is None else int(d) for d in s)


@attrs.frozen
class Dropout(Module):
    """Zero each entry with probability ``rate`` and scale the rest by ``1 / (1 - rate)`` (Keras's Dropout).

    ``layer(x, key=k, training=True)``; with ``training=False`` (the default) or
    ``rate == 0`` the input is returned unchanged and no key is needed. The same
    key gives the same mask. ``noise_shape`` (Keras's) shares one mask entry along
    the axes where it is 1; ``None`` entries take the input's size.
    """

    rate: float = static_field(converter=float)
    noise_shape: tuple | None = static_field(default=None, converter=_noise_shape)

    stochastic = True

    def __attrs_post_init__(self):
        if not 0.0 <= self.rate < 1.0:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {self.rate}")

    def __call__(self, x, *, key=None, training=False):
        if not training or self.rate == 0.0:
            return x
        if key is None:
            raise ValueError("Dropout: training=True needs a random key: layer(x, key=k, training=True) "
                             "with k from fnflow.random.key / split")
        shape = fnp.shape(x)
        if self.noise_shape is not None:
            if len(self.noise_shape) != len(shape):
                raise ValueError(f"Dropout: noise_shape {self.noise_shape} does not match the input's rank "
                                 f"{len(shape)} (shape {shape})")
            shape = tuple(s if n is None else n for n, s in zip(self.noise_shape, shape))
        keep = fr.dropout_mask(key, self.rate, shape)
        x = fnp.asarray(x)
        scaled = fnp.divide(x, fnp.asarray(1.0 - self.rate, x.dtype))
        return fnp.where(keep, scaled, fnp.zeros((), x.dtype))

    def apply(self, x, state=None, *, key=None, training=False):
        return self(x, key=key, training=training), state
