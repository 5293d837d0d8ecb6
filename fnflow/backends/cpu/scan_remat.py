"""Residuals of a scan that are cheap arithmetic of its other residuals: recomputed where they are read.

Reverse mode through ``lax.scan`` runs a forward loop that stacks, per step,
every value the backward loop needs. Derivative factors such as
``s * (1 - s)`` (of a sigmoid ``s``) or ``1 - t * t`` (of a tanh ``t``) are
stacked next to ``s`` and ``t`` themselves: for an LSTM step, five of its
twelve ``(batch, units)`` residuals. Each is written by the forward loop and
read back by the backward one, a round trip through memory that costs more
than the two or three flops that make it. This pass drops such a stacked
output from the loop that makes it and computes it inside each loop that
reads it, from the slices of the residuals it is made of (those loops read
them anyway, or gain them as inputs), where fusion folds the arithmetic into
the kernels already there.

A stacked output qualifies when its body value is made, through ``add``,
``sub``, ``mul``, ``neg`` and scalar literals only, of values the loop also
stacks (or of its own ``xs`` slices), and every reader is another scan of the
same length taking it among its ``xs``.
"""

from __future__ import annotations

from fnflow.backends.cpu.passes import dce
from fnflow.core.abstract import ShapedArray
from fnflow.core.graph import Eqn, Graph, Literal, Var

_CHEAP = ("add", "sub", "mul", "neg", "add_any")
_MAX_OPS = 4  # longer expressions are not "a few flops"


def remat_scan_residuals(graph: Graph) -> Graph:
    """Apply the rewrite to every qualifying stacked output of every scan of ``graph``."""
    outs = {v for v in graph.outvars if isinstance(v, Var)}
    eqns, changed = list(graph.eqns), False
    for i in range(len(eqns)):
        if eqns[i].prim.name != "scan":
            continue
        readers = {}
        for q in eqns:
            for k, v in enumerate(q.invars):
                if isinstance(v, Var):
                    readers.setdefault(v, []).append((q, k))
        plan = _plan(eqns[i], readers, outs)
        if not plan:
            continue
        changed = True
        eqns[i] = _drop_outputs(eqns[i], plan)
        for y_outer, (expr, leaves) in plan.items():
            for j, q in enumerate(eqns):
                if any(v is y_outer for v in q.invars):
                    eqns[j] = _recompute_in(q, y_outer, expr, leaves)
    if not changed:
        return graph
    g = Graph(graph.constvars, graph.invars, graph.outvars, eqns, graph.consts)
    g.in_tree, g.out_tree = graph.in_tree, graph.out_tree
    return g


def _plan(e, readers, graph_outs):
    """``{stacked outer var: (expression eqns, {body leaf var: stacked outer var})}`` for the outputs to drop."""
    p = e.params
    body, nc, nk, length = p["body"], p["num_consts"], p["num_carry"], p["length"]
    made_by = {v: q for q in body.eqns for v in q.outvars}
    ys_body = body.outvars[nk:]
    ys_outer = e.outvars[nk:]
    xs_body = body.invars[nc + nk:]
    xs_outer = e.invars[nc + nk:]
    stacked = {}  # body value -> its stacked outer var (ys and xs the loop already has)
    for bv, ov in zip(xs_body, xs_outer):
        if isinstance(bv, Var) and isinstance(ov, Var):
            stacked.setdefault(bv, ov)
    for bv, ov in zip(ys_body, ys_outer):
        if isinstance(bv, Var):
            stacked.setdefault(bv, ov)
    plan, dropped = {}, set()
    for bv, ov in zip(ys_body, ys_outer):
        if not isinstance(bv, Var) or ov in graph_outs or ov not in readers or bv not in made_by:
            continue
        if ys_body.count(bv) != 1:
            continue
        if not all(r.prim.name == "scan" and r.params["length"] == length
                   and k >= r.params["num_consts"] + r.params["num_carry"] for r, k in readers[ov]):
            continue
        expr = _expression(bv, made_by, stacked, exclude=ov)
        if expr is None:
            continue
        eqs, leaves = expr
        if any(leaves[lv] in plan or leaves[lv] in dropped for lv in leaves):
            continue
        plan[ov] = (eqs, leaves)
        dropped.add(ov)
    return plan


def _expression(v, made_by, stacked, exclude):
    """The cheap equations making ``v`` from stacked values (in order) and its leaves, or None."""
    eqs, leaves, seen = [], {}, set()

    def visit(u):
        if isinstance(u, Literal):
            return u.aval.shape == ()
        if u is not v and u in stacked and stacked[u] is not exclude:
            leaves[u] = stacked[u]
            return True
        q = made_by.get(u)
        if q is None or q.prim.name not in _CHEAP or len(q.outvars) != 1:
            return False
        if q in seen:
            return True
        seen.add(q)
        if not all(visit(w) for w in q.invars):
            return False
        eqs.append(q)
        return len(eqs) <= _MAX_OPS

    if not visit(v) or not leaves:
        return None
    return eqs, leaves


def _drop_outputs(e, plan):
    nk = e.params["num_carry"]
    body = e.params["body"]
    keep = [j for j, ov in enumerate(e.outvars) if j < nk or ov not in plan]
    new_body = dce(Graph(body.constvars, body.invars, [body.outvars[j] for j in keep], body.eqns, body.consts))
    return Eqn(e.prim, e.invars, [e.outvars[j] for j in keep], dict(e.params, body=new_body))


def _recompute_in(reader, y_outer, expr, leaves):
    """``reader`` (a scan) computing its slice of ``y_outer`` from slices of the leaves' stacked arrays."""
    p = reader.params
    body, nc, nk = p["body"], p["num_consts"], p["num_carry"]
    xs_outer = list(reader.invars[nc + nk:])
    xs_body = list(body.invars[nc + nk:])
    slot = {ov: bv for ov, bv in zip(xs_outer, xs_body)}  # stacked outer var -> the reader's slice of it
    for ov in leaves.values():
        if ov not in slot:
            bv = Var(_slice_aval(ov.aval))
            xs_outer.append(ov)
            xs_body.append(bv)
            slot[ov] = bv
    targets = [bv for ov, bv in zip(xs_outer, xs_body) if ov is y_outer]
    rename = {lv: slot[ov] for lv, ov in leaves.items()}
    new_eqns = []
    for j, target in enumerate(targets):  # normally one; a loop reading the array twice gets it twice
        local = dict(rename)
        for q in expr:
            out = target if q is expr[-1] else Var(q.outvars[0].aval)
            new_eqns.append(Eqn(q.prim, [local.get(w, w) for w in q.invars], [out], dict(q.params)))
            local[q.outvars[0]] = out
    kept = [(ov, bv) for ov, bv in zip(xs_outer, xs_body) if ov is not y_outer]
    new_body = Graph(body.constvars, body.invars[:nc + nk] + [bv for _, bv in kept], body.outvars,
                     new_eqns + body.eqns, body.consts)
    invars = reader.invars[:nc + nk] + [ov for ov, _ in kept]
    return Eqn(reader.prim, invars, reader.outvars, dict(p, body=new_body))


def _slice_aval(aval):
    return ShapedArray(aval.shape[1:], aval.dtype)
