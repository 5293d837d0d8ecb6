"""Pytree utilities under JAX's ``tree_util`` names (``from fnflow.tree_util import tree_map``)."""

from fnflow.core.tree import (  # noqa: F401
    DictKey, FlattenedIndexKey, GetAttrKey, PyTreeDef, SequenceKey, broadcast_prefix, check_static_fields,
    keystr, register_pytree_node, register_pytree_with_keys, static_field, tree_all, tree_flatten,
    tree_flatten_with_path, tree_leaves, tree_map, tree_map_with_path, tree_reduce, tree_structure,
    tree_unflatten, treedef_is_leaf,
)
