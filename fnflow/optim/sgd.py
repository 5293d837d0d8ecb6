"""Stochastic gradient descent with (Nesterov) momentum, as Keras's ``SGD``."""

from __future__ import annotations

from typing import Any

import attrs

from fnflow.optim._keras import check_learning_rate, keras_optimizer
from fnflow.optim.base import GradientTransformation, cast_like, map_grads, zeros_slots
from fnflow.optim.transform import scale_by_learning_rate


@attrs.frozen
class TraceState:
    """The momentum buffer of :func:`trace`, one slot per floating parameter."""

    momentum: Any


def trace(decay, nesterov: bool = False) -> GradientTransformation:
    """Momentum: ``m = decay * m + u``; the update is ``m``, or ``decay * m + u`` with ``nesterov``.

    Placed after the learning-rate scaling (``u = -lr * g``) it is Keras's SGD
    momentum, with ``m`` Keras's ``momentum`` variable.
    """

    def init(params):
        return TraceState(zeros_slots(params))

    def update(grads, state, params=None):
        new_m = map_grads(lambda g, m: m * cast_like(decay, g) + g, grads, state.momentum, keep=0)
        if nesterov:
            updates = map_grads(lambda g, m: m * cast_like(decay, g) + g, grads, new_m)
        else:
            updates = map_grads(lambda g, m: m, grads, new_m)
        return updates, TraceState(new_m)

    return GradientTransformation(init, update)


def sgd(learning_rate=0.01, momentum=0.0, nesterov=False, *, weight_decay=None, weight_decay_mask=None,
        clipnorm=None, clipvalue=None, global_clipnorm=None) -> GradientTransformation:
    """Keras's ``SGD``: ``p -= lr * g``, or with momentum ``m = momentum * m - lr * g`` and
    ``p += m`` (``p += momentum * m - lr * g`` with ``nesterov``).

    ``learning_rate`` is a float (kept in the state, see ``set_hyperparam``) or a
    schedule of the step count. The keyword options are Keras's common ones; see
    :func:`fnflow.optim.adam` for their meaning.
    """
    if not isinstance(momentum, (int, float)) or isinstance(momentum, bool) or not 0 <= momentum <= 1:
        raise ValueError("`momentum` must be a float between [0, 1].")
    momentum = float(momentum)

    def core(lr):
        parts = [scale_by_learning_rate(lr)]
        if momentum != 0:
            parts.append(trace(momentum, nesterov))
        return parts

    return keras_optimizer(core, check_learning_rate(learning_rate), weight_decay=weight_decay,
                           weight_decay_mask=weight_decay_mask, clipnorm=clipnorm, clipvalue=clipvalue,
                           global_clipnorm=global_clipnorm)
