"""Fusion: group chains of elementwise equations (and a final reduction) into kernels.

Walking the equations in order, an elementwise equation joins the groups that
produce its operands when they are still open (no reduction yet) and iterate
over the same shape as its result; a reduction joins the group of its operand
and closes it. Data-movement equations that a kernel can read through
(broadcast_in_dim, size-one reshapes, transpose, slice, rev) start a group of
their own, so that their consumers fuse with them and read the operand at the
moved index instead of materialising it. A merge is refused when it would
create a cycle (a group that both feeds and consumes an outside equation).

The result is a list of nodes in a valid execution order: :class:`Group` s
(one kernel each) and single equations (lowered one by one).
"""

from __future__ import annotations

import heapq

import numpy as np

from fnflow.backends.cpu import codegen
from fnflow.backends.cpu.passes import dce
from fnflow.core.abstract import ShapedArray
from fnflow.core.graph import Eqn, Literal, Var
from fnflow.core.primitive import Primitive

# ------------------------------------------------------- chains of data movement

# A backend-internal primitive: any chain of transposes, slices, reversals,
# broadcasts and size-one reshapes, as one index map (see codegen.py).
strided_view_p = Primitive("strided_view")


@strided_view_p.def_impl
def _strided_view_impl(x, shape, index_map):
    x = np.asarray(x)
    idx, order = [], []
    for e in index_map:
        if e[0] == "c":
            idx.append(e[1])
        else:
            _, d, a, b = e
            stop = a + b * shape[d]
            idx.append(slice(a, stop if stop >= 0 else None, b))
            order.append(d)
    y = x[tuple(idx)] if idx else x
    y = np.transpose(y, sorted(range(len(order)), key=order.__getitem__))
    expanded = [1] * len(shape)
    for d in order:
        expanded[d] = shape[d]
    return np.broadcast_to(np.reshape(y, expanded), shape)


strided_view_p.def_abstract_eval(lambda x, shape, index_map: ShapedArray(shape, x.dtype))


def compose_loads(graph):
    """Replace each chain of data-movement equations by one ``strided_view`` of the chain's start."""
    src = {}  # var made by a load -> (its source value, map from the source)
    eqns, changed = [], False
    for e in graph.eqns:
        m = codegen.load_map(e) if codegen.supports(e) else None
        if m is None and e.prim.name in codegen.ELEMENTWISE and codegen.supports(e):
            # an operand that is a view and gets broadcast: one view of the consumer's shape instead
            shape, invars = e.outvars[0].aval.shape, list(e.invars)
            for j, x in enumerate(invars):
                if isinstance(x, Var) and x in src and x.aval.shape != shape:
                    base, inner = src[x]
                    vm = codegen.compose(inner, codegen.broadcast_map(x.aval.shape, shape))
                    w = Var(ShapedArray(shape, x.aval.dtype))
                    eqns.append(Eqn(strided_view_p, [base], [w], {"shape": shape, "index_map": vm}))
                    src[w] = (base, vm)
                    invars[j] = w
            if invars != list(e.invars):
                e = Eqn(e.prim, invars, e.outvars, e.params)
                changed = True
        if m is not None:
            x = e.invars[0]
            if isinstance(x, Var) and x in src:
                base, inner = src[x]
                m = codegen.compose(inner, m)
                e = Eqn(strided_view_p, [base], e.outvars, {"shape": e.outvars[0].aval.shape, "index_map": m})
                changed = True
            src[e.outvars[0]] = (e.invars[0], m)
        eqns.append(e)
    if not changed:
        return graph
    from fnflow.core.graph import Graph

    g = Graph(graph.constvars, graph.invars, graph.outvars, eqns, graph.consts)
    g.in_tree, g.out_tree = graph.in_tree, graph.out_tree
    return dce(g)



class Group:
    """Equations fused into one kernel."""

    def __init__(self, eqns, shape, closed=False):
        self.eqns = list(eqns)
        self.shape = shape
        self.closed = closed  # ends with a reduction: nothing joins after it
        self.first = None  # position of the first equation (ordering)

    @property
    def reduce_eqn(self):
        last = self.eqns[-1]
        return last if last.prim.name in codegen.REDUCERS else None

    @property
    def is_compute(self):
        """Whether the group computes anything (load-only groups stay views)."""
        return any(e.prim.name in codegen.ELEMENTWISE or e.prim.name in codegen.REDUCERS for e in self.eqns)

    def __repr__(self):
        return f"Group({[e.prim.name for e in self.eqns]}, shape={self.shape})"


def _kind(eqn):
    name = eqn.prim.name
    if not codegen.supports(eqn):
        return None
    if name in codegen.REDUCERS:
        return "reduce"
    if name in codegen.ELEMENTWISE:
        return "elementwise"
    return "load"


def fuse(graph):
    """Partition the equations of an optimized graph into groups and single equations, in execution order."""
    nodes = {}  # node id -> Group | Eqn
    first = {}  # node id -> first equation position
    deps = {}  # node id -> node ids it reads from
    users = {}  # node id -> node ids reading from it
    node_of = {}  # Var -> node id producing it
    counter = [0]

    def new_node(obj, pos, dep_ids):
        nid = counter[0]
        counter[0] += 1
        nodes[nid], first[nid], deps[nid], users[nid] = obj, pos, set(dep_ids), set()
        for d in dep_ids:
            users[d].add(nid)
        for e in (obj.eqns if isinstance(obj, Group) else [obj]):
            for v in e.outvars:
                node_of[v] = nid
        return nid

    def producers(eqn):
        return {node_of[v] for v in eqn.invars if isinstance(v, Var) and v in node_of}

    def reaches(starts, targets):
        """Whether a node in ``starts`` depends (transitively) on a node in ``targets``."""
        stack, seen = list(starts), set()
        while stack:
            n = stack.pop()
            if n in targets:
                return True
            if n in seen:
                continue
            seen.add(n)
            stack.extend(deps[n])
        return False

    def try_merge(cands, eqn):
        """Merge the candidate groups with ``eqn`` if that creates no cycle; the new node id or None."""
        members = set(cands)
        outside = set().union(*(deps[c] for c in cands), producers(eqn)) - members
        if reaches(outside, members):
            return None
        eqns = sorted((e for c in cands for e in nodes[c].eqns), key=pos_of.__getitem__) + [eqn]
        # a load must read from outside its group
        produced = {v for e in eqns for v in e.outvars}
        if any(_kind(e) == "load" and isinstance(e.invars[0], Var) and e.invars[0] in produced for e in eqns):
            return None
        shape = nodes[next(iter(cands))].shape
        closed = _kind(eqn) == "reduce"
        pos = min(first[c] for c in cands)
        merged_users = set().union(*(users[c] for c in cands)) - members
        for c in cands:
            for d in deps[c]:
                users[d].discard(c)
            del nodes[c], deps[c], users[c], first[c]
        nid = new_node(Group(eqns, shape, closed), pos, outside)
        users[nid] |= merged_users
        for u in merged_users:
            deps[u] -= members
            deps[u].add(nid)
        return nid

    pos_of = {}
    for i, e in enumerate(graph.eqns):
        pos_of[e] = i
        kind = _kind(e)
        if kind in ("elementwise", "reduce"):
            shape = e.invars[0].aval.shape if kind == "reduce" else e.outvars[0].aval.shape
            cands = [n for n in producers(e)
                     if isinstance(nodes[n], Group) and not nodes[n].closed and nodes[n].shape == shape]
            nid = None
            if cands:
                nid = try_merge(sorted(cands), e)
                if nid is None and len(cands) > 1:
                    for c in sorted(cands, key=first.__getitem__, reverse=True):
                        nid = try_merge([c], e)
                        if nid is not None:
                            break
            if nid is None:
                new_node(Group([e], shape, closed=kind == "reduce"), i, producers(e))
        elif kind == "load":
            new_node(Group([e], e.outvars[0].aval.shape), i, producers(e))
        else:
            new_node(e, i, producers(e))

    # execution order: topological, earliest first equation first
    indeg = {n: len(deps[n]) for n in nodes}
    ready = [(first[n], n) for n in nodes if indeg[n] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, n = heapq.heappop(ready)
        order.append(nodes[n])
        for u in users[n]:
            indeg[u] -= 1
            if indeg[u] == 0:
                heapq.heappush(ready, (first[u], u))
    assert len(order) == len(nodes), "fusion produced a cycle"
    return order


def group_io(group, used_outside):
    """The external inputs (Vars and Literals, first use first) and the outputs of a group.

    ``used_outside``: vars read by other nodes or returned by the graph.
    """
    produced = {v for e in group.eqns for v in e.outvars}
    inputs, seen = [], set()
    for e in group.eqns:
        for v in e.invars:
            key = id(v)
            if (isinstance(v, Literal) or v not in produced) and key not in seen:
                seen.add(key)
                inputs.append(v)
    outputs = [v for e in group.eqns for v in e.outvars if v in used_outside]
    return inputs, outputs
