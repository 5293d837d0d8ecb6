"""Pytrees: nested containers of leaves that transforms accept and return.

Containers are tuple, list, dict (keys sorted), None, namedtuples, every
``attrs`` class (fields with ``metadata={"static": True}`` are auxiliary data,
not leaves) and any class registered with :func:`register_pytree_node`.
Everything else is a leaf.

Static attrs fields must be hashable (they are part of the tree structure,
which is compared and used as a cache key). Declare them with
:func:`static_field` to have that checked when the object is built; a field
declared with the raw ``metadata={"static": True}`` is checked when the object
is first flattened, or at construction if ``__attrs_post_init__`` calls
:func:`check_static_fields`.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple

import attrs

# --------------------------------------------------------------------------- keys


class SequenceKey(NamedTuple):
    idx: int

    def __str__(self):
        return f"[{self.idx}]"


class DictKey(NamedTuple):
    key: Any

    def __str__(self):
        return f"[{self.key!r}]"


class GetAttrKey(NamedTuple):
    name: str

    def __str__(self):
        return f".{self.name}"


class FlattenedIndexKey(NamedTuple):
    key: int

    def __str__(self):
        return f"[<flat index {self.key}>]"


def keystr(path) -> str:
    """Render a key path as ``['a'][0].w``."""
    return "".join(str(k) for k in path)


# ----------------------------------------------------------------- registry


class _NodeType(NamedTuple):
    to_children: Callable  # node -> (children, aux)
    from_children: Callable  # (aux, children) -> node
    keys: Callable  # (node, aux, n) -> list of keys


_registry: dict[type, _NodeType] = {}


def register_pytree_node(nodetype, flatten_func, unflatten_func, flatten_with_keys_func=None):
    """Register ``nodetype`` as a pytree container.

    ``flatten_func(node) -> (children, aux_data)`` and
    ``unflatten_func(aux_data, children) -> node``, as in JAX. ``aux_data``
    must be hashable and comparable. ``flatten_with_keys_func(node)`` may
    return ``((key, child), ...), aux`` to give children key-path names.
    """
    if flatten_with_keys_func is None:
        keys = lambda node, aux, n: [FlattenedIndexKey(i) for i in range(n)]  # noqa: E731
    else:
        keys = lambda node, aux, n: [k for k, _ in flatten_with_keys_func(node)[0]]  # noqa: E731
    _registry[nodetype] = _NodeType(flatten_func, unflatten_func, keys)


def register_pytree_with_keys(nodetype, flatten_with_keys, unflatten_func):
    """Register a node whose flatten returns ``((key, child), ...), aux``."""

    def flat(node):
        kc, aux = flatten_with_keys(node)
        return [c for _, c in kc], aux

    register_pytree_node(nodetype, flat, unflatten_func, flatten_with_keys)


register_pytree_node(
    tuple, lambda t: (t, None), lambda _, c: tuple(c),
    lambda t: ([(SequenceKey(i), c) for i, c in enumerate(t)], None))
register_pytree_node(
    list, lambda t: (t, None), lambda _, c: list(c),
    lambda t: ([(SequenceKey(i), c) for i, c in enumerate(t)], None))
register_pytree_node(type(None), lambda n: ((), None), lambda _, c: None)


def _sorted_keys(d):
    try:
        return sorted(d)
    except TypeError:
        return sorted(d, key=repr)


def _dict_flatten(d):
    keys = _sorted_keys(d)
    return [d[k] for k in keys], tuple(keys)


register_pytree_node(
    dict, _dict_flatten, lambda keys, c: dict(zip(keys, c)),
    lambda d: ([(DictKey(k), d[k]) for k in _sorted_keys(d)], None))


def _static_field(f) -> bool:
    return bool(f.metadata.get("static", False))


@functools.lru_cache(maxsize=None)
def _attrs_fields(cls):
    fields = attrs.fields(cls)
    return (tuple(f.name for f in fields if not _static_field(f)),
            tuple(f.name for f in fields if _static_field(f)))


def _node_type(x):
    cls = type(x)
    nt = _registry.get(cls)
    if nt is not None:
        return nt
    if isinstance(x, tuple) and hasattr(cls, "_fields"):
        return _namedtuple_node(cls)
    if attrs.has(cls):
        return _attrs_node(cls)
    return None


@functools.lru_cache(maxsize=None)
def _namedtuple_node(cls):
    return _NodeType(lambda t: (tuple(t), None), lambda _, c: cls(*c),
                     lambda node, aux, n: [GetAttrKey(f) for f in cls._fields])


@functools.lru_cache(maxsize=None)
def _attrs_node(cls):
    dyn, static = _attrs_fields(cls)

    def to_children(node):
        aux = tuple(getattr(node, n) for n in static)
        if aux:
            try:
                hash(aux)
            except TypeError:
                check_static_fields(node)
        return [getattr(node, n) for n in dyn], aux

    def from_children(aux, children):
        obj = object.__new__(cls)  # bypass __init__/validators: children may be tracers or None
        for n, v in zip(dyn, children):
            object.__setattr__(obj, n, v)
        for n, v in zip(static, aux):
            object.__setattr__(obj, n, v)
        return obj

    return _NodeType(to_children, from_children, lambda node, aux, n: [GetAttrKey(f) for f in dyn])


def _hashable_validator(inst, attribute, value):
    try:
        hash(value)
    except TypeError as e:
        raise TypeError(
            f"{type(inst).__name__}.{attribute.name} is a static field (aux data of the pytree) and must be "
            f"hashable, got {type(value).__name__}: {e}. Use a tuple instead of a list, or make it a leaf.") from None


def static_field(**kwargs):
    """An ``attrs.field`` that is aux data of the pytree, checked to be hashable when the object is built.

    >>> @attrs.frozen
    ... class Dense:
    ...     w: object
    ...     activation: str = static_field(default="relu")

    Equivalent to ``attrs.field(metadata={"static": True}, ...)`` plus a
    validator; fields declared with the raw metadata are checked when the
    object is first flattened (or call :func:`check_static_fields` from
    ``__attrs_post_init__`` to check them at construction).
    """
    metadata = dict(kwargs.pop("metadata", None) or {}, static=True)
    validator = kwargs.pop("validator", None)
    validators = [_hashable_validator] + (list(validator) if isinstance(validator, (list, tuple))
                                          else [validator] if validator else [])
    return attrs.field(metadata=metadata, validator=validators, **kwargs)


def check_static_fields(obj):
    """Raise if a static field of an attrs pytree is unhashable (call from ``__attrs_post_init__``)."""
    for name in _attrs_fields(type(obj))[1]:
        try:
            hash(getattr(obj, name))
        except TypeError as e:
            raise TypeError(
                f"{type(obj).__name__}.{name} is a static field (aux data of the pytree) and must be "
                f"hashable, got {type(getattr(obj, name)).__name__}: {e}") from None


# ------------------------------------------------------------------ treedef


class PyTreeDef:
    """The structure of a pytree: node type, aux data and children structures."""

    __slots__ = ("node", "aux", "children", "num_leaves", "_hash")

    def __init__(self, node, aux, children):
        self.node = node  # None for a leaf, else the node's class
        self.aux = aux
        self.children = children
        self.num_leaves = 1 if node is None else sum(c.num_leaves for c in children)
        self._hash = None

    @property
    def num_nodes(self):
        return 1 + sum(c.num_nodes for c in self.children)

    def __eq__(self, other):
        return (isinstance(other, PyTreeDef) and self.node is other.node
                and self.aux == other.aux and self.children == other.children)

    def __hash__(self):
        if self._hash is None:
            self._hash = hash((self.node, self.aux, self.children))
        return self._hash

    def __repr__(self):
        return f"PyTreeDef({self._str()})"

    def _str(self):
        if self.node is None:
            return "*"
        kids = [c._str() for c in self.children]
        if self.node is tuple:
            return "(" + ", ".join(kids) + ("," if len(kids) == 1 else "") + ")"
        if self.node is list:
            return "[" + ", ".join(kids) + "]"
        if self.node is dict:
            return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(self.aux, kids)) + "}"
        if self.node is type(None):
            return "None"
        return f"{self.node.__name__}[{self.aux!r}](" + ", ".join(kids) + ")"

    def unflatten(self, leaves):
        return tree_unflatten(self, leaves)

    def flatten_up_to(self, tree, what="pytree"):
        return flatten_up_to(self, tree, what)


LEAF = PyTreeDef(None, None, ())


def _flatten(x, is_leaf, leaves, path, paths):
    if is_leaf is not None and is_leaf(x):
        nt = None
    else:
        nt = _node_type(x)
    if nt is None:
        leaves.append(x)
        if paths is not None:
            paths.append(path)
        return LEAF
    children, aux = nt.to_children(x)
    children = list(children)
    keys = nt.keys(x, aux, len(children)) if paths is not None else None
    defs = tuple(_flatten(c, is_leaf, leaves, path + (keys[i],) if keys else path, paths)
                 for i, c in enumerate(children))
    return PyTreeDef(type(x), aux, defs)


def tree_flatten(tree, is_leaf=None):
    """Return ``(leaves, treedef)``."""
    leaves = []
    return leaves, _flatten(tree, is_leaf, leaves, (), None)


def tree_flatten_with_path(tree, is_leaf=None):
    """Return ``([(key_path, leaf), ...], treedef)``."""
    leaves, paths = [], []
    td = _flatten(tree, is_leaf, leaves, (), paths)
    return list(zip(paths, leaves)), td


def _node_from(cls, x_example=None):
    nt = _registry.get(cls)
    if nt is not None:
        return nt
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        return _namedtuple_node(cls)
    return _attrs_node(cls)


def tree_unflatten(treedef, leaves):
    """Rebuild a pytree with the structure ``treedef`` from ``leaves``."""
    it = iter(leaves)
    out = _unflatten(treedef, it)
    sentinel = object()
    if next(it, sentinel) is not sentinel:
        raise ValueError(f"tree_unflatten: too many leaves for {treedef} ({treedef.num_leaves} expected)")
    return out


def _unflatten(td, it):
    if td.node is None:
        try:
            return next(it)
        except StopIteration:
            raise ValueError("tree_unflatten: too few leaves for the tree structure") from None
    kids = [_unflatten(c, it) for c in td.children]
    return _node_from(td.node).from_children(td.aux, kids)


def tree_leaves(tree, is_leaf=None):
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree, is_leaf=None):
    return tree_flatten(tree, is_leaf)[1]


def treedef_is_leaf(td):
    return td.node is None


class _Mismatch(Exception):
    def __init__(self, path, why):
        self.path, self.why = path, why


def _describe(td, x):
    if td.node is dict:
        return f"dict with keys {list(td.aux)} vs {sorted(x, key=repr)}"
    if td.node in (tuple, list):
        return f"{td.node.__name__} of length {len(td.children)} vs {len(x)}"
    return f"{td.node.__name__} with aux data {td.aux!r} vs {_node_type(x).to_children(x)[1]!r}"


def _flatten_up_to(td, x, path):
    if td.node is None:
        return [x]
    nt = _node_type(x)
    if nt is None or type(x) is not td.node:
        raise _Mismatch(path, f"expected a {td.node.__name__}, got {type(x).__name__}")
    children, aux = nt.to_children(x)
    children = list(children)
    if aux != td.aux or len(children) != len(td.children):
        raise _Mismatch(path, _describe(td, x))
    keys = nt.keys(x, aux, len(children))
    out = []
    for k, c, ctd in zip(keys, children, td.children):
        out.extend(_flatten_up_to(ctd, c, path + (k,)))
    return out


def flatten_up_to(td, tree, what="pytree"):
    """The subtrees of ``tree`` at the leaves of ``td``; a mismatch names the key path and both structures."""
    try:
        return _flatten_up_to(td, tree, ())
    except _Mismatch as m:
        raise ValueError(
            f"{what} structure mismatch at key path {keystr(m.path) or '<root>'}: {m.why}\n"
            f"  expected structure: {td}\n  got structure:      {tree_structure(tree)}") from None


def tree_map(f, tree, *rest, is_leaf=None):
    """Apply ``f`` to the leaves of ``tree`` (and corresponding leaves of ``rest``)."""
    leaves, td = tree_flatten(tree, is_leaf)
    others = [flatten_up_to(td, r) for r in rest]
    return td.unflatten([f(*xs) for xs in zip(leaves, *others)])


def tree_map_with_path(f, tree, *rest, is_leaf=None):
    """Like :func:`tree_map`, with the key path as the first argument of ``f``."""
    pl, td = tree_flatten_with_path(tree, is_leaf)
    others = [flatten_up_to(td, r) for r in rest]
    return td.unflatten([f(p, x, *xs) for (p, x), *xs in zip(pl, *others)])


def tree_all(tree):
    return all(tree_leaves(tree))


def tree_reduce(f, tree, initializer=None):
    leaves = tree_leaves(tree)
    if initializer is None:
        return functools.reduce(f, leaves)
    return functools.reduce(f, leaves, initializer)


def broadcast_prefix(prefix, tree, is_leaf=None, what="prefix"):
    """Expand ``prefix`` (a tree prefix of ``tree``) to one entry per leaf of ``tree``."""
    out = []

    def add(path, p, sub):
        out.extend([p] * len(tree_leaves(sub, is_leaf)))

    _walk_prefix(prefix, tree, (), add, is_leaf, what)
    return out


def _walk_prefix(prefix, tree, path, fn, is_leaf, what):
    nt = None if prefix is None and tree is not None else _node_type(prefix)
    if nt is None:
        return fn(path, prefix, tree)
    if type(prefix) is not type(tree) and not (isinstance(prefix, list) and isinstance(tree, list)):
        raise ValueError(f"{what} does not match the argument structure at key path "
                         f"{keystr(path) or '<root>'}: {type(prefix).__name__} vs {type(tree).__name__}\n"
                         f"  {what}: {tree_structure(prefix)}\n  argument: {tree_structure(tree)}")
    pc, paux = nt.to_children(prefix)
    tc, taux = _node_type(tree).to_children(tree)
    pc, tc = list(pc), list(tc)
    if paux != taux or len(pc) != len(tc):
        raise ValueError(f"{what} does not match the argument structure at key path "
                         f"{keystr(path) or '<root>'}: {paux!r} vs {taux!r}")
    keys = nt.keys(prefix, paux, len(pc))
    for k, p, t in zip(keys, pc, tc):
        _walk_prefix(p, t, path + (k,), fn, is_leaf, what)
