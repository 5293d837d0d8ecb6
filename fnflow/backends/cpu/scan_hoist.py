"""Sums of products out of scan loops: ``acc + a_t @ b_t`` per step -> one product after the loop.

The backward pass of a recurrence accumulates its weight gradient in the
carry: ``dW = dW + h_t^T @ dz_t`` at every step (64x128x512 for an LSTM step).
Each of those is a small GEMM that BLAS runs far below its peak, plus a pass
over ``dW`` to add it. The sum over the steps is itself one contraction, over
the step axis as well:

    sum_t  a_t . b_t  =  A . B  (contracting the stacked axis too)

so the loop instead hands out ``a_t`` and ``b_t`` stacked (an operand that is
already one of the scan's ``xs`` is read from there, not stacked again) and a
single large GEMM after the loop adds them all to the initial carry. Only the
order of the float additions changes.

The rewrite applies to a carry whose only use in the body is that addition,
whose new value is that addition, and whose addend is a ``dot_general`` used
nowhere else, with operands that change per step (a loop-invariant operand
would be stacked ``length`` times for nothing).
"""

from __future__ import annotations

from fnflow.backends.cpu.passes import dce, optimize, rewrite_eqns, use_counts
from fnflow.core.abstract import ShapedArray
from fnflow.core.graph import Eqn, Graph, Var

_ADDS = ("add_any", "add")


def hoist_scan_accumulators(graph: Graph) -> Graph:
    """Rewrite every scan of ``graph`` whose carries qualify (see the module docstring)."""
    return rewrite_eqns(graph, lambda e: _hoist(e) if e.prim.name == "scan" else None)


def _candidate(body, j, nc, made_by, uses, invariant):
    """``(add_eqn, dot_eqn)`` if carry ``j`` is a pure sum of per-step products, else None."""
    cin, cout = body.invars[nc + j], body.outvars[j]
    add = made_by.get(cout) if isinstance(cout, Var) else None
    if add is None or add.prim.name not in _ADDS or uses.get(cin) != 1 or uses.get(cout) != 1:
        return None
    a, b = add.invars
    t = b if a is cin else a if b is cin else None
    if not isinstance(t, Var) or uses.get(t) != 1 or t.aval != cin.aval or cout.aval != cin.aval:
        return None
    dot = made_by.get(t)
    if dot is None or dot.prim.name != "dot_general":
        return None
    if any(not isinstance(v, Var) or v in invariant for v in dot.invars):
        return None
    return add, dot


def _hoist(e):
    nc, nk = e.params["num_consts"], e.params["num_carry"]
    body = optimize(e.params["body"])  # its products as they will run (``transposed_products``)
    made_by = {v: q for q in body.eqns for v in q.outvars}
    uses = use_counts(body)
    invariant = set(body.invars[:nc]) | set(body.constvars)
    found = {}
    for j in range(nk):
        c = _candidate(body, j, nc, made_by, uses, invariant)
        if c is not None:
            found[j] = c
    if not found:
        return None

    length = e.params["length"]
    xs_in = body.invars[nc + nk:]  # the body's slices of the scan's xs
    outer_xs = e.invars[nc + nk:]
    keep = [j for j in range(nk) if j not in found]
    new_ys, stacked = [], {}  # body var -> the outer var holding it stacked

    ys_out = body.outvars[nk:]

    def stacked_var(v):
        if v in xs_in:
            return outer_xs[xs_in.index(v)]
        if v in ys_out:  # already stacked by the loop
            return e.outvars[nk + ys_out.index(v)]
        if v not in stacked:
            new_ys.append(v)
            stacked[v] = Var(ShapedArray((length,) + v.aval.shape, v.aval.dtype))
        return stacked[v]

    after = []  # equations after the loop: the products and their additions to the initial carries
    finals = {}
    for j, (add, dot) in found.items():
        a, b = dot.invars
        sa, sb = stacked_var(a), stacked_var(b)
        (lc, rc), (lb, rb) = dot.params["dimension_numbers"]
        dn = (((0,) + tuple(i + 1 for i in lc), (0,) + tuple(i + 1 for i in rc)),
              (tuple(i + 1 for i in lb), tuple(i + 1 for i in rb)))
        total = Var(dot.outvars[0].aval)
        after.append(Eqn(dot.prim, [sa, sb], [total], dict(dot.params, dimension_numbers=dn)))
        final = e.outvars[j]
        after.append(Eqn(add.prim, [e.invars[nc + j], total], [final], dict(add.params)))
        finals[j] = final

    ny_old = len(body.outvars) - nk
    body_in = body.invars[:nc] + [body.invars[nc + j] for j in keep] + list(xs_in)
    body_out = [body.outvars[j] for j in keep] + body.outvars[nk:] + new_ys
    new_body = dce(Graph(body.constvars, body_in, body_out, body.eqns, body.consts))
    outer_in = e.invars[:nc] + [e.invars[nc + j] for j in keep] + list(outer_xs)
    outer_out = ([e.outvars[j] for j in keep] + e.outvars[nk:nk + ny_old]
                 + [stacked[v] for v in new_ys])
    loop = Eqn(e.prim, outer_in, outer_out, dict(e.params, body=new_body, num_carry=len(keep)))
    return [loop] + after

