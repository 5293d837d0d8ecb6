"""Normalization layers: ``BatchNorm`` (explicit moving statistics) and ``LayerNorm``."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

import fnflow.numpy as fnp
import fnflow.random as fr
from fnflow.nn import initializers as inits
from fnflow.nn.module import Module, static_field
from fnflow.transforms.ad import stop_gradient

__all__ = ["BatchNorm", "BatchNormState", "LayerNorm"]


def _axes(axis):
    return (int(axis),) if isinstance(axis, (int, np.integer)) else tuple(int(a) for a in axis)


def _param_shape(ndim, axes, x_shape):
    """The shape that broadcasts a parameter over ``axes`` of an input of rank ``ndim``."""
    return tuple(x_shape[i] if i in axes else 1 for i in range(ndim))


def _norm_axes(axes, ndim, who):
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{who}: axis {a} is out of range for an input of rank {ndim}")
        out.append(a % ndim)
    return tuple(out)


@attrs.frozen
class BatchNormState:
    """The moving statistics of a :class:`BatchNorm` (a pytree, not trained by gradients)."""

    moving_mean: Any
    moving_variance: Any


@attrs.frozen
class BatchNorm(Module):
    """Batch normalization with Keras's defaults (``momentum=0.99``, ``epsilon=1e-3``, ``axis=-1``).

    ``y, new_state = bn(x, state, training=...)``. Training normalizes with the
    batch's mean and (biased) variance over every axis but ``axis`` and moves
    the statistics: ``moving = moving * momentum + batch * (1 - momentum)``.
    Inference normalizes with the moving statistics and returns ``state``
    unchanged. ``y = (x - mean) / sqrt(var + epsilon) * gamma + beta``.
    ``BatchNorm.init`` returns ``(layer, state)``.
    """

    gamma: Any
    beta: Any
    num_features: int = static_field(converter=int)
    axis: int = static_field(default=-1, converter=int)
    momentum: float = static_field(default=0.99, converter=float)
    epsilon: float = static_field(default=1e-3, converter=float)
    dtype: str = static_field(default="float32", converter=lambda d: np.dtype(d).name)

    stateful = True

    @classmethod
    def init(cls, key, num_features, *, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
             beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
             moving_variance_initializer="ones", dtype=np.float32):
        """``(layer, state)``: gamma ones and beta zeros of shape ``(num_features,)``, moving mean 0, variance 1."""
        kg, kb, km, kv = fr.split(key, 4)
        n = (int(num_features),)
        gamma = inits.get(gamma_initializer)(kg, n, dtype) if scale else None
        beta = inits.get(beta_initializer)(kb, n, dtype) if center else None
        layer = cls(gamma, beta, num_features, axis, momentum, epsilon, dtype)
        state = BatchNormState(inits.get(moving_mean_initializer)(km, n, dtype),
                               inits.get(moving_variance_initializer)(kv, n, dtype))
        return layer, state

    def init_state(self):
        """Fresh moving statistics: mean 0, variance 1."""
        n = (self.num_features,)
        return BatchNormState(fnp.zeros(n, self.dtype), fnp.ones(n, self.dtype))

    def __call__(self, x, state, *, training=False):
        if not isinstance(state, BatchNormState):
            raise TypeError(f"BatchNorm: expected its state (a BatchNormState, from BatchNorm.init or "
                            f"layer.init_state()) as the second argument, got {type(state).__name__}")
        x = fnp.asarray(x)
        ndim = fnp.ndim(x)
        (axis,) = _norm_axes((self.axis,), ndim, "BatchNorm")
        if x.shape[axis] != self.num_features:
            raise ValueError(f"BatchNorm: input shape {x.shape} has {x.shape[axis]} features on axis {self.axis}, "
                             f"the layer was built for {self.num_features}")
        pshape = _param_shape(ndim, (axis,), x.shape)
        if training:
            red = tuple(i for i in range(ndim) if i != axis)
            mean = fnp.mean(x, axis=red)
            var = fnp.var(x, axis=red)
            m = self.momentum
            new_state = BatchNormState(
                fnp.add(fnp.multiply(state.moving_mean, m), fnp.multiply(stop_gradient(mean), 1.0 - m)),
                fnp.add(fnp.multiply(state.moving_variance, m), fnp.multiply(stop_gradient(var), 1.0 - m)))
        else:
            mean, var, new_state = state.moving_mean, state.moving_variance, state
        inv = fnp.reciprocal(fnp.sqrt(fnp.add(var, np.asarray(self.epsilon, var.dtype))))
        if self.gamma is not None:
            inv = fnp.multiply(inv, self.gamma)
        y = fnp.multiply(fnp.subtract(x, fnp.reshape(mean, pshape)), fnp.reshape(inv, pshape))
        if self.beta is not None:
            y = fnp.add(y, fnp.reshape(self.beta, pshape))
        return y, new_state

    def apply(self, x, state=None, *, key=None, training=False):
        return self(x, state, training=training)


@attrs.frozen
class LayerNorm(Module):
    """Layer normalization over ``axis`` (Keras's defaults: ``axis=-1``, ``epsilon=1e-3``).

    ``y = (x - mean) / sqrt(var + epsilon) * gamma + beta`` with the mean and
    biased variance over ``axis`` (an int or a tuple) of each example.
    ``gamma`` and ``beta`` have the shape of the normalized axes.
    """

    gamma: Any
    beta: Any
    axis: tuple = static_field(default=(-1,), converter=_axes)
    epsilon: float = static_field(default=1e-3, converter=float)

    @classmethod
    def init(cls, key, shape, *, axis=-1, epsilon=1e-3, center=True, scale=True,
             beta_initializer="zeros", gamma_initializer="ones", dtype=np.float32):
        """A new layer; ``shape`` is the size (or sizes) of the normalized axes."""
        shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
        if len(shape) != len(_axes(axis)):
            raise ValueError(f"LayerNorm.init: shape {shape} needs one size per normalized axis {axis}")
        kg, kb = fr.split(key)
        gamma = inits.get(gamma_initializer)(kg, shape, dtype) if scale else None
        beta = inits.get(beta_initializer)(kb, shape, dtype) if center else None
        return cls(gamma, beta, axis, epsilon)

    def __call__(self, x):
        x = fnp.asarray(x)
        ndim = fnp.ndim(x)
        axes = _norm_axes(self.axis, ndim, "LayerNorm")
        mean = fnp.mean(x, axis=axes, keepdims=True)
        var = fnp.var(x, axis=axes, keepdims=True)
        y = fnp.multiply(fnp.subtract(x, mean), fnp.reciprocal(fnp.sqrt(fnp.add(var, np.asarray(self.epsilon,
                                                                                               var.dtype)))))
        # parameters are laid out in the order of self.axis; bring them into the input's axis order
        order = np.argsort(axes)
        pshape = _param_shape(ndim, axes, x.shape)
        for p, op in ((self.gamma, fnp.multiply), (self.beta, fnp.add)):
            if p is not None:
                if tuple(p.shape) != tuple(x.shape[a] for a in axes):
                    raise ValueError(f"LayerNorm: input shape {x.shape} does not match the parameter shape "
                                     f"{tuple(p.shape)} on axes {self.axis}")
                y = op(y, fnp.reshape(fnp.transpose(p, order), pshape))
        return y
