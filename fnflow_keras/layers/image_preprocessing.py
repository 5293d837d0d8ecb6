"""Image preprocessing layers: Rescaling, Resizing (nearest, bilinear), CenterCrop.

Images are ``(batch, height, width, channels)`` (or ``(height, width,
channels)`` unbatched; channels first with ``data_format="channels_first"``).
Resizing samples at pixel centres (``(i + 0.5) * in / out - 0.5``) as Keras on
JAX does (``jax.image.resize`` without antialiasing): bilinear weights the two
nearest pixels (clamped at the border), nearest takes ``floor((i + 0.5) * in / out)``.
The sampling positions are static, so the layers are gathers and weighted sums:
they run under ``jit`` and are differentiable.
"""

from __future__ import annotations

import numpy as np

import fnflow.numpy as fnp
from fnflow_keras import backend
from fnflow_keras.layers.layer import Layer


def _hw_axes(ndim, data_format):
    if ndim not in (3, 4):
        raise ValueError(f"Expected an image of rank 3 (unbatched) or 4 (batched), got rank {ndim}")
    return (ndim - 3, ndim - 2) if data_format == "channels_last" else (ndim - 2, ndim - 1)


def _resize_axis(x, axis, size, interpolation):
    """Resize one axis of ``x`` to ``size`` samples."""
    n = x.shape[axis]
    if n == size:
        return x
    centres = (np.arange(size, dtype=np.float64) + 0.5) * (n / size)
    if interpolation == "nearest":
        idx = np.minimum(np.floor(centres).astype(np.int32), n - 1)
        return fnp.take(x, idx, axis=axis)
    pos = np.clip(centres - 0.5, 0.0, n - 1)
    lo = np.floor(pos).astype(np.int32)
    hi = np.minimum(lo + 1, n - 1)
    w = (pos - lo).astype(np.dtype(x.dtype) if np.dtype(x.dtype).kind == "f" else np.float32)
    shape = [1] * x.ndim
    shape[axis] = size
    w = fnp.asarray(w.reshape(shape))
    return fnp.take(x, lo, axis=axis) * (1.0 - w) + fnp.take(x, hi, axis=axis) * w


def _crop_box(height, width, target_height, target_width):
    """Keras's centred crop of the target aspect ratio: ``(top, crop_height, left, crop_width)``."""
    crop_h = max(min(height, int(float(width * target_height) / target_width)), 1)
    crop_w = max(min(width, int(float(height * target_width) / target_height)), 1)
    return int(float(height - crop_h) / 2), crop_h, int(float(width - crop_w) / 2), crop_w


def _slice(x, axes, starts, sizes):
    idx = [slice(None)] * x.ndim
    for a, s, n in zip(axes, starts, sizes):
        idx[a] = slice(s, s + n)
    return x[tuple(idx)]


def resize_images(x, height, width, interpolation="bilinear", data_format="channels_last",
                  crop_to_aspect_ratio=False, pad_to_aspect_ratio=False, fill_value=0.0):
    """``x`` resized to ``(height, width)`` as ``keras.ops.image.resize`` on JAX (no antialiasing)."""
    ha, wa = _hw_axes(x.ndim, data_format)
    h, w = x.shape[ha], x.shape[wa]
    if crop_to_aspect_ratio:
        top, ch, left, cw = _crop_box(h, w, height, width)
        x = _slice(x, (ha, wa), (top, left), (ch, cw))
    elif pad_to_aspect_ratio:
        ph = max(h, int(float(w * height) / width))
        pw = max(w, int(float(h * width) / height))
        top, left = int(float(ph - h) / 2), int(float(pw - w) / 2)
        pads = [(0, 0)] * x.ndim
        if top > 0:  # as Keras: the same band on both sides, along one axis only
            pads[ha] = (top, top)
        elif left > 0:
            pads[wa] = (left, left)
        x = fnp.pad(x, pads, constant_values=fill_value)
    x = _resize_axis(x, ha, height, interpolation)
    return _resize_axis(x, wa, width, interpolation)


class Rescaling(Layer):
    """``inputs * scale + offset`` (e.g. ``Rescaling(1 / 255)``), in the layer's float dtype."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        dtype = self.compute_dtype
        scale = fnp.asarray(np.asarray(self.scale, dtype))
        offset = fnp.asarray(np.asarray(self.offset, dtype))
        if scale.ndim > 0 and backend.image_data_format() == "channels_first":
            scale = fnp.reshape(scale, tuple(scale.shape) + (1,) * (3 - scale.ndim))
        return fnp.asarray(inputs).astype(dtype) * scale + offset

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        def plain(v):
            return np.asarray(v).tolist() if isinstance(v, (np.ndarray, list, tuple)) else v

        return {**super().get_config(), "scale": plain(self.scale), "offset": plain(self.offset)}


class Resizing(Layer):
    """Resize images to ``(height, width)``: ``interpolation`` "bilinear" (default) or "nearest";
    ``crop_to_aspect_ratio`` / ``pad_to_aspect_ratio`` first crop (centred) or pad (with ``fill_value``) to the
    target aspect ratio. Integer images are rounded and cast back to their dtype."""

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
                 fill_mode="constant", fill_value=0.0, antialias=False, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if interpolation not in ("bilinear", "nearest"):
            raise NotImplementedError(f"Resizing: interpolation={interpolation!r} is not available in fnflow_keras; "
                                      f"use 'bilinear' or 'nearest'")
        if antialias:
            raise NotImplementedError("Resizing: antialias=True is not available in fnflow_keras")
        if fill_mode != "constant":
            raise ValueError(f"Invalid value for argument `fill_mode`. Only `'constant'` is supported. Received: "
                             f"fill_mode={fill_mode}")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError("Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be `True`.")
        self.height, self.width = int(height), int(width)
        self.interpolation = interpolation
        self.crop_to_aspect_ratio, self.pad_to_aspect_ratio = crop_to_aspect_ratio, pad_to_aspect_ratio
        self.fill_mode, self.fill_value, self.antialias = fill_mode, fill_value, bool(antialias)
        self.data_format = backend.standardize_data_format(data_format)
        self.built = True

    def call(self, inputs):
        x = fnp.asarray(inputs)
        is_int = np.dtype(x.dtype).kind in "iu"
        y = resize_images(x.astype(self.compute_dtype) if is_int else x, self.height, self.width,
                          self.interpolation, self.data_format, self.crop_to_aspect_ratio, self.pad_to_aspect_ratio,
                          self.fill_value)
        if is_int:
            info = np.iinfo(np.dtype(x.dtype))
            y = fnp.clip(fnp.round(y), info.min, info.max).astype(x.dtype)
        return y

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        ha, wa = _hw_axes(len(shape), self.data_format)
        shape[ha], shape[wa] = self.height, self.width
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation, "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias, "data_format": self.data_format}


class CenterCrop(Layer):
    """Crop the centre ``(height, width)`` of images; an image smaller than that is cropped to the target aspect
    ratio and resized (bilinear) instead, as Keras's ``smart_resize``."""

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height, self.width = int(height), int(width)
        self.data_format = backend.standardize_data_format(data_format)
        self.built = True

    def call(self, inputs):
        x = fnp.asarray(inputs).astype(self.compute_dtype)
        ha, wa = _hw_axes(x.ndim, self.data_format)
        dh, dw = x.shape[ha] - self.height, x.shape[wa] - self.width
        if dh >= 0 and dw >= 0:
            return _slice(x, (ha, wa), (dh // 2, dw // 2), (self.height, self.width))
        return resize_images(x, self.height, self.width, "bilinear", self.data_format, crop_to_aspect_ratio=True)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        ha, wa = _hw_axes(len(shape), self.data_format)
        shape[ha], shape[wa] = self.height, self.width
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width, "data_format": self.data_format}


__all__ = ["Rescaling", "Resizing", "CenterCrop"]
