"""Spatial reshaping (channels last): ZeroPadding1D/2D, UpSampling1D/2D, Cropping1D/2D."""

from __future__ import annotations

import fnflow.numpy as fnp
from fnflow_keras import backend
from fnflow_keras.layers.image_preprocessing import resize_images
from fnflow_keras.layers.layer import Layer


def _pairs(padding, n, name):
    if isinstance(padding, int):
        return ((padding, padding),) * n
    out = []
    for p in padding:
        out.append((p, p) if isinstance(p, int) else tuple(p))
    if len(out) != n:
        raise ValueError(f"`{name}` should have {n} elements. Received: {padding}")
    return tuple(out)


class _Spatial(Layer):
    rank = 2

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = backend.standardize_data_format(data_format) if self.rank > 1 else "channels_last"
        self.built = True

    def _to_last(self, x):
        return fnp.moveaxis(x, 1, -1) if self.data_format == "channels_first" else x

    def _from_last(self, y):
        return fnp.moveaxis(y, -1, 1) if self.data_format == "channels_first" else y

    def _spatial(self, shape):
        return list(shape[1:-1]) if self.data_format == "channels_last" else list(shape[2:])

    def _rebuild(self, shape, sp):
        if self.data_format == "channels_last":
            return (shape[0],) + tuple(sp) + (shape[-1],)
        return (shape[0], shape[1]) + tuple(sp)

    def get_config(self):
        config = super().get_config()
        if self.rank > 1:
            config["data_format"] = self.data_format
        return config


class ZeroPadding2D(_Spatial):
    """Pads rows and columns with zeros: ``padding`` int, ``(ph, pw)`` or ``((top, bottom), (left, right))``."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.padding = _pairs(padding, self.rank, "padding")

    def call(self, inputs):
        x = self._to_last(inputs)
        return self._from_last(fnp.pad(x, ((0, 0),) + self.padding + ((0, 0),)))

    def compute_output_shape(self, input_shape):
        sp = [None if n is None else n + lo + hi for n, (lo, hi) in zip(self._spatial(input_shape), self.padding)]
        return self._rebuild(input_shape, sp)

    def get_config(self):
        return {**super().get_config(), "padding": [list(p) for p in self.padding]}


class ZeroPadding1D(ZeroPadding2D):
    rank = 1

    def __init__(self, padding=1, **kwargs):
        super().__init__(padding=padding, **kwargs)


class Cropping2D(_Spatial):
    """Crops rows and columns: ``cropping`` int, ``(ch, cw)`` or ``((top, bottom), (left, right))``."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.cropping = _pairs(cropping, self.rank, "cropping")

    def call(self, inputs):
        x = self._to_last(inputs)
        idx = (slice(None),) + tuple(slice(lo, n - hi) for (lo, hi), n in zip(self.cropping, x.shape[1:-1]))
        return self._from_last(x[idx])

    def compute_output_shape(self, input_shape):
        sp = [None if n is None else n - lo - hi for n, (lo, hi) in zip(self._spatial(input_shape), self.cropping)]
        return self._rebuild(input_shape, sp)

    def get_config(self):
        return {**super().get_config(), "cropping": [list(p) for p in self.cropping]}


class Cropping1D(Cropping2D):
    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping=(tuple(cropping),) if not isinstance(cropping, int) else cropping, **kwargs)


class UpSampling2D(_Spatial):
    """Rows and columns ``size`` times: repeated (``interpolation="nearest"``) or interpolated ("bilinear",
    as ``keras.ops.image.resize``: half-pixel centres, edges clamped)."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.size = (size,) * self.rank if isinstance(size, int) else tuple(size)
        interpolation = interpolation.lower()
        if interpolation not in ("nearest", "bilinear"):
            raise NotImplementedError(f"UpSampling2D: interpolation={interpolation!r} is not available in "
                                      f"fnflow_keras; use 'nearest' or 'bilinear'")
        self.interpolation = interpolation

    def call(self, inputs):
        x = self._to_last(inputs)
        if self.interpolation == "bilinear":
            x = resize_images(x, x.shape[1] * self.size[0], x.shape[2] * self.size[1], "bilinear")
        else:
            for ax, s in enumerate(self.size, start=1):
                x = fnp.repeat(x, s, axis=ax)
        return self._from_last(x)

    def compute_output_shape(self, input_shape):
        sp = [None if n is None else n * s for n, s in zip(self._spatial(input_shape), self.size)]
        return self._rebuild(input_shape, sp)

    def get_config(self):
        return {**super().get_config(), "size": list(self.size), "interpolation": self.interpolation}


class UpSampling1D(Layer):
    """Repeats each time step ``size`` times."""

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)
        self.built = True

    def call(self, inputs):
        return fnp.repeat(inputs, self.size, axis=1)

    def compute_output_shape(self, input_shape):
        n = input_shape[1]
        return (input_shape[0], None if n is None else n * self.size) + tuple(input_shape[2:])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


__all__ = ["ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D", "UpSampling1D", "UpSampling2D"]
