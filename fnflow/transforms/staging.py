"""make_graph: trace a Python function into the graph IR."""

from __future__ import annotations

import functools

from fnflow.core import tree as tu
from fnflow.core.abstract import ShapedArray, get_aval
from fnflow.core.errors import api_boundary
from fnflow.core.graph import trace_to_graph


def arg_names(fun, args):
    """One readable name per leaf of ``args``, e.g. ``argument 'params'['w']``, for error messages."""
    import inspect

    try:
        params = [p.name for p in inspect.signature(fun).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    names = []
    for i, a in enumerate(args):
        base = f"argument '{params[i]}'" if i < len(params) else f"argument {i}"
        for path, _ in tu.tree_flatten_with_path(a)[0]:
            names.append(base + (tu.keystr(path) if path else ""))
    return names


def _aval_of(x):
    from fnflow.transforms.ad import ShapeDtypeStruct

    if isinstance(x, ShapeDtypeStruct):
        return ShapedArray(x.shape, x.dtype)
    from fnflow.transforms.ad import _as_value

    return get_aval(_as_value(x, fun="make_graph"))


@api_boundary
def make_graph(fun, static_argnums=()):
    """``make_graph(f)(*args)`` returns the :class:`~fnflow.Graph` of ``f`` at those argument shapes.

    Arguments may be arrays or ``ShapeDtypeStruct``; those in ``static_argnums``
    are passed through as Python values. The graph's ``in_tree``/``out_tree``
    record the argument and result pytree structures.
    """
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    @api_boundary
    @functools.wraps(fun)
    def graph_of(*args):
        dyn = tuple(a for i, a in enumerate(args) if i not in static)
        leaves, tree = tu.tree_flatten(dyn)
        avals = [_aval_of(x) for x in leaves]
        out_tree = []

        def flat(*xs):
            d = iter(tu.tree_unflatten(tree, xs))
            full = [args[i] if i in static else next(d) for i in range(len(args))]
            out_leaves, ot = tu.tree_flatten(fun(*full))
            out_tree.append(ot)
            return out_leaves

        names = arg_names(fun, [a for i, a in enumerate(args)])
        dyn_names = []
        k = 0
        for i, a in enumerate(args):
            n = len(tu.tree_leaves(a))
            if i not in static:
                dyn_names.extend(names[k:k + n])
            k += n
        graph = trace_to_graph(flat, avals, dyn_names, name="make_graph")
        graph.in_tree, graph.out_tree = tree, out_tree[0]
        return graph

    return graph_of
