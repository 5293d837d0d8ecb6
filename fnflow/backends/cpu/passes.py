"""Graph passes that run before fusion: inline nested jit calls, fold constants,
merge common subexpressions, drop dead code.

Every pass takes a :class:`~fnflow.core.graph.Graph` and returns a new one (the
input is never modified: graphs are shared with ``jit``'s caches). Equations and
variables are reused, so the passes cost a few microseconds per equation.
"""

from __future__ import annotations

import numpy as np

from fnflow.core.graph import Eqn, Graph, Literal, Var
from fnflow.ops.shape import concatenate_p

# folded constants larger than this (and larger than every input) stay computed at run
# time: a broadcast of a scalar to a big shape is cheaper to fuse than to store
FOLD_LIMIT = 1 << 12


def optimize(graph: Graph) -> Graph:
    """The pass pipeline: inline -> fold -> CSE -> transposed products -> pad sums -> DCE, then the scan
    rewrites (sums hoisted out of loops, cheap residuals recomputed where they are read)."""
    # these build on this module's passes
    from fnflow.backends.cpu.scan_hoist import hoist_scan_accumulators
    from fnflow.backends.cpu.scan_remat import remat_scan_residuals

    graph = inline_jit_calls(graph)
    graph = fold_constants(graph)
    graph = cse(graph)
    graph = transposed_products(graph)
    graph = pad_sums_to_concatenate(graph)
    return remat_scan_residuals(hoist_scan_accumulators(dce(graph)))


def has_subgraphs(eqn) -> bool:
    """True if the equation carries graphs in its params (control flow, jit_call ...)."""
    for v in eqn.params.values():
        if isinstance(v, Graph) or (isinstance(v, (tuple, list)) and any(isinstance(g, Graph) for g in v)):
            return True
    return False


def has_effects(eqn) -> bool:
    """Primitives marked ``has_effects`` (debug printing) are never dropped, merged or folded."""
    return bool(getattr(eqn.prim, "has_effects", False))


# ----------------------------------------------------------------- inlining


# call-like equations and the param holding their graph: a custom_jvp/custom_vjp call evaluates as its
# function's graph (its differentiation rules are no concern of the compiler)
_INLINED = {"jit_call": "graph", "custom_jvp_call": "call", "custom_vjp_call": "call", "custom_jvp_closed": "call",
            "custom_vjp_closed": "call"}


def inline_jit_calls(graph: Graph) -> Graph:
    """Replace every ``jit_call`` (and custom rule call) equation by the equations of its graph, recursively."""
    if not any(e.prim.name in _INLINED for e in graph.eqns):
        return graph
    constvars, consts = list(graph.constvars), list(graph.consts)
    eqns = []
    subst = {}

    def read(v):
        return v if isinstance(v, Literal) else subst.get(v, v)

    for e in graph.eqns:
        if e.prim.name not in _INLINED:
            invars = [read(v) for v in e.invars]
            eqns.append(e if invars == e.invars else Eqn(e.prim, invars, e.outvars, e.params))
            continue
        sub = inline_jit_calls(e.params[_INLINED[e.prim.name]])
        env = dict(zip(sub.invars, [read(v) for v in e.invars]))
        for cv, c in zip(sub.constvars, sub.consts):
            nv = Var(cv.aval)
            constvars.append(nv)
            consts.append(c)
            env[cv] = nv

        def rd(v, env=env):
            return v if isinstance(v, Literal) else env[v]

        for se in sub.eqns:
            outs = [Var(v.aval) for v in se.outvars]
            env.update(zip(se.outvars, outs))
            eqns.append(Eqn(se.prim, [rd(v) for v in se.invars], outs, se.params))
        for o, so in zip(e.outvars, sub.outvars):
            subst[o] = rd(so)
    outvars = [read(v) for v in graph.outvars]
    return _rebuild(graph, constvars, eqns, outvars, consts)


def _rebuild(graph, constvars, eqns, outvars, consts):
    g = Graph(constvars, graph.invars, outvars, eqns, consts)
    g.in_tree, g.out_tree = graph.in_tree, graph.out_tree
    return g


def rewrite_eqns(graph: Graph, rewrite) -> Graph:
    """``graph`` with each equation ``e`` replaced by ``rewrite(e)`` (a list of equations), where that is not
    None; the same graph when nothing is replaced."""
    eqns, changed = [], False
    for e in graph.eqns:
        new = rewrite(e)
        if new is None:
            eqns.append(e)
        else:
            eqns.extend(new)
            changed = True
    return _rebuild(graph, graph.constvars, eqns, graph.outvars, graph.consts) if changed else graph


# -------------------------------------------------------- constant folding


def _impl_value(prim, vals, params):
    outs = prim.impl(*vals, **params)
    return list(outs) if prim.multiple_results else [outs]


def fold_constants(graph: Graph) -> Graph:
    """Evaluate (with the primitive's ``impl``) equations whose inputs are all known.

    Scalar results become :class:`Literal` s, others new constants. Equations with
    sub-graphs, and results much larger than their inputs, are left alone.
    """
    known = {v: np.asarray(c) for v, c in zip(graph.constvars, graph.consts)}
    subst, eqns = {}, []
    new_constvars, new_consts = [], []

    def read(v):
        return v if isinstance(v, Literal) else subst.get(v, v)

    def value(v):
        return np.asarray(v.val) if isinstance(v, Literal) else known.get(v)

    for e in graph.eqns:
        invars = [read(v) for v in e.invars]
        vals = [value(v) for v in invars]
        foldable = (all(x is not None for x in vals) and e.prim.impl is not None and not has_subgraphs(e)
                    and not has_effects(e))
        if foldable:
            limit = max([FOLD_LIMIT] + [x.size for x in vals])
            if all(v.aval.size <= limit for v in e.outvars):
                try:
                    outs = _impl_value(e.prim, vals, e.params)
                except Exception:  # leave it to run time, where the error is reported as usual
                    outs = None
                if outs is not None:
                    for v, o in zip(e.outvars, outs):
                        o = np.asarray(o, v.aval.dtype)
                        if o.ndim == 0:
                            subst[v] = Literal(o)
                        else:
                            known[v] = o
                    continue
        eqns.append(e if invars == e.invars else Eqn(e.prim, invars, e.outvars, e.params))
    outvars = [read(v) for v in graph.outvars]
    # every constant still referenced by an equation or an output
    used = {v for e in eqns for v in e.invars if isinstance(v, Var)} | {v for v in outvars if isinstance(v, Var)}
    for v, c in known.items():
        if v in used:
            new_constvars.append(v)
            new_consts.append(c)
    return _rebuild(graph, new_constvars, eqns, outvars, new_consts)


# ------------------------------------------------ common subexpressions


def _freeze(x):
    """A hashable key for a param value (identity for what cannot be hashed)."""
    if isinstance(x, (tuple, list)):
        return (type(x).__name__,) + tuple(_freeze(i) for i in x)
    if isinstance(x, dict):
        return ("dict",) + tuple((k, _freeze(v)) for k, v in sorted(x.items()))
    if isinstance(x, np.ndarray):
        return ("array", x.dtype.str, x.shape, x.tobytes()) if x.size <= 64 else ("id", id(x))
    try:
        hash(x)
    except TypeError:
        return ("id", id(x))
    return (type(x).__name__, x)


def _lit_key(v):
    return ("lit", v.aval.dtype.str, np.asarray(v.val).tobytes())


def cse(graph: Graph) -> Graph:
    """Merge equations that apply the same primitive with the same params to the same inputs."""
    seen, subst, eqns = {}, {}, []

    def read(v):
        return v if isinstance(v, Literal) else subst.get(v, v)

    for e in graph.eqns:
        invars = [read(v) for v in e.invars]
        key = None
        if has_effects(e):
            eqns.append(e if invars == e.invars else Eqn(e.prim, invars, e.outvars, e.params))
            continue
        try:
            key = (e.prim, tuple(_lit_key(v) if isinstance(v, Literal) else v for v in invars),
                   tuple((k, _freeze(p)) for k, p in sorted(e.params.items())))
            hash(key)
        except TypeError:
            key = None
        prev = seen.get(key) if key is not None else None
        if prev is not None:
            subst.update(zip(e.outvars, prev.outvars))
            continue
        ne = e if invars == e.invars else Eqn(e.prim, invars, e.outvars, e.params)
        if key is not None:
            seen[key] = ne
        eqns.append(ne)
    outvars = [read(v) for v in graph.outvars]
    return _rebuild(graph, graph.constvars, eqns, outvars, graph.consts)


# ------------------------------------------------- transposed products


def _swap_perm(dn, lhs_ndim, rhs_ndim):
    """The transpose of a ``dot_general`` result that swapping its operands gives directly."""
    (lc, rc), (lb, _) = dn
    nb = len(lb)
    nl, nr = lhs_ndim - len(lc) - nb, rhs_ndim - len(rc) - nb
    return tuple(range(nb)) + tuple(nb + nl + j for j in range(nr)) + tuple(nb + i for i in range(nl))


def transposed_products(graph: Graph) -> Graph:
    """``transpose(dot_general(a, b))`` -> ``dot_general(b, a)`` when the product is only read transposed.

    Reverse mode writes weight gradients as ``(x^T g)^T``; computing ``g^T x``
    directly lets the next kernel (the optimizer update) read its operand in
    order instead of striding across it. The product itself is left to DCE.
    """
    users = {}
    for e in graph.eqns:
        for v in e.invars:
            if isinstance(v, Var):
                users.setdefault(v, []).append(e)
    outs = {v for v in graph.outvars if isinstance(v, Var)}
    made_by = {e.outvars[0]: e for e in graph.eqns if e.prim.name == "dot_general"}

    def swap(e):
        if e.prim.name != "transpose" or not isinstance(e.invars[0], Var):
            return None
        d = made_by.get(e.invars[0])
        if d is None or d.outvars[0] in outs or not all(u.prim.name == "transpose" for u in users[d.outvars[0]]):
            return None
        (lc, rc), (lb, rb) = d.params["dimension_numbers"]
        a, b = d.invars
        if tuple(e.params["permutation"]) != _swap_perm(d.params["dimension_numbers"], a.aval.ndim, b.aval.ndim):
            return None
        return [Eqn(d.prim, [b, a], e.outvars, dict(d.params, dimension_numbers=((rc, lc), (rb, lb))))]

    return rewrite_eqns(graph, swap)


# ------------------------------------------------------ sums of disjoint pads


def use_counts(graph: Graph) -> dict:
    """How many times each variable is read: by an equation's operands or as an output of the graph."""
    uses = {}
    for v in [v for e in graph.eqns for v in e.invars] + list(graph.outvars):
        if isinstance(v, Var):
            uses[v] = uses.get(v, 0) + 1
    return uses


def _pad_piece(e):
    """``(axis, {offset: operand})`` if ``e`` zero-pads its operand along one axis only, else None."""
    value = e.invars[1]
    if not isinstance(value, Literal) or np.asarray(value.val) != 0 or not isinstance(e.invars[0], Var):
        return None
    padded = [k for k, c in enumerate(e.params["config"]) if tuple(c) != (0, 0)]
    if len(padded) != 1 or len(e.params["config"][padded[0]]) != 2 or min(e.params["config"][padded[0]]) < 0:
        return None
    return padded[0], {e.params["config"][padded[0]][0]: e.invars[0]}


def pad_sums_to_concatenate(graph: Graph) -> Graph:
    """``pad(a) + pad(b) + ...`` tiling an axis without overlap -> ``concatenate(a, b, ...)``.

    Reverse mode turns slicing an array into pieces (an LSTM's four gates)
    into zero-padding each piece's cotangent back to full size and adding them
    up: four fills, four copies and a four-way sum where one concatenation
    copies each piece once.
    """
    uses = use_counts(graph)
    pieces = {}  # var -> (axis, {offset: operand}): a zero-padded sum of disjoint pieces
    for e in graph.eqns:
        if e.prim.name == "pad":
            p = _pad_piece(e)
            if p is not None:
                pieces[e.outvars[0]] = p
        elif e.prim.name in ("add_any", "add") and all(isinstance(v, Var) and v in pieces for v in e.invars):
            (ka, pa), (kb, pb) = pieces[e.invars[0]], pieces[e.invars[1]]
            if ka == kb and e.invars[0].aval == e.invars[1].aval == e.outvars[0].aval \
                    and all(uses[v] == 1 for v in e.invars):
                spans = sorted((o, o + v.aval.shape[ka]) for o, v in {**pa, **pb}.items())
                if len(spans) == len(pa) + len(pb) and all(a[1] <= b[0] for a, b in zip(spans, spans[1:])):
                    pieces[e.outvars[0]] = (ka, {**pa, **pb})
    def join(e):
        out = e.outvars[0] if len(e.outvars) == 1 else None
        if e.prim.name not in ("add_any", "add") or out not in pieces:
            return None
        axis, parts = pieces[out]
        offsets = sorted(parts)
        ends = [o + parts[o].aval.shape[axis] for o in offsets]
        if offsets[0] != 0 or ends[-1] != out.aval.shape[axis] or offsets[1:] != ends[:-1]:
            return None  # not the whole axis (yet): a partial sum, left to DCE once the whole one is joined
        return [Eqn(concatenate_p, [parts[o] for o in offsets], [out], {"dimension": axis})]

    return rewrite_eqns(graph, join)


# ---------------------------------------------------------- dead code


def dce(graph: Graph) -> Graph:
    """Drop equations none of whose outputs is used, and unused constants.

    Every primitive is pure, so an unused result is never needed for its effects.
    """
    live = {v for v in graph.outvars if isinstance(v, Var)}
    kept = []
    for e in reversed(graph.eqns):
        if has_effects(e) or any(v in live for v in e.outvars):
            kept.append(e)
            live.update(v for v in e.invars if isinstance(v, Var))
    kept.reverse()
    pairs = [(v, c) for v, c in zip(graph.constvars, graph.consts) if v in live]
    return _rebuild(graph, [v for v, _ in pairs], kept, graph.outvars, [c for _, c in pairs])
