"""The frame shared by the Keras-compatible optimizers: clipping, learning rate in the state, weight decay."""

from __future__ import annotations

from fnflow.optim.base import GradientTransformation, chain
from fnflow.optim.clipping import keras_clipping
from fnflow.optim.transform import add_decayed_weights, inject_hyperparams


def keras_optimizer(core, learning_rate, *, weight_decay=None, weight_decay_mask=None, clipnorm=None,
                    clipvalue=None, global_clipnorm=None) -> GradientTransformation:
    """``core(learning_rate) -> [transforms]`` wrapped in Keras's common options.

    The result's state is a :class:`~fnflow.optim.transform.HyperparamsState`
    whose ``count`` is Keras's ``iterations`` and whose ``hyperparams`` hold
    ``learning_rate`` (and ``weight_decay`` when given). One update does what a
    Keras optimizer's ``apply`` does: clip the gradients (at most one of
    ``clipnorm`` per variable, ``global_clipnorm``, ``clipvalue``), take the
    update of ``core`` (which already carries ``-learning_rate``), and decay the
    weights: ``p -= p * weight_decay * learning_rate`` where ``weight_decay_mask``
    (pytree of bools or callable ``params -> bools``) is True.
    """
    clipping = keras_clipping(clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm)

    def factory(learning_rate, weight_decay=None):
        parts = [] if clipping is None else [clipping]
        parts.extend(core(learning_rate))
        if weight_decay is not None:
            parts.append(add_decayed_weights(-weight_decay * learning_rate, weight_decay_mask))
        return chain(*parts)

    kwargs = {"learning_rate": learning_rate}
    if weight_decay is not None:
        kwargs["weight_decay"] = float(weight_decay)
    return inject_hyperparams(factory, names=("learning_rate", "weight_decay"))(**kwargs)


def check_learning_rate(learning_rate):
    """A float (from a number or scalar array) or a schedule: any callable of the step count."""
    if callable(learning_rate):
        return learning_rate
    try:
        return float(learning_rate)
    except (TypeError, ValueError):
        raise TypeError(f"learning_rate should be a float or a schedule (a callable of the step count), "
                        f"got {type(learning_rate).__name__}") from None
