"""Control flow as primitives that carry their bodies as graphs: cond, scan, while.

Contract with the compilers (``fnflow/backends``):

- ``cond_p`` ("cond"): operands ``(index, *operands)``; param ``branches``, a
  tuple of :class:`Graph`, each taking the operands and returning the same
  output avals. ``index`` is an int32 scalar, clamped to the branches.
- ``scan_p`` ("scan"): operands ``(*consts, *init_carry, *xs)``; params
  ``body`` (a Graph ``(*consts, *carry, *x_slices) -> (*new_carry, *y_slices)``),
  ``num_consts``, ``num_carry``, ``length``, ``reverse``. Outputs
  ``(*final_carry, *stacked_ys)``; with ``reverse`` the loop runs from the last
  slice to the first and ``ys[i]`` is still the output for ``xs[i]``.
- ``while_p`` ("while"): operands ``(*cond_consts, *body_consts, *init)``;
  params ``cond_graph`` (``(*cond_consts, *carry) -> bool[]``), ``body_graph``
  (``(*body_consts, *carry) -> carry``), ``cond_nconsts``, ``body_nconsts``.
  Outputs the final carry.

Constants of the bodies: a body graph may hold *concrete* arrays in
``graph.consts`` (read with ``graph.constvars``). Every *traced* value a body
captures from its closure (a tracer of an enclosing grad / vmap / jit) is
hoisted into an explicit leading operand (the scan/while consts, or extra cond
operands), so the enclosing transforms see it. Scalar constants are
:class:`Literal` s inside the equations.

Differentiation: the JVP of ``scan`` and ``cond`` first runs the primal
computation, which also returns the *residuals* the tangent computation
needs (stacked per iteration for scan), then binds a separate *linear* scan /
cond over the tangents that reads those residuals. Under ``linearize`` the
primal one runs on the level below and only the linear one is recorded, so
reverse mode only needs the transposes of linear scans and conds (forward-mode
``jvp`` therefore also runs two loops). Work in a body that depends only on
captured values (``cos(w)`` for a captured ``w``) runs once, outside the body,
so it is neither repeated nor stacked as a residual. ``while`` has
a forward-mode rule only (its trip count is not known before it runs): reverse
mode raises an error pointing to ``scan`` / ``fori_loop`` with static bounds.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from fnflow.core.abstract import ShapedArray, get_aval, int_, is_float
from fnflow.core.graph import Graph, GraphBuilder, GraphTrace, Var, eval_graph, trace_to_graph
from fnflow.core.primitive import Primitive, is_undefined
from fnflow.core.trace import Tracer, bind, new_main
from fnflow.transforms.ad import Zero, add_any, backward_pass, jvp_flat, zeros_of
from fnflow.transforms.batching import BatchTrace, BatchTracer, broadcast_batched, moveaxis

# ------------------------------------------------------------------ helpers


def _split(seq, *sizes):
    """``seq`` cut into pieces of the given sizes, plus the rest."""
    out, i = [], 0
    for n in sizes:
        out.append(list(seq[i:i + n]))
        i += n
    out.append(list(seq[i:]))
    return out


def _float_aval(a) -> bool:
    return is_float(a.dtype)


def trace_closed(fun, in_avals, name="body"):
    """Trace ``fun(*tracers) -> list`` into a graph; traced captures become leading inputs.

    Returns ``(graph, hoisted)``: the graph takes ``(*hoisted, *in_avals)`` and
    keeps only concrete constants in ``graph.consts``.
    """
    graph = trace_to_graph(fun, list(in_avals), name=name)
    hoist = [i for i, c in enumerate(graph.consts) if isinstance(c, Tracer)]
    if not hoist:
        return graph, []
    keep = [i for i in range(len(graph.consts)) if i not in hoist]
    closed = Graph([graph.constvars[i] for i in keep], [graph.constvars[i] for i in hoist] + graph.invars,
                   graph.outvars, graph.eqns, [graph.consts[i] for i in keep])
    return closed, [graph.consts[i] for i in hoist]


def _trace_rule_body(fun, in_avals, name):
    """Trace a body inside a transformation rule (its captures are all concrete)."""
    graph, hoisted = trace_closed(fun, in_avals, name)
    assert not hoisted, f"{name}: a rule body captured a traced value"
    return graph


def _with_invars(graph, invars):
    return Graph(graph.constvars, invars, graph.outvars, graph.eqns, graph.consts)


def _slice_aval(a):
    return ShapedArray(a.shape[1:], a.dtype)


def _stack_aval(a, n):
    return ShapedArray((n,) + a.shape, a.dtype)


# --------------------------------------------------- graph transformations


def jvp_graph(graph, nonzero, instantiate_out=False):
    """The JVP of a closed graph as a new graph.

    The result takes ``(*primals, *tangents of the inputs marked in nonzero)``
    and returns ``(*primal outputs, *nonzero tangent outputs)``; a tangent output
    is kept when it is not a symbolic zero or ``instantiate_out`` asks for it.
    Returns ``(graph, out_nonzero)``.
    """
    in_avals = graph.in_avals
    n = len(in_avals)
    if isinstance(instantiate_out, bool):
        instantiate_out = [instantiate_out] * len(graph.outvars)
    box = []

    def fun(*args):
        tans = iter(args[n:])
        tangents = [next(tans) if nz else Zero(a) for a, nz in zip(in_avals, nonzero)]
        p_out, t_out = jvp_flat(lambda *xs: eval_graph(graph, *xs), list(args[:n]), tangents, name="jvp")
        out_nz = [_float_aval(get_aval(p)) and (inst or not isinstance(t, Zero))
                  for p, t, inst in zip(p_out, t_out, instantiate_out)]
        box.append(out_nz)
        return list(p_out) + [_inst(t, p) for p, t, nz in zip(p_out, t_out, out_nz) if nz]

    t_avals = [a for a, nz in zip(in_avals, nonzero) if nz]
    return _trace_rule_body(fun, list(in_avals) + t_avals, "jvp"), box[0]


def _inst(t, primal):
    return zeros_of(get_aval(primal)) if isinstance(t, Zero) else t


class Linearized(NamedTuple):
    primal: Graph  # (*ins) -> (*outs, *residual outputs)
    tangent: Graph  # (*residuals, *nonzero tangents in) -> (*nonzero tangents out), linear in the tangents
    out_nz: list  # which tangent outputs the tangent graph returns
    residuals: list  # per residual: ("in", i) = primal input i, or ("out", k) = extra primal output k


def linearize_graph(graph, nonzero, instantiate_out, passthrough=()):
    """Split the JVP of ``graph`` into a primal graph that also returns residuals and a linear tangent graph.

    Residuals that are primal inputs listed in ``passthrough`` are referred to
    by index instead of being returned again.
    """
    in_avals = graph.in_avals
    passthrough = set(passthrough)
    box = []

    def primal_fun(*primals):
        builder = GraphBuilder()
        with new_main(GraphTrace, builder, name="linearize") as main:
            trace = GraphTrace(main)
            tangents = [trace.new_arg(a) if nz else Zero(a) for a, nz in zip(in_avals, nonzero)]
            p_out, t_out = jvp_flat(lambda *xs: eval_graph(graph, *xs), list(primals), tangents, name="linearize")
            out_nz = [_float_aval(get_aval(p)) and (inst or not isinstance(t, Zero))
                      for p, t, inst in zip(p_out, t_out, instantiate_out)]
            kept = [trace.full_raise(_inst(t, p)) for p, t, nz in zip(p_out, t_out, out_nz) if nz]
            tg = builder.build(kept)
        res_vars, kinds, res_out, const_vars, const_vals = [], [], [], [], []
        for v, c in zip(tg.constvars, tg.consts):
            if not isinstance(c, Tracer):
                const_vars.append(v)
                const_vals.append(c)
                continue
            res_vars.append(v)
            idx = next((i for i, p in enumerate(primals) if p is c), None)
            if idx is not None and idx in passthrough:
                kinds.append(("in", idx))
            else:
                kinds.append(("out", len(res_out)))
                res_out.append(c)
        box.append((Graph(const_vars, res_vars + tg.invars, tg.outvars, tg.eqns, const_vals), out_nz, kinds))
        return list(p_out) + res_out

    primal = _trace_rule_body(primal_fun, in_avals, "linearize")
    tangent, out_nz, kinds = box[0]
    return Linearized(primal, tangent, out_nz, kinds)


def backward_graph(graph, linear, res_vals, cts):
    """Cotangents of the inputs of ``graph`` marked ``linear``; the others take ``res_vals``.

    Symbolic zeros are instantiated, so the result has the linear inputs' avals.
    """
    lin_vars = [v for v, lin in zip(graph.invars, linear) if lin]
    res_vars = [v for v, lin in zip(graph.invars, linear) if not lin]
    view = Graph(graph.constvars + res_vars, lin_vars, graph.outvars, graph.eqns, graph.consts + list(res_vals))
    cts_in = backward_pass(view, list(cts))
    return [zeros_of(v.aval) if isinstance(c, Zero) else c for v, c in zip(lin_vars, cts_in)]


def batch_graph(graph, in_batched, size, force_out=None):
    """``graph`` vectorised over a leading axis of size ``size`` of the inputs marked in ``in_batched``.

    Returns ``(graph', out_batched)``; an output is batched (at axis 0) if it
    depends on a batched input or ``force_out`` asks for it.
    """
    avals = [_stack_aval(a, size) if b else a for a, b in zip(graph.in_avals, in_batched)]
    force_out = force_out or [False] * len(graph.outvars)
    box = []

    def fun(*args):
        with new_main(BatchTrace, size, name="vmap") as main:
            trace = BatchTrace(main)
            tracers = [BatchTracer(trace, a, 0 if b else None) for a, b in zip(args, in_batched)]
            outs = [trace.full_raise(o) for o in eval_graph(graph, *tracers)]
            res = [(o.val, o.batch_dim) for o in outs]
        out_b = [d is not None or f for (_, d), f in zip(res, force_out)]
        box.append(out_b)
        return [broadcast_batched(v, d, size, 0) if b else v for (v, d), b in zip(res, out_b)]

    return _trace_rule_body(fun, avals, "vmap"), box[0]


def _to_front(x, d, size, batched):
    """``x`` with its batch axis at 0 when ``batched`` (broadcasting an unbatched value)."""
    if not batched:
        return x
    return broadcast_batched(x, d, size, 0)


def _axis_size(args, dims):
    return next(get_aval(a).shape[d] for a, d in zip(args, dims) if d is not None)


def _zero_cts(cts, avals):
    return [zeros_of(a) if (c is None or isinstance(c, Zero)) else c for c, a in zip(cts, avals)]


# ============================================================== cond

cond_p = Primitive("cond", multiple_results=True)


@cond_p.def_impl
def _cond_impl(index, *ops, branches):
    i = int(np.clip(int(index), 0, len(branches) - 1))
    return [np.asarray(o) for o in eval_graph(branches[i], *ops)]


@cond_p.def_abstract_eval
def _cond_abstract(index, *ops, branches):
    if index.shape != () or index.dtype != int_:
        raise TypeError(f"cond: the branch index must be an int32 scalar, got {index.str_short()}")
    ops = list(ops)
    out = branches[0].out_avals
    for i, b in enumerate(branches):
        if b.in_avals != ops:
            raise TypeError(f"cond: branch {i} takes {_avals(b.in_avals)} but the operands are {_avals(ops)}")
        if b.out_avals != out:
            raise TypeError(f"cond: branch {i} returns {_avals(b.out_avals)} but branch 0 returns {_avals(out)}; "
                            f"every branch must return the same shapes and dtypes")
    return list(out)


def _avals(avals):
    return "(" + ", ".join(a.str_short() for a in avals) + ")"


def _cond_jvp(primals, tangents, branches):
    index, ops = primals[0], list(primals[1:])
    nz = [not isinstance(t, Zero) and _float_aval(get_aval(p)) for p, t in zip(ops, tangents[1:])]
    n_out = len(branches[0].outvars)
    all_ops = range(len(ops))
    lins = [linearize_graph(b, nz, [False] * n_out, all_ops) for b in branches]
    out_nz = [any(lin.out_nz[k] for lin in lins) for k in range(n_out)]
    if any(lin.out_nz != out_nz for lin in lins):
        lins = [linearize_graph(b, nz, out_nz, all_ops) for b in branches]
    res_avals = [lin.primal.out_avals[n_out:] for lin in lins]

    def primal_branch(i):
        def f(*xs):
            outs = eval_graph(lins[i].primal, *xs)
            res = []
            for j, avals in enumerate(res_avals):
                res += outs[n_out:] if j == i else [zeros_of(a) for a in avals]
            return outs[:n_out] + res

        return _trace_rule_body(f, [get_aval(o) for o in ops], "cond_primal")

    outs = bind(cond_p, index, *ops, branches=tuple(primal_branch(i) for i in range(len(branches))))
    p_out, res_all = outs[:n_out], outs[n_out:]
    if not any(out_nz):
        return p_out, [Zero(get_aval(p)) for p in p_out]
    used = sorted({i for lin in lins for kind, i in lin.residuals if kind == "in"})
    offsets = np.cumsum([0] + [len(a) for a in res_avals])
    t_branches = []
    for i, lin in enumerate(lins):
        n_res = len(lin.residuals)
        res_vars, t_vars = lin.tangent.invars[:n_res], lin.tangent.invars[n_res:]
        by_kind = dict(zip(lin.residuals, res_vars))
        op_vars = [by_kind.get(("in", u), Var(get_aval(ops[u]))) for u in used]
        slot_vars = []
        for j, avals in enumerate(res_avals):
            slot_vars += [by_kind[("out", k)] if j == i else Var(a) for k, a in enumerate(avals)]
        t_branches.append(_with_invars(lin.tangent, op_vars + slot_vars + t_vars))
    assert len(res_all) == offsets[-1]
    t_in = [t for t, z in zip(tangents[1:], nz) if z]
    t_out = bind(cond_p, index, *[ops[u] for u in used], *res_all, *t_in, branches=tuple(t_branches))
    it = iter(t_out)
    return p_out, [next(it) if z else Zero(get_aval(p)) for p, z in zip(p_out, out_nz)]


def _cond_transpose(cts, index, *ops, branches):
    if is_undefined(index):
        raise ValueError("cond: the branch index is not differentiable")
    linear = [is_undefined(o) for o in ops]
    res = [o for o, lin in zip(ops, linear) if not lin]
    cts = _zero_cts(cts, branches[0].out_avals)
    in_avals = [get_aval(r) for r in res] + [get_aval(c) for c in cts]

    def transposed(b):
        return _trace_rule_body(lambda *a: backward_graph(b, linear, a[:len(res)], a[len(res):]), in_avals,
                                "cond_transpose")

    ct_lin = iter(bind(cond_p, index, *res, *cts, branches=tuple(transposed(b) for b in branches)))
    return [None] + [next(ct_lin) if lin else None for lin in linear]


def _cond_batch(args, dims, branches):
    index, ops = args[0], list(args[1:])
    idim, odims = dims[0], list(dims[1:])
    size = _axis_size(args, dims)
    in_b = [d is not None for d in odims]
    ops = [_to_front(o, d, size, b) for o, d, b in zip(ops, odims, in_b)]
    if idim is None:
        outs_b = [batch_graph(b, in_b, size)[1] for b in branches]
        force = [any(col) for col in zip(*outs_b)]
        new = tuple(batch_graph(b, in_b, size, force)[0] for b in branches)
        outs = bind(cond_p, index, *ops, branches=new)
        return outs, [0 if f else None for f in force]
    # a per-example index: run every branch on the whole batch and select
    from fnflow.ops.elementwise import eq, select
    from fnflow.ops.shape import broadcast_in_dim

    index = moveaxis(index, idim, 0)
    n_out = len(branches[0].outvars)
    results = [eval_graph(batch_graph(b, in_b, size, [True] * n_out)[0], *ops) for b in branches]
    outs = list(results[-1])
    for i in range(len(branches) - 2, -1, -1):
        for k in range(n_out):
            shape = get_aval(outs[k]).shape
            pred = broadcast_in_dim(eq(index, np.asarray(i, int_)), shape, (0,))
            outs[k] = select(pred, results[i][k], outs[k])
    return outs, [0] * n_out


cond_p.def_jvp(_cond_jvp)
cond_p.def_transpose(_cond_transpose)
cond_p.def_batch(_cond_batch)


# ============================================================== scan

scan_p = Primitive("scan", multiple_results=True)


@scan_p.def_impl
def _scan_impl(*args, body, num_consts, num_carry, length, reverse):
    consts, carry, xs = _split(args, num_consts, num_carry)
    y_avals = body.out_avals[num_carry:]
    ys = [np.empty((length,) + a.shape, a.dtype) for a in y_avals]
    for i in (range(length - 1, -1, -1) if reverse else range(length)):
        outs = eval_graph(body, *consts, *carry, *[x[i] for x in xs])
        carry = [np.asarray(c) for c in outs[:num_carry]]
        for y, v in zip(ys, outs[num_carry:]):
            y[i] = v
    return carry + ys


@scan_p.def_abstract_eval
def _scan_abstract(*avals, body, num_consts, num_carry, length, reverse):
    consts, carry, xs = _split(avals, num_consts, num_carry)
    b_consts, b_carry, b_xs = _split(body.in_avals, num_consts, num_carry)
    if len(b_xs) != len(xs):
        raise TypeError(f"scan: the body takes {len(body.invars)} inputs but the scan has {len(avals)} operands")
    if consts != b_consts:
        raise TypeError(f"scan: the constants are {_avals(consts)} but the body takes {_avals(b_consts)}")
    for i, (x, bx) in enumerate(zip(xs, b_xs)):
        if x.shape[:1] != (length,) or _slice_aval(x) != bx:
            raise TypeError(f"scan: xs[{i}] is {x.str_short()} but the body takes slices {bx.str_short()} "
                            f"of a length-{length} scan")
    out_carry = body.out_avals[:num_carry]
    for i, (c, bc, oc) in enumerate(zip(carry, b_carry, out_carry)):
        if not c == bc == oc:
            raise TypeError(f"scan: carry[{i}] must keep its type: the initial value is {c.str_short()}, the "
                            f"body takes {bc.str_short()} and returns {oc.str_short()}")
    return list(out_carry) + [_stack_aval(a, length) for a in body.out_avals[num_carry:]]


def _scan_jvp(primals, tangents, body, num_consts, num_carry, length, reverse):
    nc, nk = num_consts, num_carry
    nx = len(primals) - nc - nk
    ny = len(body.outvars) - nk
    nz = [not isinstance(t, Zero) and _float_aval(get_aval(p)) for p, t in zip(primals, tangents)]
    const_nz, carry_nz, xs_nz = _split(nz, nc, nk)
    passthrough = list(range(nc)) + list(range(nc + nk, nc + nk + nx))
    for _ in range(nk + 1):  # carry tangents: a fixed point, since the body can make a zero carry nonzero
        lin = linearize_graph(body, const_nz + carry_nz + xs_nz, carry_nz + [False] * ny, passthrough)
        new = [a or b for a, b in zip(carry_nz, lin.out_nz[:nk])]
        if new == carry_nz:
            break
        carry_nz = new
    params = dict(num_consts=nc, num_carry=nk, length=length, reverse=reverse)
    outs = bind(scan_p, *primals, body=lin.primal, **params)
    p_out, res_stacked = outs[:nk + ny], outs[nk + ny:]
    if not any(lin.out_nz):
        return p_out, [Zero(get_aval(p)) for p in p_out]
    # the linear scan: consts = (const residuals, const tangents), carry = carry tangents,
    # xs = (stacked residuals and xs used as residuals, xs tangents)
    n_res = len(lin.residuals)
    res_vars, t_vars = lin.tangent.invars[:n_res], lin.tangent.invars[n_res:]
    tc_vars, tk_vars, tx_vars = _split(t_vars, sum(const_nz), sum(carry_nz))
    rc_vars, rc_vals, rx_vars, rx_vals = [], [], [], []
    for v, (kind, i) in zip(res_vars, lin.residuals):
        if kind == "in" and i < nc:
            rc_vars.append(v)
            rc_vals.append(primals[i])
        else:
            rx_vars.append(v)
            rx_vals.append(primals[i] if kind == "in" else res_stacked[i])
    t_body = _with_invars(lin.tangent, rc_vars + tc_vars + tk_vars + rx_vars + tx_vars)
    t_consts, t_carry, t_xs = _split(tangents, nc, nk)
    t_consts = [t for t, z in zip(t_consts, const_nz) if z]
    t_carry = [_inst(t, p) for t, p, z in zip(t_carry, primals[nc:nc + nk], carry_nz) if z]
    t_xs = [t for t, z in zip(t_xs, xs_nz) if z]
    t_out = bind(scan_p, *rc_vals, *t_consts, *t_carry, *rx_vals, *t_xs, body=t_body,
                 num_consts=len(rc_vals) + len(t_consts), num_carry=len(t_carry), length=length, reverse=reverse)
    it = iter(t_out)
    return p_out, [next(it) if z else Zero(get_aval(p)) for p, z in zip(p_out, lin.out_nz)]


def _scan_transpose(cts, *args, body, num_consts, num_carry, length, reverse):
    """Transpose of a scan linear in its undefined consts and xs and in all of its carry.

    Runs the transposed body backwards: the carry holds the carry cotangent and
    the accumulated cotangents of the linear consts; the xs are the residual xs
    and the ys' cotangents.
    """
    nk = num_carry
    consts, init, xs = _split(args, num_consts, nk)
    c_lin = [is_undefined(c) for c in consts]
    x_lin = [is_undefined(x) for x in xs]
    res_c = [c for c, lin in zip(consts, c_lin) if not lin]
    res_x = [x for x, lin in zip(xs, x_lin) if not lin]
    b_consts, b_carry, b_xs = _split(body.in_avals, num_consts, nk)
    lin_c_avals = [a for a, lin in zip(b_consts, c_lin) if lin]
    ct_carry = _zero_cts(cts[:nk], body.out_avals[:nk])
    ct_ys = _zero_cts(cts[nk:], [_stack_aval(a, length) for a in body.out_avals[nk:]])
    linear = c_lin + [True] * nk + x_lin
    n_rc, n_lc = len(res_c), len(lin_c_avals)

    def body_t(*a):
        rc, acc, ctc, rx, cty = _split(a, n_rc, n_lc, nk, len(res_x))
        cts_in = backward_graph(body, linear, rc + rx, ctc + cty)
        ct_lc, ct_c, ct_lx = _split(cts_in, n_lc, nk)
        return [add_any(s, c) for s, c in zip(acc, ct_lc)] + ct_c + ct_lx

    avals = ([get_aval(r) for r in res_c] + lin_c_avals + list(b_carry)
             + [_slice_aval(get_aval(r)) for r in res_x] + list(body.out_avals[nk:]))
    g = _trace_rule_body(body_t, avals, "scan_transpose")
    outs = bind(scan_p, *res_c, *[zeros_of(a) for a in lin_c_avals], *ct_carry, *res_x, *ct_ys, body=g,
                num_consts=n_rc, num_carry=n_lc + nk, length=length, reverse=not reverse)
    ct_lc, ct_init, ct_lx = _split(outs, n_lc, nk)
    ct_lc, ct_lx = iter(ct_lc), iter(ct_lx)
    return ([next(ct_lc) if lin else None for lin in c_lin]
            + [c if is_undefined(x) else None for c, x in zip(ct_init, init)]
            + [next(ct_lx) if lin else None for lin in x_lin])


def _scan_batch(args, dims, body, num_consts, num_carry, length, reverse):
    nc, nk = num_consts, num_carry
    size = _axis_size(args, dims)
    consts, init, xs = _split(args, nc, nk)
    cd, kd, xd = _split(dims, nc, nk)
    const_b = [d is not None for d in cd]
    carry_b = [d is not None for d in kd]
    xs_b = [d is not None for d in xd]
    ny = len(body.outvars) - nk
    for _ in range(nk + 1):
        _, out_b = batch_graph(body, const_b + carry_b + xs_b, size, carry_b + [False] * ny)
        new = [a or b for a, b in zip(carry_b, out_b[:nk])]
        if new == carry_b:
            break
        carry_b = new
    new_body, out_b = batch_graph(body, const_b + carry_b + xs_b, size, carry_b + [False] * ny)
    consts = [_to_front(c, d, size, b) for c, d, b in zip(consts, cd, const_b)]
    init = [_to_front(c, d, size, b) for c, d, b in zip(init, kd, carry_b)]
    xs = [moveaxis(x, d, 1) if d is not None else x for x, d in zip(xs, xd)]
    outs = bind(scan_p, *consts, *init, *xs, body=new_body, num_consts=nc, num_carry=nk, length=length,
                reverse=reverse)
    return outs, [0 if b else None for b in carry_b] + [1 if b else None for b in out_b[nk:]]


scan_p.def_jvp(_scan_jvp)
scan_p.def_transpose(_scan_transpose)
scan_p.def_batch(_scan_batch)


# ============================================================== while

while_p = Primitive("while", multiple_results=True)


@while_p.def_impl
def _while_impl(*args, cond_graph, body_graph, cond_nconsts, body_nconsts):
    cconsts, bconsts, carry = _split(args, cond_nconsts, body_nconsts)
    while bool(eval_graph(cond_graph, *cconsts, *carry)[0]):
        carry = [np.asarray(c) for c in eval_graph(body_graph, *bconsts, *carry)]
    return carry


@while_p.def_abstract_eval
def _while_abstract(*avals, cond_graph, body_graph, cond_nconsts, body_nconsts):
    cconsts, bconsts, carry = _split(avals, cond_nconsts, body_nconsts)
    if list(cond_graph.in_avals) != cconsts + carry:
        raise TypeError(f"while_loop: cond takes {_avals(cond_graph.in_avals)} but gets {_avals(cconsts + carry)}")
    if list(body_graph.in_avals) != bconsts + carry:
        raise TypeError(f"while_loop: body takes {_avals(body_graph.in_avals)} but gets {_avals(bconsts + carry)}")
    out = cond_graph.out_avals
    if len(out) != 1 or out[0] != ShapedArray((), np.bool_):
        raise TypeError(f"while_loop: cond_fun must return a boolean scalar, got {_avals(out)}")
    for i, (c, o) in enumerate(zip(carry, body_graph.out_avals)):
        if c != o:
            raise TypeError(f"while_loop: carry[{i}] must keep its type: the initial value is {c.str_short()} "
                            f"but body_fun returns {o.str_short()}")
    return list(carry)


def _while_jvp(primals, tangents, cond_graph, body_graph, cond_nconsts, body_nconsts):
    ncc, nbc = cond_nconsts, body_nconsts
    nz = [not isinstance(t, Zero) and _float_aval(get_aval(p)) for p, t in zip(primals, tangents)]
    _, bconst_nz, carry_nz = _split(nz, ncc, nbc)
    for _ in range(len(carry_nz) + 1):
        jg, out_nz = jvp_graph(body_graph, bconst_nz + carry_nz, carry_nz)
        new = [a or b for a, b in zip(carry_nz, out_nz)]
        if new == carry_nz:
            break
        carry_nz = new
    cconsts, bconsts, carry = _split(primals, ncc, nbc)
    _, t_bconsts, t_carry = _split(tangents, ncc, nbc)
    t_bconsts = [t for t, z in zip(t_bconsts, bconst_nz) if z]
    t_carry = [_inst(t, p) for t, p, z in zip(t_carry, carry, carry_nz) if z]
    nk = len(carry)
    # jg takes (bconsts, carry, t_bconsts, t_carry): reorder to (bconsts, t_bconsts, carry, t_carry)
    pb, pk, tb, tk = _split(jg.invars, nbc, nk, len(t_bconsts))
    body = _with_invars(jg, pb + tb + pk + tk)
    cond = _with_invars(cond_graph, cond_graph.invars + [Var(get_aval(t)) for t in t_carry])
    outs = bind(while_p, *cconsts, *bconsts, *t_bconsts, *carry, *t_carry, cond_graph=cond, body_graph=body,
                cond_nconsts=ncc, body_nconsts=nbc + len(t_bconsts))
    p_out, t_out = outs[:nk], iter(outs[nk:])
    return p_out, [next(t_out) if z else Zero(get_aval(p)) for p, z in zip(p_out, carry_nz)]


def _while_transpose(cts, *args, **params):
    raise TypeError(
        "Reverse-mode differentiation (grad, vjp, jacrev) of lax.while_loop is not supported: the number of "
        "iterations is only known when the loop runs, so its intermediate values cannot be saved. Use "
        "lax.scan, or lax.fori_loop with Python int bounds (which lowers to scan), for loops that need "
        "gradients; forward mode (jvp, jacfwd) of while_loop works.")


def _while_batch(args, dims, cond_graph, body_graph, cond_nconsts, body_nconsts):
    ncc, nbc = cond_nconsts, body_nconsts
    size = _axis_size(args, dims)
    cconsts, bconsts, carry = _split(args, ncc, nbc)
    ccd, bcd, kd = _split(dims, ncc, nbc)
    cc_b = [d is not None for d in ccd]
    bc_b = [d is not None for d in bcd]
    carry_b = [d is not None for d in kd]
    for _ in range(len(carry) + 1):
        _, out_b = batch_graph(body_graph, bc_b + carry_b, size, carry_b)
        new = [a or b for a, b in zip(carry_b, out_b)]
        if new == carry_b:
            break
        carry_b = new
    _, (pred_b,) = batch_graph(cond_graph, cc_b + carry_b, size)
    if pred_b:  # examples stop at different times: run until all are done, freezing the finished ones
        carry_b = [True] * len(carry)
    body_b, _ = batch_graph(body_graph, bc_b + carry_b, size, carry_b)
    cond_b, _ = batch_graph(cond_graph, cc_b + carry_b, size)
    cconsts = [_to_front(c, d, size, b) for c, d, b in zip(cconsts, ccd, cc_b)]
    bconsts = [_to_front(c, d, size, b) for c, d, b in zip(bconsts, bcd, bc_b)]
    carry = [_to_front(c, d, size, b) for c, d, b in zip(carry, kd, carry_b)]
    out_dims = [0 if b else None for b in carry_b]
    if not pred_b:
        outs = bind(while_p, *cconsts, *bconsts, *carry, cond_graph=cond_b, body_graph=body_b,
                    cond_nconsts=ncc, body_nconsts=nbc)
        return outs, out_dims
    from fnflow.ops.elementwise import select
    from fnflow.ops.reduce import reduce_or
    from fnflow.ops.shape import broadcast_in_dim

    n_cc = len(cconsts)
    c_avals = [get_aval(c) for c in cconsts + carry]

    def any_left(*a):
        return [reduce_or(eval_graph(cond_b, *a)[0], None)]

    def step(*a):
        cc, bc, k = _split(a, n_cc, len(bconsts))
        pred = eval_graph(cond_b, *cc, *k)[0]
        new = eval_graph(body_b, *bc, *k)
        return [select(broadcast_in_dim(pred, get_aval(n).shape, (0,)), n, c) for n, c in zip(new, k)]

    cond_any = _trace_rule_body(any_left, c_avals, "while_cond")
    body_sel = _trace_rule_body(step, [get_aval(c) for c in cconsts + bconsts + carry], "while_body")
    outs = bind(while_p, *cconsts, *cconsts, *bconsts, *carry, cond_graph=cond_any, body_graph=body_sel,
                cond_nconsts=ncc, body_nconsts=ncc + nbc)
    return outs, out_dims


while_p.def_jvp(_while_jvp)
while_p.def_transpose(_while_transpose)
while_p.def_batch(_while_batch)


__all__ = ["cond_p", "scan_p", "while_p", "trace_closed", "jvp_graph", "linearize_graph", "backward_graph",
           "batch_graph"]
