"""The module system: a layer is an immutable attrs record that is a pytree.

A layer class is an ``@attrs.frozen`` subclass of :class:`Module`. Its array
fields are its parameters (pytree leaves: ``grad``, ``tree_map``, optimizers
and checkpoints see them); fields declared with :func:`static_field` are its
configuration (aux data of the pytree: hashable, never differentiated, part
of ``jit``'s cache key)::

    @attrs.frozen
    class Scale(Module):
        w: Array
        axis: int = static_field(default=-1)

        def __call__(self, x):
            return fnp.multiply(x, self.w)

Layers are built by a classmethod ``Layer.init(key, ...)`` and applied by
calling them. They are never mutated: :func:`tree_at` (or ``attrs.evolve``)
returns an edited copy.

**The calling protocol.** Every module also has the uniform method
``apply(x, state=None, *, key=None, training=False) -> (y, new_state)`` and
``init_state()`` (``None`` for stateless modules). The default ``apply``
calls ``self(x)`` and passes the state through; layers that need a key
(``Dropout``), a training flag or a state (``BatchNorm``) override it. Class
attributes say what a layer takes: ``stateful`` (its call is
``layer(x, state, training=...) -> (y, new_state)``) and ``stochastic``
(its call takes ``key=`` and ``training=``). :class:`fnflow.nn.Sequential`
drives its layers through ``apply`` only, so any module that honours it,
including user-written ones and nested ``Sequential`` models, composes.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from fnflow.core import tree as tu
from fnflow.nn import activations as _act

__all__ = ["Module", "tree_at", "get_activation", "static_field"]

static_field = tu.static_field


@attrs.frozen
class Module:
    """Base class of the layers: an attrs frozen record (see the module docstring)."""

    stateful: ClassVar[bool] = False
    stochastic: ClassVar[bool] = False

    def init_state(self):
        """The initial state of a stateful module (``None`` when it has none)."""
        return None

    def apply(self, x, state=None, *, key=None, training=False):
        """The uniform call: ``(y, new_state)``. Stateless, deterministic layers ignore the extras."""
        del key, training
        return self(x), state

    def __call__(self, x):  # pragma: no cover - every layer defines it
        raise NotImplementedError(f"{type(self).__name__} does not define __call__")


# ----------------------------------------------------------- activations

_KERAS_NAMES = {"swish": "silu", "softsign": "soft_sign", "hard_swish": "hard_silu"}


def _linear(x):
    return x


def get_activation(spec):
    """An activation function from a Keras name (``"relu"``, ``"tanh"``, ``"linear"`` ...),
    a function (returned as is) or ``None`` (the identity)."""
    if spec is None:
        return _linear
    if callable(spec):
        return spec
    if isinstance(spec, str):
        if spec == "linear":
            return _linear
        fn = getattr(_act, _KERAS_NAMES.get(spec, spec), None)
        if fn is None or spec.startswith("_") or not callable(fn):
            raise ValueError(f"unknown activation {spec!r}; use a name from fnflow.nn.activations, "
                             f"'linear', or a function")
        return fn
    raise TypeError(f"activation must be a name, a function or None, got {type(spec).__name__}")


def _check_activation(inst, attribute, value):
    get_activation(value)


activation_field = lambda default=None: tu.static_field(default=default, validator=_check_activation)  # noqa: E731


# --------------------------------------------------------------- tree_at


class _Marker:
    """Stands for one leaf (or ``None``) of the tree while ``where`` runs: a unique object to find again."""

    __slots__ = ()


def _children(node):
    """The immediate children of a pytree node and a function rebuilding it from new children."""
    if node is None:
        return None
    leaves, treedef = tu.tree_flatten(node, is_leaf=lambda y: y is not node)
    if tu.treedef_is_leaf(treedef):
        return None
    return leaves, treedef.unflatten


def _rebuild(node, fn, path=()):
    """Rebuild ``node`` bottom-up, every subtree (and leaf) passed through ``fn(path, rebuilt)``."""
    parts = _children(node)
    if parts is not None:
        kids, unflatten = parts
        node = unflatten([_rebuild(k, fn, path + (i,)) for i, k in enumerate(kids)])
    return fn(path, node)


def tree_at(where, tree, replace=attrs.NOTHING, *, replace_fn=None, is_leaf=None):
    """A copy of ``tree`` with the node(s) ``where(tree)`` picks replaced (Equinox's ``tree_at``).

    ``where`` is a function from the tree to one node or a tuple/list of nodes
    of it (leaves, ``None`` fields or whole subtrees, e.g.
    ``lambda m: m.layers[0].kernel`` or ``lambda m: (m.kernel, m.bias)``).
    Give either ``replace`` (the new value, or a sequence of them when
    ``where`` returns a sequence) or ``replace_fn`` (old node -> new node).
    Static fields are configuration, not nodes: edit them with ``attrs.evolve``.

    >>> layer = tree_at(lambda l: l.bias, layer, fnp.ones(3))
    """
    del is_leaf
    if (replace is attrs.NOTHING) == (replace_fn is None):
        raise ValueError("tree_at: give exactly one of replace and replace_fn")
    ids = {}

    def mark(path, node):
        if _children(node) is None:  # a leaf or None: a fresh marker
            node = _Marker()
        ids[id(node)] = path
        return node

    marked = _rebuild(tree, mark)
    picked = where(marked)
    many = isinstance(picked, (tuple, list)) and id(picked) not in ids
    nodes = list(picked) if many else [picked]
    paths = []
    for n in nodes:
        if id(n) not in ids:
            raise ValueError(f"tree_at: where(tree) returned {type(n).__name__!s}, which is not a node of the tree "
                             f"(static fields cannot be replaced with tree_at; use attrs.evolve)")
        paths.append(ids[id(n)])
    if replace_fn is None:
        values = list(replace) if many else [replace]
        if len(values) != len(paths):
            raise ValueError(f"tree_at: where picked {len(paths)} nodes but replace has {len(values)} values")
    if len(set(paths)) != len(paths):
        raise ValueError("tree_at: where(tree) picked the same node twice")
    todo = dict(zip(paths, values)) if replace_fn is None else dict.fromkeys(paths)

    def put(path, node):
        if path in todo:
            return replace_fn(node) if replace_fn is not None else todo[path]
        return node

    return _rebuild(tree, put)
