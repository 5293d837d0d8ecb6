"""The frame shared by the Keras-compatible optimizers: clipping, learning rate in the state, weight decay."""

from __future__ import annotations

import fnflow.numpy as fnp
from fnflow.optim.base import EmptyState, GradientTransformation, cast_like, chain, map_grads
from fnflow.optim.clipping import keras_clipping
from fnflow.optim.transform import apply_mask, inject_hyperparams


def _decay_weights(weight_decay, learning_rate, mask) -> GradientTransformation:
    """Add ``-p * weight_decay * learning_rate`` to the updates, each factor in the parameter's dtype (as Keras)."""

    def update(grads, state, params=None):
        if params is None:
            raise ValueError("weight_decay needs the parameters: call update(grads, state, params)")
        target = params if mask is None else apply_mask(mask, params)

        def add(u, p):
            if p is None:
                return u
            p = fnp.asarray(p)
            return u - p * weight_decay * cast_like(learning_rate, p)

        return map_grads(add, grads, target), state

    return GradientTransformation(lambda params: EmptyState(), update)


def keras_optimizer(core, learning_rate, *, weight_decay=None, weight_decay_mask=None, clipnorm=None,
                    clipvalue=None, global_clipnorm=None) -> GradientTransformation:
    """``core(learning_rate) -> [transforms]`` wrapped in Keras's common options.

    The result's state is a :class:`~fnflow.optim.transform.HyperparamsState`
    whose ``count`` is Keras's ``iterations`` and whose ``hyperparams`` hold
    ``learning_rate``. One update does what a
    Keras optimizer's ``apply`` does: clip the gradients (at most one of
    ``clipnorm`` per variable, ``global_clipnorm``, ``clipvalue``), take the
    update of ``core`` (which already carries ``-learning_rate``), and decay the
    weights: ``p -= p * weight_decay * learning_rate`` where ``weight_decay_mask``
    (pytree of bools or callable ``params -> bools``) is True.
    """
    clipping = keras_clipping(clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm)

    wd = None if weight_decay is None else float(weight_decay)  # a Python float, as Keras keeps it

    def factory(learning_rate):
        parts = [] if clipping is None else [clipping]
        parts.extend(core(learning_rate))
        if wd is not None:
            parts.append(_decay_weights(wd, learning_rate, weight_decay_mask))
        return chain(*parts)

    return inject_hyperparams(factory)(learning_rate=learning_rate)


def check_learning_rate(learning_rate):
    """A float (from a number or scalar array) or a schedule: any callable of the step count."""
    if callable(learning_rate):
        return learning_rate
    try:
        return float(learning_rate)
    except (TypeError, ValueError):
        raise TypeError(f"learning_rate should be a float or a schedule (a callable of the step count), "
                        f"got {type(learning_rate).__name__}") from None
