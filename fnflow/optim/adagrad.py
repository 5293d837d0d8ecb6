"""Adagrad and Adadelta, as Keras's ``Adagrad`` and ``Adadelta``."""

from __future__ import annotations

from typing import Any

import attrs

import fnflow.numpy as fnp
from fnflow.optim._keras import check_learning_rate, keras_optimizer
from fnflow.optim.base import GradientTransformation, map_grads, zeros_slots
from fnflow.optim.transform import scale_by_learning_rate


@attrs.frozen
class ScaleByAdagradState:
    """The running sum of squared gradients (started at ``initial_accumulator_value``)."""

    accumulator: Any


def scale_by_adagrad(initial_accumulator_value=0.1, epsilon=1e-7) -> GradientTransformation:
    """Adagrad's direction ``g / sqrt(acc + epsilon)`` with ``acc += g^2``."""

    def init(params):
        return ScaleByAdagradState(zeros_slots(params, initial_accumulator_value))

    def update(grads, state, params=None):
        acc = map_grads(lambda g, a: a + fnp.square(g), grads, state.accumulator, keep=0)
        return map_grads(lambda g, a: g / fnp.sqrt(a + epsilon), grads, acc), ScaleByAdagradState(acc)

    return GradientTransformation(init, update)


def adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, *, weight_decay=None,
            weight_decay_mask=None, clipnorm=None, clipvalue=None, global_clipnorm=None) -> GradientTransformation:
    """Keras's ``Adagrad``: ``acc += g^2``; ``p -= lr g / sqrt(acc + epsilon)``.

    The keyword options are Keras's common ones; see :func:`fnflow.optim.adam`.
    """
    return keras_optimizer(lambda lr: [scale_by_adagrad(initial_accumulator_value, epsilon),
                                       scale_by_learning_rate(lr)],
                           check_learning_rate(learning_rate), weight_decay=weight_decay,
                           weight_decay_mask=weight_decay_mask, clipnorm=clipnorm, clipvalue=clipvalue,
                           global_clipnorm=global_clipnorm)


@attrs.frozen
class ScaleByAdadeltaState:
    """The running means of squared gradients and of squared steps."""

    accumulated_grad: Any
    accumulated_delta_var: Any


def scale_by_adadelta(rho=0.95, epsilon=1e-7) -> GradientTransformation:
    """Adadelta's direction ``sqrt(Ed + epsilon) / sqrt(Eg + epsilon) * g`` (Zeiler 2012, Keras's form).

    ``Eg = rho Eg + (1 - rho) g^2`` first; ``Ed`` is updated with the square of the
    step after it is used.
    """
    one_minus_rho = 1 - rho

    def init(params):
        return ScaleByAdadeltaState(zeros_slots(params), zeros_slots(params))

    def update(grads, state, params=None):
        eg = map_grads(lambda g, e: rho * e + one_minus_rho * fnp.square(g), grads, state.accumulated_grad, keep=0)
        step = map_grads(lambda g, ed, eg: fnp.sqrt(ed + epsilon) * g / fnp.sqrt(eg + epsilon),
                         grads, state.accumulated_delta_var, eg)
        ed = map_grads(lambda g, ed, d: rho * ed + one_minus_rho * fnp.square(d), grads,
                       state.accumulated_delta_var, step, keep=0)
        return step, ScaleByAdadeltaState(eg, ed)

    return GradientTransformation(init, update)


def adadelta(learning_rate=0.001, rho=0.95, epsilon=1e-7, *, weight_decay=None, weight_decay_mask=None,
             clipnorm=None, clipvalue=None, global_clipnorm=None) -> GradientTransformation:
    """Keras's ``Adadelta``: ``d = -sqrt(Ed + eps) / sqrt(Eg + eps) * g``; ``p += lr * d``.

    The keyword options are Keras's common ones; see :func:`fnflow.optim.adam`.
    """
    return keras_optimizer(lambda lr: [scale_by_adadelta(rho, epsilon), scale_by_learning_rate(lr)],
                           check_learning_rate(learning_rate), weight_decay=weight_decay,
                           weight_decay_mask=weight_decay_mask, clipnorm=clipnorm, clipvalue=clipvalue,
                           global_clipnorm=global_clipnorm)
