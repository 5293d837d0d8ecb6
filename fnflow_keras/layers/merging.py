"""Merge layers: Concatenate, Add, Subtract, Multiply, Average, Maximum, Minimum, Dot (+ functional forms)."""

from __future__ import annotations

import functools

import fnflow.numpy as fnp
from fnflow_keras.layers.layer import Layer


def _broadcast_shape(shapes):
    rank = max(len(s) for s in shapes)
    out = []
    for dims in zip(*[(1,) * (rank - len(s)) + tuple(s) for s in shapes]):
        known = [d for d in dims if d is not None and d != 1]
        out.append(known[0] if known else (None if None in dims else 1))
    return tuple(out)


class Merge(Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not input_shape or not isinstance(input_shape[0], tuple):
            raise ValueError(f"A merge layer should be called on a list of inputs. Received: "
                             f"input_shape={input_shape}")
        self.built = True

    def call(self, inputs):
        return functools.reduce(self._merge, inputs)

    def compute_mask(self, inputs, mask=None):
        """Keras: the OR of the inputs' masks (None when one input has none)."""
        if mask is None or not isinstance(mask, (list, tuple)) or any(m is None for m in mask):
            return None
        return functools.reduce(fnp.logical_or, [fnp.asarray(m) for m in mask])

    def compute_output_shape(self, input_shape):
        return _broadcast_shape(input_shape)


class Add(Merge):
    """Elementwise sum of a list of inputs."""

    _merge = staticmethod(fnp.add)


class Subtract(Merge):
    """``inputs[0] - inputs[1]``."""

    def call(self, inputs):
        if len(inputs) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs. Received: {len(inputs)}")
        return inputs[0] - inputs[1]


class Multiply(Merge):
    """Elementwise product."""

    _merge = staticmethod(fnp.multiply)


class Maximum(Merge):
    """Elementwise maximum."""

    _merge = staticmethod(fnp.maximum)


class Minimum(Merge):
    """Elementwise minimum."""

    _merge = staticmethod(fnp.minimum)


class Average(Merge):
    """Elementwise mean."""

    def call(self, inputs):
        return functools.reduce(fnp.add, inputs) / len(inputs)


class Concatenate(Merge):
    """Concatenation along ``axis`` (default the last)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        return fnp.concatenate(list(inputs), axis=self.axis)

    def compute_mask(self, inputs, mask=None):
        """Keras: the masks (all-True for unmasked inputs) concatenated along ``axis``, then any over the last."""
        if mask is None or not isinstance(mask, (list, tuple)) or all(m is None for m in mask):
            return None
        masks = []
        for x, m in zip(inputs, mask):
            if m is None:
                m = fnp.ones(x.shape, "bool")
            elif m.ndim < x.ndim:
                m = fnp.logical_or(fnp.expand_dims(m, -1), fnp.zeros(x.shape, "bool"))
            masks.append(m)
        return fnp.any(fnp.concatenate(masks, axis=self.axis), axis=-1)

    def compute_output_shape(self, input_shape):
        out = list(input_shape[0])
        ax = self.axis % len(out)
        sizes = [s[ax] for s in input_shape]
        out[ax] = None if None in sizes else sum(sizes)
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(Merge):
    """Dot product of two tensors along ``axes`` (optionally L2-normalized first: cosine proximity)."""

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        self.axes = axes
        self.normalize = normalize

    def _axes(self, shapes):
        axes = self.axes if isinstance(self.axes, (list, tuple)) else (self.axes, self.axes)
        return [a % len(s) for a, s in zip(axes, shapes)]

    def call(self, inputs):
        x, y = inputs
        ax, ay = self._axes([x.shape, y.shape])
        if self.normalize:
            x = x / fnp.sqrt(fnp.maximum(fnp.sum(x * x, axis=ax, keepdims=True), 1e-12))
            y = y / fnp.sqrt(fnp.maximum(fnp.sum(y * y, axis=ay, keepdims=True), 1e-12))
        # batched contraction: batch axis 0 shared, ax of x with ay of y
        xm = fnp.moveaxis(x, ax, -1)
        ym = fnp.moveaxis(y, ay, 1)
        out = _batch_dot(xm, ym)
        if out.ndim == 1:
            out = fnp.expand_dims(out, -1)
        return out

    def compute_output_shape(self, input_shape):
        sx, sy = input_shape
        ax, ay = self._axes([sx, sy])
        out = [d for i, d in enumerate(sx) if i != ax] + [d for i, d in enumerate(sy) if i not in (0, ay)]
        return tuple(out) if len(out) > 1 else (out[0], 1)

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _batch_dot(x, y):
    """``x (b, ..., k)`` and ``y (b, k, ...)`` -> ``(b, ..., ...)``."""
    b, k = x.shape[0], x.shape[-1]
    xr = fnp.reshape(x, (b, -1, k))
    yr = fnp.reshape(y, (b, k, -1))
    out = fnp.matmul(xr, yr)
    return fnp.reshape(out, (b,) + tuple(x.shape[1:-1]) + tuple(y.shape[2:]))


def _functional(cls):
    def f(inputs, **kwargs):
        return cls(**kwargs)(inputs)

    f.__name__ = cls.__name__.lower()
    f.__doc__ = f"Functional interface to the ``{cls.__name__}`` layer."
    return f


add, subtract, multiply, average, maximum, minimum = (_functional(c) for c in (Add, Subtract, Multiply, Average,
                                                                                Maximum, Minimum))


def concatenate(inputs, axis=-1, **kwargs):
    """Functional interface to ``Concatenate``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, normalize=False, **kwargs):
    """Functional interface to ``Dot``."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)


__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot", "add", "subtract",
           "multiply", "average", "maximum", "minimum", "concatenate", "dot"]
