"""Gradient clipping, with Keras's formulas (``clipvalue``, ``clipnorm``, ``global_clipnorm``)."""

from __future__ import annotations

import fnflow.numpy as fnp
from fnflow.optim.base import EmptyState, GradientTransformation, grad_leaves, map_grads


def _stateless(update):
    return GradientTransformation(lambda params: EmptyState(), update)


def clip(max_delta) -> GradientTransformation:
    """Clip each gradient element to ``[-max_delta, max_delta]`` (Keras's ``clipvalue``)."""

    def update(grads, state, params=None):
        return map_grads(lambda g: fnp.clip(g, -max_delta, max_delta), grads), state

    return _stateless(update)


def clip_by_norm(max_norm) -> GradientTransformation:
    """Rescale each gradient leaf whose L2 norm exceeds ``max_norm`` to that norm (Keras's ``clipnorm``).

    As Keras: ``g * max_norm / maximum(norm(g), max_norm)``, per variable.
    """

    def one(g):
        sq = fnp.sum(fnp.square(g))
        # the two-sided where keeps the derivative finite at g == 0
        norm = fnp.where(sq > 0, fnp.sqrt(fnp.where(sq > 0, sq, fnp.ones_like(sq))), sq)
        return g * max_norm / fnp.maximum(norm, max_norm)

    def update(grads, state, params=None):
        return map_grads(one, grads), state

    return _stateless(update)


def global_norm(tree):
    """The L2 norm of all the (non-``None``) leaves of ``tree`` together."""
    leaves = grad_leaves(tree)
    if not leaves:
        return fnp.zeros((), fnp.float32)
    return fnp.sqrt(sum(fnp.sum(fnp.square(g)) for g in leaves))


def clip_by_global_norm(max_norm) -> GradientTransformation:
    """Scale all gradients by ``min(1, max_norm / global_norm)`` (Keras's ``global_clipnorm``).

    As Keras, a non-finite global norm makes every gradient NaN.
    """

    def update(grads, state, params=None):
        norm = global_norm(grads)
        factor = max_norm * fnp.minimum(1.0 / norm, 1.0 / max_norm) + (norm - norm)
        return map_grads(lambda g: g * factor.astype(fnp.result_type(g)), grads), state

    return _stateless(update)


def keras_clipping(clipnorm=None, clipvalue=None, global_clipnorm=None):
    """The clipping transform of Keras's optimizer options (``None`` when none is set).

    Keras accepts at most one of them and ignores a zero or negative value.
    """
    given = [n for n, v in (("clipnorm", clipnorm), ("clipvalue", clipvalue), ("global_clipnorm", global_clipnorm))
             if v is not None]
    if len(given) > 1:
        raise ValueError(f"Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
                         f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}")
    if clipnorm and clipnorm > 0:
        return clip_by_norm(clipnorm)
    if global_clipnorm and global_clipnorm > 0:
        return clip_by_global_norm(global_clipnorm)
    if clipvalue and clipvalue > 0:
        return clip(clipvalue)
    return None
