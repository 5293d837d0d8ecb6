"""fnflow.lax: structured control flow and low-level ops with explicit semantics, named as in ``jax.lax``.

Control flow (:func:`cond`, :func:`switch`, :func:`scan`, :func:`while_loop`,
:func:`fori_loop`, :func:`map`) traces its Python functions once into graphs
carried by one primitive, so under ``jit`` / ``make_graph`` a loop of 1000
steps costs the same to trace as a loop of 10. Eagerly, the loop runs that
graph in a Python loop. Everything is differentiable in forward and reverse
mode and vectorisable with ``vmap``, except reverse mode of ``while_loop``
(use :func:`scan`, or :func:`fori_loop` with Python int bounds).
"""

from __future__ import annotations

import builtins

import numpy as np

from fnflow.core import tree as tu
from fnflow.core.abstract import ShapedArray, get_aval, int_, is_scalar
from fnflow.core.trace import Tracer, bind
from fnflow.lax._ops import (  # noqa: F401
    abs,
    add,
    argmax,
    argmin,
    broadcast_in_dim,
    ceil,
    concatenate,
    convert_element_type,
    cos,
    cummax,
    cummin,
    cumprod,
    cumsum,
    div,
    dot,
    dot_general,
    eq,
    erf,
    exp,
    expm1,
    floor,
    ge,
    gt,
    integer_pow,
    iota,
    le,
    log,
    log1p,
    logistic,
    lt,
    max,
    min,
    mul,
    ne,
    neg,
    pad,
    pow,
    reduce_max,
    reduce_min,
    reduce_prod,
    reduce_sum,
    reshape,
    rev,
    rsqrt,
    select,
    sign,
    sin,
    slice,
    slice_in_dim,
    sqrt,
    square,
    squeeze,
    stop_gradient,
    sub,
    tanh,
    transpose,
)
from fnflow.ops._util import asvalue
from fnflow.ops.control import cond_p, scan_p, trace_closed, while_p
from fnflow.ops.cumulative import associative_scan  # noqa: F401

# ------------------------------------------------------------------ helpers


def _leaf_value(x, dtype=None):
    """An array/tracer for a leaf; Python scalars take ``dtype`` when given (weak typing)."""
    if is_scalar(x) and dtype is not None:
        return asvalue(np.asarray(x, dtype))
    return asvalue(x)


def _flat_avals(leaves):
    return [get_aval(x) for x in leaves]


def _paths(tree):
    return [tu.keystr(p) for p, _ in tu.tree_flatten_with_path(tree)[0]]


def _adopt_weak(weak, leaves, avals, out_avals):
    """Weak typing of loop carries: a Python-scalar initial value takes the dtype the body returns.

    Updates ``leaves`` and ``avals`` in place; True when something changed (trace the body again).
    """
    changed = False
    for k, (w, a, o) in enumerate(zip(weak, avals, out_avals)):
        if w and a.shape == o.shape and a.dtype != o.dtype:
            leaves[k] = convert_element_type(leaves[k], o.dtype)
            avals[k] = o
            changed = True
    return changed


def _check_same_tree(what, expected_tree, got_tree, expected_desc, got_desc):
    if expected_tree != got_tree:
        raise TypeError(f"{what}: {got_desc} has structure {got_tree} but {expected_desc} has structure "
                        f"{expected_tree}; they must match")


def _check_avals(what, paths, expected, got, expected_desc, got_desc):
    for p, e, g in zip(paths, expected, got):
        if e != g:
            where = f" at {p}" if p else ""
            raise TypeError(f"{what}: {got_desc}{where} is {g.str_short()} but {expected_desc} is "
                            f"{e.str_short()}; shapes and dtypes must match")


# --------------------------------------------------------------------- cond


def switch(index, branches, *operands):
    """Apply ``branches[index](*operands)``; ``index`` is clamped to ``[0, len(branches) - 1]``.

    Every branch must return the same pytree of shapes and dtypes. Under ``vmap``
    with a per-example index all branches run and the results are selected.
    """
    branches = list(branches)
    if not branches:
        raise ValueError("switch: needs at least one branch")
    index = asvalue(index)
    a = get_aval(index)
    if a.shape != ():
        raise TypeError(f"switch: the index must be a scalar, got {a.str_short()}")
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"switch: the index must be an integer, got {a.str_short()} (use cond for a boolean)")
    index = convert_element_type(index, int_)
    index = _clamp_index(index, len(branches))
    return _cond(index, branches, operands, "switch", [f"branches[{i}]" for i in range(len(branches))])


def _clamp_index(index, n):
    if isinstance(index, Tracer):
        return max(min(index, np.asarray(n - 1, int_)), np.asarray(0, int_))
    return np.asarray(np.clip(int(index), 0, n - 1), int_)


def cond(pred, true_fun, false_fun, *operands):
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``; both are traced, one runs.

    ``pred`` is a scalar (booleans, or numbers compared with zero). Both
    functions must return the same pytree of shapes and dtypes.
    """
    pred = asvalue(pred)
    a = get_aval(pred)
    if a.shape != ():
        raise TypeError(f"cond: the predicate must be a scalar, got {a.str_short()} (for an elementwise "
                        f"choice use fnflow.numpy.where or lax.select)")
    if a.dtype != np.bool_:
        pred = ne(pred, np.asarray(0, a.dtype))
    index = convert_element_type(pred, int_)
    return _cond(index, [false_fun, true_fun], operands, "cond", ["false_fun", "true_fun"])


def _cond(index, branches, operands, what, names):
    leaves, in_tree = tu.tree_flatten(operands)
    leaves = [asvalue(x) for x in leaves]
    avals = _flat_avals(leaves)
    traced = [_trace_branch(b, in_tree, avals, None) for b in branches]
    out_trees = [t[2] for t in traced]
    for i, t in enumerate(out_trees[1:], 1):
        _check_same_tree(what, out_trees[0], t, f"the output of {names[0]}", f"the output of {names[i]}")
    # weak typing: a Python scalar output takes the dtype an array output of another branch has
    dtypes = [None] * out_trees[0].num_leaves
    for _, _, _, weak, g_avals in traced:
        for k, (w, av) in enumerate(zip(weak, g_avals)):
            if not w and dtypes[k] is None:
                dtypes[k] = av.dtype
    if any(any(t[3]) for t in traced):
        traced = [_trace_branch(b, in_tree, avals, dtypes) for b in branches]
    paths = _paths(tu.tree_unflatten(out_trees[0], [0] * out_trees[0].num_leaves))
    for i, t in enumerate(traced[1:], 1):
        _check_avals(what, paths, traced[0][4], t[4], f"the output of {names[0]}", f"the output of {names[i]}")
    # hoisted captures of every branch become extra operands that every branch takes
    consts, graphs = [], []
    for g, hoisted, *_ in traced:
        for c in hoisted:
            if not any(c is d for d in consts):
                consts.append(c)
    from fnflow.core.graph import Graph, Var

    for g, hoisted, *_ in traced:
        own = dict(zip([id(c) for c in hoisted], g.invars[:len(hoisted)]))
        cvars = [own.get(id(c)) or Var(get_aval(c)) for c in consts]
        graphs.append(Graph(g.constvars, cvars + g.invars[len(hoisted):], g.outvars, g.eqns, g.consts))
    outs = bind(cond_p, index, *consts, *leaves, branches=tuple(graphs))
    return tu.tree_unflatten(out_trees[0], outs)


def _trace_branch(fun, in_tree, avals, dtypes):
    info = []

    def flat(*xs):
        out = fun(*tu.tree_unflatten(in_tree, xs))
        leaves, tree = tu.tree_flatten(out)
        weak = [is_scalar(x) for x in leaves]
        leaves = [_leaf_value(x, dtypes[k] if dtypes and k < len(dtypes) else None) for k, x in enumerate(leaves)]
        info.append((tree, weak))
        return leaves

    g, hoisted = trace_closed(flat, avals, name="cond")
    tree, weak = info[0]
    return g, hoisted, tree, weak, g.out_avals


# --------------------------------------------------------------------- scan


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Loop ``carry, y = f(carry, x)`` over the leading axis of ``xs``; return ``(carry, stacked ys)``.

    ``init`` and ``xs`` are pytrees (``xs`` may be None with ``length``); the
    carry must keep its structure, shapes and dtypes. With ``reverse`` the loop
    runs from the last slice to the first (``ys[i]`` still belongs to ``xs[i]``).
    ``unroll`` is accepted for compatibility and does not change the result.
    """
    del unroll
    init_leaves, init_tree = tu.tree_flatten(init)
    xs_leaves, xs_tree = tu.tree_flatten(xs)
    weak = [is_scalar(x) for x in init_leaves]
    init_leaves = [asvalue(x) for x in init_leaves]
    xs_leaves = [asvalue(x) for x in xs_leaves]
    for p, x in zip(_paths(xs), xs_leaves):
        if get_aval(x).ndim == 0:
            raise ValueError(f"scan: xs{p} is a scalar; every leaf of xs needs a leading axis to scan over")
    lengths = {get_aval(x).shape[0] for x in xs_leaves}
    if length is not None:
        lengths.add(int(length))
    if len(lengths) > 1:
        detail = ", ".join(f"xs{p}: {get_aval(x).shape[0]}" for p, x in zip(_paths(xs), xs_leaves))
        raise ValueError(f"scan: the leading axes must all have the same size (length={length}; {detail})")
    if not lengths:
        raise ValueError("scan: give xs or length")
    length = lengths.pop()
    nk = len(init_leaves)
    carry_avals = _flat_avals(init_leaves)
    x_avals = [ShapedArray(a.shape[1:], a.dtype) for a in _flat_avals(xs_leaves)]
    y_tree = []

    def flat_body(*args):
        carry = tu.tree_unflatten(init_tree, args[:nk])
        x = tu.tree_unflatten(xs_tree, args[nk:])
        out = f(carry, x)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise TypeError(f"scan: the body function must return a pair (new_carry, y), got "
                            f"{type(out).__name__}")
        new_carry, y = out
        new_leaves, new_tree = tu.tree_flatten(new_carry)
        _check_same_tree("scan", init_tree, new_tree, "the initial carry", "the carry the body returns")
        y_leaves, t = tu.tree_flatten(y)
        y_tree.append(t)
        new_leaves = [_leaf_value(v, a.dtype) for v, a in zip(new_leaves, carry_avals)]
        return new_leaves + [asvalue(v) for v in y_leaves]

    body, consts = trace_closed(flat_body, carry_avals + x_avals, name="scan")
    if _adopt_weak(weak, init_leaves, carry_avals, body.out_avals[:nk]):
        y_tree.clear()
        body, consts = trace_closed(flat_body, carry_avals + x_avals, name="scan")
    _check_avals("scan", ["carry" + p for p in _paths(init)], carry_avals, body.out_avals[:nk],
                 "the initial carry", "the carry the body returns")
    outs = bind(scan_p, *consts, *init_leaves, *xs_leaves, body=body, num_consts=len(consts), num_carry=nk,
                length=length, reverse=bool(reverse))
    return tu.tree_unflatten(init_tree, outs[:nk]), tu.tree_unflatten(y_tree[0], outs[nk:])


def map(f, xs):  # noqa: A001
    """``f`` applied to each slice along the leading axis of ``xs``, results stacked (a loop, not vmap)."""
    return scan(lambda c, x: (c, f(x)), (), xs)[1]


# ---------------------------------------------------------------- while loops


def while_loop(cond_fun, body_fun, init_val):
    """``val = body_fun(val)`` while ``cond_fun(val)``; returns the final value.

    ``cond_fun`` returns a boolean scalar; ``body_fun`` keeps the structure,
    shapes and dtypes of ``init_val``. Differentiable in forward mode only.
    """
    leaves, tree = tu.tree_flatten(init_val)
    weak = [is_scalar(x) for x in leaves]
    leaves = [asvalue(x) for x in leaves]
    avals = _flat_avals(leaves)

    def flat_cond(*xs):
        p = asvalue(cond_fun(tu.tree_unflatten(tree, xs)))
        a = get_aval(p)
        if a.shape != () or a.dtype != np.bool_:
            raise TypeError(f"while_loop: cond_fun must return a boolean scalar, got {a.str_short()}")
        return [p]

    def flat_body(*xs):
        out = body_fun(tu.tree_unflatten(tree, xs))
        out_leaves, out_tree = tu.tree_flatten(out)
        _check_same_tree("while_loop", tree, out_tree, "init_val", "the value body_fun returns")
        return [_leaf_value(v, a.dtype) for v, a in zip(out_leaves, avals)]

    bg, bconsts = trace_closed(flat_body, avals, name="while_body")
    if _adopt_weak(weak, leaves, avals, bg.out_avals):
        bg, bconsts = trace_closed(flat_body, avals, name="while_body")
    cg, cconsts = trace_closed(flat_cond, avals, name="while_cond")
    _check_avals("while_loop", ["init_val" + p for p in _paths(init_val)], avals, bg.out_avals,
                 "the initial value", "the value body_fun returns")
    outs = bind(while_p, *cconsts, *bconsts, *leaves, cond_graph=cg, body_graph=bg,
                cond_nconsts=len(cconsts), body_nconsts=len(bconsts))
    return tu.tree_unflatten(tree, outs)


def _static_int(x):
    if isinstance(x, Tracer):
        return None
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return int(x)
    if isinstance(x, np.ndarray) and x.shape == () and np.issubdtype(x.dtype, np.integer):
        return int(x)
    return None


def fori_loop(lower, upper, body_fun, init_val):
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``.

    With Python int (or concrete) bounds this is a :func:`scan`, so it is
    reverse-differentiable; with traced bounds it is a :func:`while_loop`.
    """
    lo, hi = _static_int(lower), _static_int(upper)
    if lo is not None and hi is not None:
        def step(carry, _):
            i, val = carry
            return (add(i, np.asarray(1, int_)), body_fun(i, val)), None

        (_, out), _ = scan(step, (np.asarray(lo, int_), init_val), None, length=builtins.max(hi - lo, 0))
        return out
    lower = convert_element_type(asvalue(lower), int_)
    upper = convert_element_type(asvalue(upper), int_)

    def body(c):
        i, u, val = c
        return add(i, np.asarray(1, int_)), u, body_fun(i, val)

    return while_loop(lambda c: lt(c[0], c[1]), body, (lower, upper, init_val))[2]


def __getattr__(name):
    # sort / top_k live in fnflow.ops.sort when that module exists
    if name in ("sort", "top_k", "sort_key_val", "argsort"):
        try:
            from fnflow.ops import sort as _sort
        except ImportError:
            raise AttributeError(f"fnflow.lax.{name} is not available (fnflow.ops.sort is missing)") from None
        if hasattr(_sort, name):
            return getattr(_sort, name)
    raise AttributeError(f"module 'fnflow.lax' has no attribute '{name}'")


__all__ = ["cond", "switch", "scan", "map", "while_loop", "fori_loop", "associative_scan", "stop_gradient",
           "abs", "add", "argmax", "argmin", "broadcast_in_dim", "ceil", "concatenate", "convert_element_type",
           "cos", "cummax", "cummin", "cumprod", "cumsum", "div", "dot", "dot_general", "eq", "erf", "exp",
           "expm1", "floor", "ge", "gt", "integer_pow", "iota", "le", "log", "log1p", "logistic", "lt", "max",
           "min", "mul", "ne", "neg", "pad", "pow", "reduce_max", "reduce_min", "reduce_prod", "reduce_sum",
           "reshape", "rev", "rsqrt", "select", "sign", "sin", "slice", "slice_in_dim", "sqrt", "square",
           "squeeze", "sub", "tanh", "transpose"]
