"""Pooling layers (Keras's MaxPooling/AveragePooling 1D/2D and global pooling), channels-last by default.

The forward passes are :mod:`fnflow.nn.functional`'s pooling functions.
``strides`` default to ``pool_size``; ``padding`` is ``"valid"`` or
``"same"`` (average pooling then divides by the number of real elements of
each window, as Keras does).
"""

from __future__ import annotations

import attrs
import numpy as np

from fnflow.nn.module import Module, static_field

__all__ = ["MaxPool1D", "MaxPool2D", "AvgPool1D", "AvgPool2D", "GlobalAvgPool", "GlobalMaxPool",
           "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D"]


def _opt_tuple(v):
    if v is None:
        return None
    return (int(v),) if isinstance(v, (int, np.integer)) else tuple(int(s) for s in v)


@attrs.frozen
class _Pool(Module):
    pool_size: tuple = static_field(default=2, converter=_opt_tuple)
    strides: tuple | None = static_field(default=None, converter=_opt_tuple)
    padding: str = static_field(default="valid", converter=str.lower)
    data_format: str = static_field(default="channels_last")

    _fn = ""

    def __call__(self, x):
        from fnflow.nn import functional as F

        pool = self.pool_size[0] if len(self.pool_size) == 1 else self.pool_size
        strides = self.strides if self.strides is None or len(self.strides) > 1 else self.strides[0]
        return getattr(F, self._fn)(x, pool, strides, self.padding, self.data_format)


@attrs.frozen
class MaxPool1D(_Pool):
    """Max over windows of ``pool_size`` along the length of ``(batch, length, channels)``."""

    _fn = "max_pool1d"


@attrs.frozen
class MaxPool2D(_Pool):
    """Max over ``pool_size`` windows of ``(batch, h, w, channels)``."""

    _fn = "max_pool2d"


@attrs.frozen
class AvgPool1D(_Pool):
    """Mean over windows of ``pool_size`` along the length of ``(batch, length, channels)``."""

    _fn = "avg_pool1d"


@attrs.frozen
class AvgPool2D(_Pool):
    """Mean over ``pool_size`` windows of ``(batch, h, w, channels)``."""

    _fn = "avg_pool2d"


@attrs.frozen
class GlobalAvgPool(Module):
    """Mean over every spatial axis: ``(batch, *spatial, channels) -> (batch, channels)``."""

    keepdims: bool = static_field(default=False, converter=bool)
    data_format: str = static_field(default="channels_last")

    def __call__(self, x):
        from fnflow.nn import functional as F

        return F.global_avg_pool(x, keepdims=self.keepdims, data_format=self.data_format)


@attrs.frozen
class GlobalMaxPool(Module):
    """Max over every spatial axis: ``(batch, *spatial, channels) -> (batch, channels)``."""

    keepdims: bool = static_field(default=False, converter=bool)
    data_format: str = static_field(default="channels_last")

    def __call__(self, x):
        from fnflow.nn import functional as F

        return F.global_max_pool(x, keepdims=self.keepdims, data_format=self.data_format)


# Keras's names
MaxPooling1D, MaxPooling2D = MaxPool1D, MaxPool2D
AveragePooling1D, AveragePooling2D = AvgPool1D, AvgPool2D
