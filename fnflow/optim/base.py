"""The optimizer contract: a pair of pure functions, their composition and the tree helpers they share.

A :class:`GradientTransformation` is ``(init, update)``:

- ``init(params) -> state``: a pytree of arrays (records of this package are
  attrs frozen classes or NamedTuples), so states go through ``jit``,
  ``tree_map`` and checkpoints;
- ``update(grads, state, params=None) -> (updates, new_state)``.

``apply_updates(params, updates)`` adds them. A ``None`` gradient leaf (what
``grad`` gives for an integer leaf) means "no gradient": the update there is
``None``, the transform's slots for that parameter are kept, and
``apply_updates`` leaves the parameter unchanged.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np

import fnflow.numpy as fnp
from fnflow.core import tree as tu


class GradientTransformation(NamedTuple):
    """``init(params) -> state`` and ``update(grads, state, params=None) -> (updates, state)``."""

    init: Callable
    update: Callable


class EmptyState(NamedTuple):
    """The state of a transform that keeps none (a pytree without leaves)."""


def _is_none(x):
    return x is None


def map_grads(f, grads, *rest, keep=None):
    """Map ``f(g, *xs)`` over the gradient leaves of ``grads``, ``xs`` the matching subtrees of ``rest``.

    Where a gradient is ``None`` the output is ``None``, or with ``keep=i`` the
    subtree of ``rest[i]`` there (a slot that no gradient updates stays as it was).
    The result has the structure of ``grads`` with those subtrees in place.
    """
    leaves, td = tu.tree_flatten(grads, is_leaf=_is_none)
    others = [td.flatten_up_to(r, what="optimizer state") for r in rest]
    out = []
    for g, *xs in zip(leaves, *others):
        if g is None:
            out.append(None if keep is None else xs[keep])
        else:
            out.append(f(g, *xs))
    return td.unflatten(out)


def grad_leaves(grads):
    """The non-``None`` leaves of ``grads``."""
    return [g for g in tu.tree_leaves(grads, is_leaf=_is_none) if g is not None]


def is_float_leaf(x) -> bool:
    """Whether ``x`` is an inexact (floating or complex) array or scalar: a leaf that gets optimizer slots."""
    dt = getattr(x, "dtype", None)
    if dt is None:
        return isinstance(x, (float, complex))
    return np.issubdtype(np.dtype(dt), np.inexact)


def zeros_slots(params, fill=0.0):
    """A slot per floating leaf of ``params`` (``fill`` in its shape and dtype); ``None`` for other leaves."""
    return tu.tree_map(lambda p: fnp.full(fnp.shape(p), fill, fnp.result_type(p)) if is_float_leaf(p) else None,
                       params)


def cast_like(x, like):
    """``x`` (a Python number, array or tracer hyper-parameter) in the dtype of the array ``like``.

    Python numbers stay weakly typed; arrays are cast, as Keras casts its
    learning rate variable to each variable's dtype.
    """
    if isinstance(x, (int, float)):
        return x
    return fnp.asarray(x).astype(fnp.result_type(like))


def identity() -> GradientTransformation:
    """Pass the gradients through unchanged."""
    return GradientTransformation(lambda params: EmptyState(), lambda grads, state, params=None: (grads, state))


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Apply ``transforms`` one after the other; the state is the tuple of their states."""
    transforms = tuple(transforms)

    def init(params):
        return tuple(t.init(params) for t in transforms)

    def update(grads, state, params=None):
        if len(state) != len(transforms):
            raise ValueError(f"chain: the state has {len(state)} entries for {len(transforms)} transforms")
        new_state = []
        for t, s in zip(transforms, state):
            grads, s = t.update(grads, s, params)
            new_state.append(s)
        return grads, tuple(new_state)

    return GradientTransformation(init, update)


def apply_updates(params, updates):
    """``params + updates`` leafwise, in the parameters' dtypes; a ``None`` update leaves the parameter as it is."""

    def add(u, p):
        if p is None:
            return None
        return (fnp.asarray(p) + u).astype(fnp.result_type(p))

    return map_grads(add, updates, params, keep=0)


# ------------------------------------------------------------------ hyper-parameters


def _hyper_nodes(state):
    """Yield every state record that carries a ``hyperparams`` dict, outermost first."""
    from fnflow.optim.transform import HyperparamsState

    leaves = tu.tree_leaves(state, is_leaf=lambda x: isinstance(x, HyperparamsState))
    for leaf in leaves:
        if isinstance(leaf, HyperparamsState):
            yield leaf
            yield from _hyper_nodes(leaf.inner_state)


def hyperparam_names(state) -> list[str]:
    """The names of the hyper-parameters held in ``state`` (nested and chained states included)."""
    names = []
    for node in _hyper_nodes(state):
        names.extend(n for n in node.hyperparams if n not in names)
    return names


def get_hyperparam(state, name: str):
    """The current value of hyper-parameter ``name`` in ``state`` (the outermost one if several hold it).

    For a scheduled learning rate this is the rate the next update will use,
    like Keras's ``optimizer.learning_rate``.
    """
    for node in _hyper_nodes(state):
        if name in node.hyperparams:
            return node.hyperparams[name]
    raise KeyError(f"no hyper-parameter {name!r} in this optimizer state; it holds {hyperparam_names(state)}")


def set_hyperparam(state, name: str, value: Any):
    """A copy of ``state`` with hyper-parameter ``name`` set to ``value`` everywhere it is held.

    The value keeps the dtype and shape of the old leaf, so a jitted train step
    that takes the state as an argument runs again without retracing. Works on
    concrete states and, inside a traced function, with a traced ``value``.
    """
    from fnflow.optim.transform import HyperparamsState

    found = []

    def replace(node):
        if not isinstance(node, HyperparamsState):
            return node
        hp = node.hyperparams
        if name in hp:
            if name in node.scheduled:
                raise TypeError(f"set_hyperparam: {name!r} follows a schedule and cannot be set; create the "
                                f"optimizer with a constant {name} to be able to change it during training")
            old = hp[name]
            new = fnp.asarray(value).astype(fnp.result_type(old))
            if fnp.shape(new) != fnp.shape(old):
                raise ValueError(f"set_hyperparam: {name!r} has shape {fnp.shape(old)}, got a value of shape "
                                 f"{fnp.shape(new)}")
            hp = dict(hp, **{name: new})
            found.append(True)
        return HyperparamsState(node.count, hp, _walk(node.inner_state), node.scheduled)

    def _walk(s):
        return tu.tree_map(replace, s, is_leaf=lambda x: isinstance(x, HyperparamsState))

    out = _walk(state)
    if not found:
        raise KeyError(f"set_hyperparam: no hyper-parameter {name!r} in this optimizer state; it holds "
                       f"{hyperparam_names(state)}")
    return out
