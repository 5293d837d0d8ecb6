"""Generic building blocks: scaling, learning rates, weight decay, masks and hyper-parameters in the state."""

from __future__ import annotations

from typing import Any, Callable

import attrs
import numpy as np

import fnflow.numpy as fnp
from fnflow.core import tree as tu
from fnflow.optim.base import EmptyState, GradientTransformation, cast_like, map_grads


def scale(step_size) -> GradientTransformation:
    """Multiply the updates by ``step_size`` (a number or a scalar array)."""

    def update(grads, state, params=None):
        return map_grads(lambda g: g * cast_like(step_size, g), grads), state

    return GradientTransformation(lambda params: EmptyState(), update)


@attrs.frozen
class ScaleByScheduleState:
    """The step count (int32) a schedule is evaluated at."""

    count: Any


def scale_by_learning_rate(learning_rate, *, flip_sign: bool = True) -> GradientTransformation:
    """Multiply the updates by ``-learning_rate`` (``+`` with ``flip_sign=False``).

    ``learning_rate`` is a number, a scalar array (possibly traced, as inside
    :func:`inject_hyperparams`) or a schedule ``step -> rate``, evaluated at the
    count of updates done before this one.
    """
    sign = -1.0 if flip_sign else 1.0
    if callable(learning_rate):
        def init(params):
            return ScaleByScheduleState(fnp.zeros((), fnp.int32))

        def update(grads, state, params=None):
            lr = learning_rate(state.count)
            return (map_grads(lambda g: g * cast_like(sign * lr, g), grads),
                    ScaleByScheduleState(state.count + 1))

        return GradientTransformation(init, update)
    if isinstance(learning_rate, (int, float)):
        return scale(sign * learning_rate)
    return scale(-fnp.asarray(learning_rate) if flip_sign else learning_rate)


def _mask_leaves(mask, tree):
    """One bool per leaf of ``tree`` (``None`` leaves included) from ``mask``: a bool, a prefix tree or a callable."""
    if callable(mask):
        mask = mask(tree)
    if isinstance(mask, (bool, np.bool_)):
        return [bool(mask)] * len(tu.tree_leaves(tree, is_leaf=lambda x: x is None))
    return [bool(m) for m in tu.broadcast_prefix(mask, tree, is_leaf=lambda x: x is None, what="mask")]


def apply_mask(mask, tree, fill=None):
    """``tree`` with the leaves whose mask is False replaced by ``fill``."""
    leaves, td = tu.tree_flatten(tree, is_leaf=lambda x: x is None)
    keep = _mask_leaves(mask, tree)
    return td.unflatten([x if k else fill for x, k in zip(leaves, keep)])


def add_decayed_weights(weight_decay=0.0, mask=None) -> GradientTransformation:
    """Add ``weight_decay * params`` to the updates (needs ``params``).

    ``mask`` (a pytree of bools matching the parameters, or a prefix of it, or
    a callable ``params -> such a tree``) limits the decay to the leaves where it
    is True. ``weight_decay`` may be a traced scalar.
    """

    def update(grads, state, params=None):
        if params is None:
            raise ValueError("add_decayed_weights needs the parameters: call update(grads, state, params)")
        target = params if mask is None else apply_mask(mask, params)

        def add(g, p):
            if p is None:
                return g
            return g + fnp.asarray(p).astype(fnp.result_type(g)) * cast_like(weight_decay, g)

        return map_grads(add, grads, target), state

    return GradientTransformation(lambda params: EmptyState(), update)


@attrs.frozen
class MaskedState:
    """The state of the inner transform of :func:`masked`, built on the selected leaves only."""

    inner_state: Any


def masked(inner: GradientTransformation, mask) -> GradientTransformation:
    """Apply ``inner`` to the leaves where ``mask`` is True; pass the other updates through unchanged.

    ``mask`` is a pytree of bools with the structure of the parameters (or a
    prefix of it), or a callable ``params -> such a tree``. The inner transform
    sees ``None`` in place of the unselected leaves, so it keeps no slots for them.
    """

    def init(params):
        return MaskedState(inner.init(apply_mask(mask, params)))

    def update(grads, state, params=None):
        m = mask(params if params is not None else grads) if callable(mask) else mask
        sel = _mask_leaves(m, grads)
        leaves, td = tu.tree_flatten(grads, is_leaf=lambda x: x is None)
        inner_grads = td.unflatten([g if k else None for g, k in zip(leaves, sel)])
        inner_params = None if params is None else apply_mask(mask, params)
        upd, new_inner = inner.update(inner_grads, state.inner_state, inner_params)
        upd_leaves = td.flatten_up_to(upd, what="updates of the masked transform")
        return td.unflatten([u if k else g for g, u, k in zip(leaves, upd_leaves, sel)]), MaskedState(new_inner)

    return GradientTransformation(init, update)


# ------------------------------------------------------------ hyper-parameters in the state


@attrs.frozen
class HyperparamsState:
    """State of :func:`inject_hyperparams`: the step count, the hyper-parameters as arrays, the inner state.

    ``count`` is the number of updates done (int32; Keras's ``iterations``).
    ``hyperparams`` maps names to scalar arrays: replacing one of them (see
    :func:`~fnflow.optim.set_hyperparam`) changes the optimizer without
    retracing a jitted step. A scheduled hyper-parameter holds the value the
    next update will use; its name is in the static ``scheduled``.
    """

    count: Any
    hyperparams: dict
    inner_state: Any
    scheduled: tuple = tu.static_field(default=())


def inject_hyperparams(factory: Callable[..., GradientTransformation], names=("learning_rate",),
                       dtype=np.float32) -> Callable[..., GradientTransformation]:
    """Make the hyper-parameters ``names`` of ``factory(**kwargs)`` live in the optimizer state.

    ``inject_hyperparams(factory)(**kwargs)`` is a transform whose state is a
    :class:`HyperparamsState`. Each named keyword is a number (stored as a
    scalar array of ``dtype``, float32 like Keras's learning-rate variable) or a
    schedule ``step -> value`` (evaluated at the count of updates done before the
    current one). The inner transform is rebuilt at each update with the current
    values, as arrays, so ``factory`` must accept arrays for them; the other
    keywords are passed through unchanged.
    """

    def make(**kwargs):
        dynamic = {n: kwargs.pop(n) for n in names if n in kwargs}
        scheduled = tuple(sorted(n for n, v in dynamic.items() if callable(v)))

        def values_at(count, hp):
            out = dict(hp)
            for n in scheduled:
                out[n] = fnp.asarray(dynamic[n](count)).astype(dtype)
            return out

        def init(params):
            count = fnp.zeros((), fnp.int32)
            hp = {n: fnp.asarray(v, dtype=dtype) for n, v in dynamic.items() if n not in scheduled}
            hp = values_at(count, hp)
            inner = factory(**kwargs, **hp)
            return HyperparamsState(count, hp, inner.init(params), scheduled)

        def update(grads, state, params=None):
            hp = values_at(state.count, state.hyperparams)
            inner = factory(**kwargs, **hp)
            updates, inner_state = inner.update(grads, state.inner_state, params)
            count = state.count + 1
            # what the next update will use, as Keras's optimizer.learning_rate reports it
            return updates, HyperparamsState(count, values_at(count, hp), inner_state, scheduled)

        return GradientTransformation(init, update)

    return make
