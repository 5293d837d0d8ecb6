"""Short names for pytree utilities, as ``jax.tree``: ``fnflow.tree.map`` etc."""

from fnflow.core import tree as _t

all = _t.tree_all
flatten = _t.tree_flatten
flatten_with_path = _t.tree_flatten_with_path
leaves = _t.tree_leaves
map = _t.tree_map
map_with_path = _t.tree_map_with_path
reduce = _t.tree_reduce
structure = _t.tree_structure
unflatten = _t.tree_unflatten
broadcast_prefix = _t.broadcast_prefix
check_static_fields = _t.check_static_fields
keystr = _t.keystr
register_pytree_node = _t.register_pytree_node
register_pytree_with_keys = _t.register_pytree_with_keys
static_field = _t.static_field
