"""``fnflow.debug.print``: print values from inside transformed and compiled functions."""

from __future__ import annotations

import builtins

import numpy as np

from fnflow.core import tree as tu
from fnflow.core.primitive import Primitive
from fnflow.core.trace import bind

debug_print_p = Primitive("debug_print", multiple_results=True)
debug_print_p.has_effects = True  # never removed by dead-code elimination


@debug_print_p.def_impl
def _print_impl(*leaves, fmt, treedef):
    args, kwargs = tu.tree_unflatten(treedef, [np.asarray(x) for x in leaves])
    builtins.print(fmt.format(*args, **kwargs))
    return []


debug_print_p.def_abstract_eval(lambda *avals, fmt, treedef: [])


def _print_jvp(primals, tangents, fmt, treedef):
    bind(debug_print_p, *primals, fmt=fmt, treedef=treedef)
    return [], []


debug_print_p.def_jvp(_print_jvp)


def _print_batch(args, dims, fmt, treedef):
    # prints the whole batch: each batched value with its batch axis first
    from fnflow.transforms.batching import moveaxis

    vals = [a if d is None else moveaxis(a, d, 0) for a, d in zip(args, dims)]
    bind(debug_print_p, *vals, fmt=fmt, treedef=treedef)
    return [], []


debug_print_p.def_batch(_print_batch)


def print(fmt: str, *args, **kwargs):  # noqa: A001
    """Print ``fmt.format(*args, **kwargs)`` with the values computed at run time.

    Works eagerly, under ``grad``/``vmap`` (prints primal values; under vmap the
    whole batch) and inside ``jit``, where it prints each time the compiled
    function runs, not when it is traced.
    """
    leaves, treedef = tu.tree_flatten((args, kwargs))
    bind(debug_print_p, *leaves, fmt=fmt, treedef=treedef)
