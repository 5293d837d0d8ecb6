"""Short names for pytree utilities, as ``jax.tree``: ``fnflow.tree.map`` etc."""

from fnflow.core.tree import (  # noqa: F401
    broadcast_prefix, keystr, register_pytree_node, tree_all as all, tree_flatten as flatten,
    tree_flatten_with_path as flatten_with_path, tree_leaves as leaves, tree_map as map,
    tree_map_with_path as map_with_path, tree_reduce as reduce, tree_structure as structure,
    tree_unflatten as unflatten,
)
