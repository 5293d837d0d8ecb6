"""RMSprop, as Keras's ``RMSprop`` (plain or centered, with optional heavy-ball momentum)."""

from __future__ import annotations

from typing import Any

import attrs

import fnflow.numpy as fnp
from fnflow.optim._keras import check_learning_rate, keras_optimizer
from fnflow.optim.base import GradientTransformation, map_grads, zeros_slots
from fnflow.optim.sgd import trace
from fnflow.optim.transform import scale_by_learning_rate


@attrs.frozen
class ScaleByRmsState:
    """The mean square ``velocity`` and, when centered, the mean ``average_gradient`` (else ``None``)."""

    velocity: Any
    average_gradient: Any = None


def scale_by_rms(rho=0.9, epsilon=1e-7, centered=False) -> GradientTransformation:
    """RMSprop's direction ``g / sqrt(v + epsilon)`` with ``v = rho v + (1 - rho) g^2``.

    ``centered`` divides by ``sqrt(v - a^2 + epsilon)`` with ``a = rho a + (1 - rho) g``.
    """
    one_minus_rho = 1 - rho

    def init(params):
        return ScaleByRmsState(zeros_slots(params), zeros_slots(params) if centered else None)

    def update(grads, state, params=None):
        v = map_grads(lambda g, v: rho * v + one_minus_rho * fnp.square(g), grads, state.velocity, keep=0)
        if centered:
            a = map_grads(lambda g, a: rho * a + one_minus_rho * g, grads, state.average_gradient, keep=0)
            updates = map_grads(lambda g, v, a: g / fnp.sqrt(v - fnp.square(a) + epsilon), grads, v, a)
        else:
            a = None
            updates = map_grads(lambda g, v: g / fnp.sqrt(v + epsilon), grads, v)
        return updates, ScaleByRmsState(v, a)

    return GradientTransformation(init, update)


def rmsprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, *, weight_decay=None,
            weight_decay_mask=None, clipnorm=None, clipvalue=None, global_clipnorm=None) -> GradientTransformation:
    """Keras's ``RMSprop``: ``inc = lr g / sqrt(denominator)``; ``p -= inc``, or with momentum
    ``mom = momentum * mom + inc`` and ``p -= mom``.

    The keyword options are Keras's common ones; see :func:`fnflow.optim.adam`.
    """

    def core(lr):
        parts = [scale_by_rms(rho, epsilon, centered), scale_by_learning_rate(lr)]
        if momentum > 0:
            parts.append(trace(momentum))  # on -inc: the trace is Keras's -mom
        return parts

    return keras_optimizer(core, check_learning_rate(learning_rate), weight_decay=weight_decay,
                           weight_decay_mask=weight_decay_mask, clipnorm=clipnorm, clipvalue=clipvalue,
                           global_clipnorm=global_clipnorm)
