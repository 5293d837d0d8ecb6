"""Lion (Chen et al. 2023), as Keras's ``Lion``."""

from __future__ import annotations

from typing import Any

import attrs

import fnflow.numpy as fnp
from fnflow.optim._keras import check_learning_rate, keras_optimizer
from fnflow.optim.base import GradientTransformation, map_grads, zeros_slots
from fnflow.optim.transform import scale_by_learning_rate


@attrs.frozen
class ScaleByLionState:
    """Lion's momentum, one slot per floating parameter."""

    momentum: Any


def scale_by_lion(beta_1=0.9, beta_2=0.99) -> GradientTransformation:
    """Lion's direction ``sign(beta_1 m + (1 - beta_1) g)``, then ``m = beta_2 m + (1 - beta_2) g``."""

    def init(params):
        return ScaleByLionState(zeros_slots(params))

    def update(grads, state, params=None):
        updates = map_grads(lambda g, m: fnp.sign(m * beta_1 + g * (1.0 - beta_1)), grads, state.momentum)
        m = map_grads(lambda g, m: m * beta_2 + g * (1.0 - beta_2), grads, state.momentum, keep=0)
        return updates, ScaleByLionState(m)

    return GradientTransformation(init, update)


def lion(learning_rate=0.001, beta_1=0.9, beta_2=0.99, *, weight_decay=None, weight_decay_mask=None,
         clipnorm=None, clipvalue=None, global_clipnorm=None) -> GradientTransformation:
    """Keras's ``Lion``: ``p -= lr * sign(beta_1 m + (1 - beta_1) g)``; ``m = beta_2 m + (1 - beta_2) g``.

    The keyword options are Keras's common ones; see :func:`fnflow.optim.adam`.
    """
    if beta_1 <= 0 or beta_1 > 1:
        raise ValueError("Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer degenerates to "
                         f"SignSGD. Received: beta_1={beta_1}.")
    return keras_optimizer(lambda lr: [scale_by_lion(beta_1, beta_2), scale_by_learning_rate(lr)],
                           check_learning_rate(learning_rate), weight_decay=weight_decay,
                           weight_decay_mask=weight_decay_mask, clipnorm=clipnorm, clipvalue=clipvalue,
                           global_clipnorm=global_clipnorm)
