"""The graph IR, the tracer that builds it, and its interpreter.

A :class:`Graph` is a list of equations ``outvars = prim[params](invars)`` over
typed variables, with input variables, constant variables (values captured
from outside) and output variables. It is what ``jit`` compiles, what
linearization transposes, and what ``fnflow.make_graph`` shows.
"""

from __future__ import annotations

import itertools

import numpy as np

from fnflow.core.abstract import ShapedArray, get_aval, is_scalar, scalar_dtype
from fnflow.core.trace import Trace, Tracer, bind, new_main

# ----------------------------------------------------------------------- IR


class Var:
    """A variable of the graph, typed by its abstract value."""

    __slots__ = ("aval",)

    def __init__(self, aval):
        self.aval = aval

    def __repr__(self):
        return f"Var({self.aval})"


class Literal:
    """A scalar constant written inline in an equation."""

    __slots__ = ("val", "aval")

    def __init__(self, val):
        self.val = val
        self.aval = ShapedArray(np.shape(val), np.asarray(val).dtype)

    def __repr__(self):
        v = self.val.item() if hasattr(self.val, "item") else self.val
        return f"{v}:{self.aval.str_short()}"


class Eqn:
    """``outvars = prim[params](*invars)``."""

    __slots__ = ("prim", "invars", "outvars", "params")

    def __init__(self, prim, invars, outvars, params):
        self.prim, self.invars, self.outvars, self.params = prim, invars, outvars, params


class Graph:
    """Equations over variables, with the values of its constant variables."""

    def __init__(self, constvars, invars, outvars, eqns, consts):
        self.constvars = list(constvars)
        self.invars = list(invars)
        self.outvars = list(outvars)
        self.eqns = list(eqns)
        self.consts = list(consts)
        self.in_tree = None
        self.out_tree = None

    in_avals = property(lambda self: [v.aval for v in self.invars])
    out_avals = property(lambda self: [v.aval for v in self.outvars])

    def __call__(self, *args):
        return eval_graph(self, *args)

    def __str__(self):
        return pretty(self)

    __repr__ = __str__

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))


def _names():
    for n in itertools.count(1):
        for letters in itertools.product("abcdefghijklmnopqrstuvwxyz", repeat=n):
            yield "".join(letters)


def _fmt_param(v):
    if isinstance(v, Graph):
        return "{ graph }"
    if isinstance(v, (tuple, list)) and v and all(isinstance(g, Graph) for g in v):
        return "(" + ", ".join("{ graph }" for _ in v) + ")"
    if isinstance(v, np.ndarray):
        return f"array{v.shape}"
    if callable(v):
        return getattr(v, "__name__", type(v).__name__)
    return repr(v) if not isinstance(v, np.dtype) else v.name


def pretty(graph: Graph, indent: int = 0) -> str:
    """One equation per line with the shapes and dtypes of its outputs."""
    names, gen = {}, _names()

    def name(v, typed=False):
        if isinstance(v, Literal):
            return repr(v)
        if v not in names:
            names[v] = next(gen)
        return f"{names[v]}:{v.aval.str_short()}" if typed else names[v]

    pad = " " * indent
    consts = " ".join(name(v, True) for v in graph.constvars)
    ins = " ".join(name(v, True) for v in graph.invars)
    lines = [f"{pad}{{ lambda {consts + ' ' if consts else ''}; {ins}. let"]
    for e in graph.eqns:
        outs = " ".join(name(v, True) for v in e.outvars) or "_"
        params = ", ".join(f"{k}={_fmt_param(v)}" for k, v in e.params.items() if not k.startswith("_"))
        args = " ".join(name(v) for v in e.invars)
        lines.append(f"{pad}    {outs} = {e.prim.name}{'[' + params + ']' if params else ''} {args}")
        for v in e.params.values():
            subs = [v] if isinstance(v, Graph) else [g for g in v if isinstance(g, Graph)] \
                if isinstance(v, (tuple, list)) else []
            for g in subs:
                lines.append(pretty(g, indent + 8))
    outs = " ".join(name(v) for v in graph.outvars)
    lines.append(f"{pad}  in ({outs}) }}")
    return "\n".join(lines)


def eval_graph(graph: Graph, *args, consts=None):
    """Run a graph by binding each equation (so it works under every transform)."""
    env = {}
    consts = graph.consts if consts is None else consts
    if len(args) != len(graph.invars):
        raise TypeError(f"graph expects {len(graph.invars)} inputs, got {len(args)}")
    env.update(zip(graph.constvars, consts))
    env.update(zip(graph.invars, args))

    def read(v):
        return v.val if isinstance(v, Literal) else env[v]

    for e in graph.eqns:
        outs = bind(e.prim, *[read(v) for v in e.invars], **e.params)
        if not e.prim.multiple_results:
            outs = [outs]
        env.update(zip(e.outvars, outs))
    return [read(v) for v in graph.outvars]


# ------------------------------------------------------------------ builder


class GraphBuilder:
    def __init__(self, arg_names=None):
        self.eqns = []
        self.tracer_vars = {}  # id(tracer) -> Var | Literal
        self.tracers = []  # keep tracers alive so ids stay unique
        self.consts = {}  # id(value) -> (tracer, value)
        self.invars = []
        self.arg_names = {}  # Var -> str
        self.producer = {}  # Var -> Eqn

    def new_tracer(self, trace, aval, var=None):
        t = GraphTracer(trace, aval)
        self.tracers.append(t)
        self.tracer_vars[id(t)] = Var(aval) if var is None else var
        return t

    def var(self, tracer):
        return self.tracer_vars[id(tracer)]

    def build(self, out_tracers):
        constvars, consts = [], []
        for t, val in self.consts.values():
            v = self.tracer_vars[id(t)]
            if isinstance(v, Var):
                constvars.append(v)
                consts.append(val)
        outvars = [self.var(t) for t in out_tracers]
        return Graph(constvars, self.invars, outvars, self.eqns, consts)


class GraphTracer(Tracer):
    __slots__ = ("aval",)

    def __init__(self, trace, aval):
        self._trace = trace
        self.aval = aval


class GraphTrace(Trace):
    """Records every op on its tracers as an equation instead of running it."""

    concretization_hint = (
        "Under jit/make_graph values are abstract (shape and dtype only). Mark the argument "
        "static (jit(f, static_argnums=...) / static_argnames=...), compute it outside the "
        "function, or use fnflow.lax.cond / lax.while_loop / fnflow.numpy.where for "
        "value-dependent control flow.")

    @property
    def builder(self) -> GraphBuilder:
        return self.main.global_data

    def new_arg(self, aval, name=None):
        b = self.builder
        t = b.new_tracer(self, aval)
        v = b.var(t)
        b.invars.append(v)
        if name:
            b.arg_names[v] = name
        return t

    def pure(self, val):
        b = self.builder
        key = id(val)
        hit = b.consts.get(key)
        if hit is not None:
            return hit[0]
        if is_scalar(val):
            val = np.asarray(val, scalar_dtype(val))
        aval = get_aval(val)
        if not isinstance(val, Tracer) and aval.ndim == 0:
            t = b.new_tracer(self, aval, Literal(np.asarray(val)))
        else:
            t = b.new_tracer(self, aval)
        b.consts[key] = (t, val)
        b.tracers.append(val)  # keep the id valid
        return t

    lift = pure

    def process_primitive(self, prim, tracers, params):
        b = self.builder
        avals_in = [t.aval for t in tracers]
        avals_out = prim.abstract_eval(*avals_in, **params)
        if not prim.multiple_results:
            avals_out = [avals_out]
        outs = [b.new_tracer(self, a) for a in avals_out]
        eqn = Eqn(prim, [b.var(t) for t in tracers], [b.var(o) for o in outs], params)
        b.eqns.append(eqn)
        for o in eqn.outvars:
            b.producer[o] = eqn
        return outs

    def describe_tracer(self, tracer):
        """Name the inputs a traced value depends on, for error messages."""
        b = self.builder
        seen, stack, found = set(), [b.var(tracer)], []
        while stack:
            v = stack.pop()
            if isinstance(v, Literal) or id(v) in seen:
                continue
            seen.add(id(v))
            if v in b.arg_names:
                found.append(b.arg_names[v])
            eqn = b.producer.get(v)
            if eqn is not None:
                stack.extend(eqn.invars)
        if not found:
            return ""
        return " (it depends on " + ", ".join(sorted(set(found))) + ")"


def trace_to_graph(fun, in_avals, arg_names=None, name="make_graph"):
    """Trace ``fun(*tracers) -> list of outputs`` into a :class:`Graph`."""
    builder = GraphBuilder()
    with new_main(GraphTrace, builder, name=name) as main:
        trace = GraphTrace(main)
        names = arg_names or [None] * len(in_avals)
        ins = [trace.new_arg(a, n) for a, n in zip(in_avals, names)]
        outs = fun(*ins)
        outs = [trace.full_raise(o) for o in outs]
        graph = builder.build(outs)
    return graph
