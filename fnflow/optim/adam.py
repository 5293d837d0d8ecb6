"""The Adam family, as Keras 3 computes it: ``adam``, ``adamw``, ``adamax``, ``nadam``.

The ``scale_by_*`` blocks give the update direction before the learning rate
(``p -= lr * direction``); the epsilon is Keras's "epsilon hat", added to the
square root of the uncorrected second moment.
"""

from __future__ import annotations

from typing import Any

import attrs

import fnflow.numpy as fnp
from fnflow.core import tree as tu
from fnflow.optim._keras import check_learning_rate, keras_optimizer
from fnflow.optim.base import GradientTransformation, is_float_leaf, map_grads, zeros_slots
from fnflow.optim.transform import scale_by_learning_rate


def _step(count, like):
    """Keras's ``local_step = iterations + 1``, in the dtype of ``like``."""
    return fnp.asarray(count + 1).astype(fnp.result_type(like))


@attrs.frozen
class ScaleByAdamState:
    """Adam's step count and slots (Keras's names); ``velocity_hat`` is ``None`` without AMSGrad."""

    count: Any
    momentum: Any
    velocity: Any
    velocity_hat: Any = None


def scale_by_adam(beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False) -> GradientTransformation:
    """Adam's direction: ``m * sqrt(1 - beta_2^t) / (1 - beta_1^t) / (sqrt(v) + epsilon)``.

    ``m += (g - m) * (1 - beta_1)``, ``v += (g^2 - v) * (1 - beta_2)``, ``t`` the
    1-based step; with ``amsgrad`` the running maximum of ``v`` replaces ``v``.
    """
    one_minus_b1, one_minus_b2 = 1 - beta_1, 1 - beta_2

    def init(params):
        return ScaleByAdamState(fnp.zeros((), fnp.int32), zeros_slots(params), zeros_slots(params),
                                zeros_slots(params) if amsgrad else None)

    def update(grads, state, params=None):
        m = map_grads(lambda g, m: m + (g - m) * one_minus_b1, grads, state.momentum, keep=0)
        v = map_grads(lambda g, v: v + (fnp.square(g) - v) * one_minus_b2, grads, state.velocity, keep=0)
        v_hat = None
        if amsgrad:
            v_hat = map_grads(lambda g, vh, v: fnp.maximum(vh, v), grads, state.velocity_hat, v, keep=0)

        def direction(g, m, v):
            t = _step(state.count, g)
            correction = fnp.sqrt(1 - fnp.power(beta_2, t)) / (1 - fnp.power(beta_1, t))
            return m * correction / (fnp.sqrt(v) + epsilon)

        updates = map_grads(direction, grads, m, v_hat if amsgrad else v)
        return updates, ScaleByAdamState(state.count + 1, m, v, v_hat)

    return GradientTransformation(init, update)


_COMMON_DOC = """
    Keras's common options: ``weight_decay`` (decoupled: ``p -= p * weight_decay * lr``
    before the update, on the leaves where ``weight_decay_mask`` — a pytree of bools
    or a callable ``params -> bools`` — is True), ``clipnorm`` (per variable),
    ``clipvalue``, ``global_clipnorm`` (at most one; clipping comes first).
    ``learning_rate`` is a float, kept in the state (``set_hyperparam``), or a
    schedule of the step count."""


def adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, *, weight_decay=None,
         weight_decay_mask=None, clipnorm=None, clipvalue=None, global_clipnorm=None) -> GradientTransformation:
    """Keras's ``Adam``: ``p -= lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)``."""
    return keras_optimizer(lambda lr: [scale_by_adam(beta_1, beta_2, epsilon, amsgrad), scale_by_learning_rate(lr)],
                           check_learning_rate(learning_rate), weight_decay=weight_decay,
                           weight_decay_mask=weight_decay_mask, clipnorm=clipnorm, clipvalue=clipvalue,
                           global_clipnorm=global_clipnorm)


def adamw(learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, *,
          weight_decay_mask=None, clipnorm=None, clipvalue=None, global_clipnorm=None) -> GradientTransformation:
    """Keras's ``AdamW``: Adam with decoupled weight decay (``weight_decay`` must be a float)."""
    if weight_decay is None:
        raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
    return adam(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay=weight_decay,
                weight_decay_mask=weight_decay_mask, clipnorm=clipnorm, clipvalue=clipvalue,
                global_clipnorm=global_clipnorm)


@attrs.frozen
class ScaleByAdamaxState:
    """Adamax's step count, first moment and exponentially weighted infinity norm."""

    count: Any
    momentum: Any
    norm: Any


def scale_by_adamax(beta_1=0.9, beta_2=0.999, epsilon=1e-7) -> GradientTransformation:
    """Adamax's direction: ``m / ((1 - beta_1^t) * (u + epsilon))`` with ``u = max(beta_2 * u, |g|)``."""
    one_minus_b1 = 1 - beta_1

    def init(params):
        return ScaleByAdamaxState(fnp.zeros((), fnp.int32), zeros_slots(params), zeros_slots(params))

    def update(grads, state, params=None):
        m = map_grads(lambda g, m: m + (g - m) * one_minus_b1, grads, state.momentum, keep=0)
        u = map_grads(lambda g, u: fnp.maximum(u * beta_2, fnp.abs(g)), grads, state.norm, keep=0)

        def direction(g, m, u):
            return m / ((1 - fnp.power(beta_1, _step(state.count, g))) * (u + epsilon))

        return map_grads(direction, grads, m, u), ScaleByAdamaxState(state.count + 1, m, u)

    return GradientTransformation(init, update)


def adamax(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, *, weight_decay=None,
           weight_decay_mask=None, clipnorm=None, clipvalue=None, global_clipnorm=None) -> GradientTransformation:
    """Keras's ``Adamax``: ``p -= lr * m / ((1 - beta_1^t) * (u + epsilon))``."""
    return keras_optimizer(lambda lr: [scale_by_adamax(beta_1, beta_2, epsilon), scale_by_learning_rate(lr)],
                           check_learning_rate(learning_rate), weight_decay=weight_decay,
                           weight_decay_mask=weight_decay_mask, clipnorm=clipnorm, clipvalue=clipvalue,
                           global_clipnorm=global_clipnorm)


@attrs.frozen
class ScaleByNadamState:
    """Nadam's step count, slots and the product of the momentum schedule ``u_product`` (a scalar)."""

    count: Any
    momentum: Any
    velocity: Any
    u_product: Any


def _first_float_dtype(params):
    for leaf in tu.tree_leaves(params):
        if is_float_leaf(leaf):
            return fnp.result_type(leaf)
    return fnp.float32


def scale_by_nadam(beta_1=0.9, beta_2=0.999, epsilon=1e-7) -> GradientTransformation:
    """Nadam's direction (Dozat 2015, with Keras's momentum schedule ``u_t = beta_1 (1 - 0.5 * 0.96^t)``).

    ``u_product`` becomes ``prod(u_1..u_t)`` before the step;
    ``m_hat = u_{t+1} m / (1 - u_product u_{t+1}) + (1 - u_t) g / (1 - u_product)``,
    ``v_hat = v / (1 - beta_2^t)``, direction ``m_hat / (sqrt(v_hat) + epsilon)``.
    """
    one_minus_b1, one_minus_b2 = 1 - beta_1, 1 - beta_2

    def init(params):
        # Keras keeps u_product in the dtype of the first variable
        return ScaleByNadamState(fnp.zeros((), fnp.int32), zeros_slots(params), zeros_slots(params),
                                 fnp.ones((), _first_float_dtype(params)))

    def update(grads, state, params=None):
        u_product = state.u_product * beta_1 * (1.0 - 0.5 * fnp.power(0.96, _step(state.count, state.u_product)))
        m = map_grads(lambda g, m: m + (g - m) * one_minus_b1, grads, state.momentum, keep=0)
        v = map_grads(lambda g, v: v + (fnp.square(g) - v) * one_minus_b2, grads, state.velocity, keep=0)

        def direction(g, m, v):
            t = _step(state.count, g)
            u_t = beta_1 * (1.0 - 0.5 * fnp.power(0.96, t))
            u_t_1 = beta_1 * (1.0 - 0.5 * fnp.power(0.96, t + 1))
            u_prod_t = u_product.astype(fnp.result_type(g))
            u_prod_t_1 = u_prod_t * u_t_1
            m_hat = u_t_1 * m / (1 - u_prod_t_1) + (1 - u_t) * g / (1 - u_prod_t)
            v_hat = v / (1 - fnp.power(beta_2, t))
            return m_hat / (fnp.sqrt(v_hat) + epsilon)

        return map_grads(direction, grads, m, v), ScaleByNadamState(state.count + 1, m, v, u_product)

    return GradientTransformation(init, update)


def nadam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, *, weight_decay=None,
          weight_decay_mask=None, clipnorm=None, clipvalue=None, global_clipnorm=None) -> GradientTransformation:
    """Keras's ``Nadam``: Adam with Nesterov momentum and the 0.96 momentum schedule."""
    return keras_optimizer(lambda lr: [scale_by_nadam(beta_1, beta_2, epsilon), scale_by_learning_rate(lr)],
                           check_learning_rate(learning_rate), weight_decay=weight_decay,
                           weight_decay_mask=weight_decay_mask, clipnorm=clipnorm, clipvalue=clipvalue,
                           global_clipnorm=global_clipnorm)


for _f in (adam, adamw, adamax, nadam):
    _f.__doc__ += "\n" + _COMMON_DOC
