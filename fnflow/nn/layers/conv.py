"""Convolution layers (Keras's ``Conv1D``/``Conv2D``), channels-last by default.

The kernel has Keras's layout ``(*kernel_size, in_channels // groups, filters)``
and the forward pass is :func:`fnflow.nn.functional.conv`. ``padding`` is
``"valid"``, ``"same"`` (Keras's rule: output ``ceil(in / stride)``),
``"causal"`` (Conv1D only), or explicit: an int, one int per spatial axis, or
one ``(before, after)`` pair per spatial axis (zeros added before a valid
convolution).
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

import fnflow.numpy as fnp
import fnflow.random as fr
from fnflow.nn import initializers as inits
from fnflow.nn.module import Module, activation_field, get_activation, static_field

__all__ = ["Conv1D", "Conv2D"]


def _tuple(v, rank, name):
    t = (int(v),) * rank if isinstance(v, (int, np.integer)) else tuple(int(s) for s in v)
    if len(t) != rank:
        raise ValueError(f"Conv{rank}D: {name} needs {rank} values, got {v}")
    return t


def _padding_spec(p):
    """A hashable padding: a lower-case string or a tuple of (before, after) pairs / ints."""
    if isinstance(p, str):
        return p.lower()
    if isinstance(p, (int, np.integer)):
        return int(p)
    return tuple(int(q) if isinstance(q, (int, np.integer)) else (int(q[0]), int(q[1])) for q in p)


def _explicit_pairs(p, rank):
    if isinstance(p, int):
        return ((p, p),) * rank
    if len(p) != rank:
        raise ValueError(f"Conv{rank}D: explicit padding needs one entry per spatial axis ({rank}), got {p}")
    return tuple((q, q) if isinstance(q, int) else q for q in p)


@attrs.frozen
class _Conv(Module):
    kernel: Any
    bias: Any = None
    strides: tuple = static_field(default=1)
    padding: Any = static_field(default="valid", converter=_padding_spec)
    dilation_rate: tuple = static_field(default=1)
    groups: int = static_field(default=1, converter=int)
    activation: Any = activation_field()
    data_format: str = static_field(default="channels_last")

    _rank = 0

    def __attrs_post_init__(self):
        if self.data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"{type(self).__name__}: data_format must be 'channels_last' or 'channels_first', "
                             f"got {self.data_format!r}")
        if isinstance(self.padding, str) and self.padding not in ("valid", "same", "causal"):
            raise ValueError(f"{type(self).__name__}: padding must be 'valid', 'same', 'causal' (1-D) or explicit, "
                             f"got {self.padding!r}")
        object.__setattr__(self, "strides", _tuple(self.strides, self._rank, "strides"))
        object.__setattr__(self, "dilation_rate", _tuple(self.dilation_rate, self._rank, "dilation_rate"))
        if not isinstance(self.padding, str):
            object.__setattr__(self, "padding", _explicit_pairs(self.padding, self._rank))

    @classmethod
    def init(cls, key, in_channels, filters, kernel_size, *, strides=1, padding="valid", dilation_rate=1, groups=1,
             activation=None, use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
             data_format="channels_last", dtype=np.float32):
        """A new layer with Keras's defaults (glorot-uniform kernel, zero bias)."""
        ks = _tuple(kernel_size, cls._rank, "kernel_size")
        if in_channels % groups or filters % groups:
            raise ValueError(f"{cls.__name__}: in_channels ({in_channels}) and filters ({filters}) must be "
                             f"divisible by groups ({groups})")
        kk, kb = fr.split(key)
        kernel = inits.get(kernel_initializer)(kk, ks + (int(in_channels) // groups, int(filters)), dtype)
        bias = inits.get(bias_initializer)(kb, (int(filters),), dtype) if use_bias else None
        return cls(kernel, bias, strides, padding, dilation_rate, groups, activation, data_format)

    @property
    def filters(self):
        return self.kernel.shape[-1]

    @property
    def kernel_size(self):
        return tuple(self.kernel.shape[:-2])

    def __call__(self, x):
        from fnflow.nn import functional as F

        padding = self.padding
        if not isinstance(padding, str):
            x = fnp.asarray(x)
            spatial = range(1, 1 + self._rank) if self.data_format == "channels_last" else range(2, 2 + self._rank)
            pads = [(0, 0)] * fnp.ndim(x)
            for ax, pair in zip(spatial, padding):
                pads[ax] = pair
            x = fnp.pad(x, pads)
            padding = "valid"
        y = F.conv(x, self.kernel, self.bias, strides=self.strides, padding=padding,
                   dilation_rate=self.dilation_rate, groups=self.groups, data_format=self.data_format)
        return get_activation(self.activation)(y)


@attrs.frozen
class Conv1D(_Conv):
    """1-d convolution on ``(batch, length, channels)``; kernel ``(k, in // groups, filters)``."""

    _rank = 1


@attrs.frozen
class Conv2D(_Conv):
    """2-d convolution on ``(batch, h, w, channels)``; kernel ``(kh, kw, in // groups, filters)``."""

    _rank = 2
