"""jit: trace a function once per argument signature, compile its graph, run it.

``jit_call`` is a primitive that carries a :class:`~fnflow.core.graph.Graph`.
Its ``impl`` compiles the graph with the CPU backend (once; the executable is
kept on the graph) and runs it. Its rules make every transform work through
it while staying compiled:

- JVP: the graph is partially evaluated into a forward graph (primal outputs
  plus the residuals that the tangent computation needs) and a linear graph
  (residuals, tangents -> output tangents); both are run with ``jit_call``.
- transpose: the linear graph's backward pass is traced into a new graph and
  run with ``jit_call`` — so ``grad(jit(f))`` compiles the backward pass too.
- batching: the graph is vmapped into a new graph.

Derived graphs are cached on the graph they come from.
"""

from __future__ import annotations

import functools
import inspect
import logging

import numpy as np

from fnflow.config import config
from fnflow.core import tree as tu
from fnflow.core.abstract import ShapedArray, get_aval
from fnflow.core.array import Array, as_output
from fnflow.core.errors import api_boundary
from fnflow.core.graph import Graph, Literal, Var, eval_graph, trace_to_graph
from fnflow.core.primitive import Primitive, is_undefined
from fnflow.core.trace import Tracer, bind
from fnflow.transforms.ad import Zero, _as_value, backward_pass, linearize_flat, zeros_of

log = logging.getLogger("fnflow")

# ----------------------------------------------------------- the primitive

jit_call_p = Primitive("jit_call", multiple_results=True)

compile_count = 0  # graphs handed to the backend in this process (tests read it)


def executable(graph: Graph):
    """The compiled executable of ``graph`` (compiled on first use, then kept)."""
    exe = graph.__dict__.get("_executable")
    if exe is None:
        global compile_count
        from fnflow.backends.cpu import compile_graph

        exe = compile_graph(graph)
        compile_count += 1
        graph._executable = exe
    return exe


def _jit_impl(*args, graph, name):
    if config.disable_jit:
        return [np.asarray(o) for o in eval_graph(graph, *args)]
    outs = executable(graph)(*args)
    if config.debug_nans:
        _check_nans(graph, args, outs, name)
    return outs


jit_call_p.def_impl(_jit_impl)


@jit_call_p.def_abstract_eval
def _jit_abstract(*avals, graph, name):
    expected = graph.in_avals
    if len(avals) != len(expected) or any(a != e for a, e in zip(avals, expected)):
        raise TypeError(f"jit_call {name}: arguments {list(avals)} do not match the compiled signature "
                        f"{expected}")
    return graph.out_avals


def _derived(graph, key, build):
    cache = graph.__dict__.setdefault("_derived", {})
    hit = cache.get(key)
    if hit is None:
        hit = cache[key] = build()
    return hit


# ---------------------------------------------------------------- JVP


def _partial_eval(graph, nonzero):
    """Split the JVP of ``graph`` into a forward graph and a linear graph.

    ``forward(*primals) -> (*primal_outs, *residuals)`` and
    ``linear(*residuals, *nonzero_tangents) -> tangent_outs``.
    """
    box = []
    nz_idx = [i for i, nz in enumerate(nonzero) if nz]

    def forward(*primals):
        def f_nz(*nz_vals):
            full = list(primals)
            for i, v in zip(nz_idx, nz_vals):
                full[i] = v
            return eval_graph(graph, *full)

        p_out, lin, zero_out = linearize_flat(f_nz, [primals[i] for i in nz_idx], name="jit_jvp")
        box.append((lin, zero_out))
        return list(p_out) + list(lin.consts)

    fwd = trace_to_graph(forward, graph.in_avals, name="jit_fwd")
    lin, zero_out = box[0]
    linear = Graph([], list(lin.constvars) + list(lin.invars), lin.outvars, lin.eqns, [])
    return fwd, linear, len(lin.consts), tuple(zero_out)


def _uses(graph, prim_name):
    """Whether ``graph`` or any graph nested in its equations' params binds ``prim_name``."""
    for e in graph.eqns:
        if e.prim.name == prim_name:
            return True
        for v in e.params.values():
            subs = [v] if isinstance(v, Graph) else [g for g in v if isinstance(g, Graph)] \
                if isinstance(v, (tuple, list)) else []
            if any(_uses(g, prim_name) for g in subs):
                return True
    return False


def _combined_jvp_graph(graph, nonzero):
    """One graph computing primal and tangent outputs together (forward mode only)."""
    from fnflow.transforms.ad import jvp_flat

    nz_idx = [i for i, nz in enumerate(nonzero) if nz]

    def run(*args):
        primals, tans = args[:len(nonzero)], args[len(nonzero):]
        t_full = [Zero(get_aval(p)) for p in primals]
        for i, t in zip(nz_idx, tans):
            t_full[i] = t
        p_out, t_out = jvp_flat(lambda *xs: eval_graph(graph, *xs), list(primals), t_full, name="jit_jvp")
        return list(p_out) + [zeros_of(get_aval(p)) if isinstance(t, Zero) else t for p, t in zip(p_out, t_out)]

    avals = graph.in_avals + [graph.in_avals[i] for i in nz_idx]
    return trace_to_graph(run, avals, name="jit_jvp")


def _differentiates_a_while(graph, nonzero):
    """Whether a while loop gets tangents (its loop would land in the linear part); a loop whose outputs
    are only primal values (e.g. a sampler under a custom_jvp rule) splits like any other op."""
    from fnflow.core.errors import LeakedTracerError

    try:
        linear = _derived(graph, ("jvp", nonzero), lambda: _partial_eval(graph, nonzero))[1]
    except (LeakedTracerError, TypeError):  # a loop's JVP mixes primal and tangent: it cannot be split
        return True
    return _uses(linear, "while")


def _jit_jvp(primals, tangents, graph, name):
    nonzero = tuple(not isinstance(t, Zero) for t in tangents)
    if _uses(graph, "while") and _differentiates_a_while(graph, nonzero):
        # A while loop's JVP runs primal and tangent in one loop, so the graph cannot be split into
        # forward + linear parts: run it as one forward-mode graph (reverse mode then reports that
        # while_loop has no transpose).
        combined = _derived(graph, ("jvp_combined", nonzero), lambda: _combined_jvp_graph(graph, nonzero))
        t_in = [t for t in tangents if not isinstance(t, Zero)]
        outs = bind(jit_call_p, *primals, *t_in, graph=combined, name=name + "_jvp")
        n = len(graph.outvars)
        return outs[:n], outs[n:]
    fwd, linear, n_res, zero_out = _derived(graph, ("jvp", nonzero), lambda: _partial_eval(graph, nonzero))
    n_out = len(graph.outvars)
    outs = bind(jit_call_p, *primals, graph=fwd, name=name + "_fwd")
    p_out, res = outs[:n_out], outs[n_out:]
    t_in = [t for t in tangents if not isinstance(t, Zero)]
    t_out = bind(jit_call_p, *res, *t_in, graph=linear, name=name + "_lin")
    t_out = [Zero(get_aval(p)) if z else t for p, t, z in zip(p_out, t_out, zero_out)]
    return p_out, t_out


jit_call_p.def_jvp(_jit_jvp)


# ---------------------------------------------------------- transpose


def _transpose_graph(graph, undef):
    def run(*defined_and_cts):
        n_def = len(undef) - sum(undef)
        defined, cts = defined_and_cts[:n_def], defined_and_cts[n_def:]
        it = iter(defined)
        known = [None if u else next(it) for u in undef]
        view = Graph(
            constvars=[v for v, u in zip(graph.invars, undef) if not u] + list(graph.constvars),
            invars=[v for v, u in zip(graph.invars, undef) if u],
            outvars=graph.outvars, eqns=graph.eqns,
            consts=[k for k, u in zip(known, undef) if not u] + list(graph.consts))
        cts_in = backward_pass(view, list(cts))
        return [zeros_of(c.aval) if isinstance(c, Zero) else c for c in cts_in]

    avals = [v.aval for v, u in zip(graph.invars, undef) if not u] + graph.out_avals
    return trace_to_graph(run, avals, name="jit_transpose")


def _jit_transpose(cts, *args, graph, name):
    undef = tuple(is_undefined(a) for a in args)
    tgraph = _derived(graph, ("transpose", undef), lambda: _transpose_graph(graph, undef))
    defined = [a for a in args if not is_undefined(a)]
    cts = [zeros_of(v.aval) if isinstance(c, Zero) else c for v, c in zip(graph.outvars, cts)]
    outs = iter(bind(jit_call_p, *defined, *cts, graph=tgraph, name=name + "_T"))
    return [next(outs) if u else None for u in undef]


jit_call_p.def_transpose(_jit_transpose)


# ------------------------------------------------------------ batching


def _batched_graph(graph, dims, avals):
    from fnflow.transforms.batching import vmap

    def run(*xs):
        return vmap(lambda *ys: eval_graph(graph, *ys), in_axes=tuple(dims), out_axes=0)(*xs)

    return trace_to_graph(lambda *xs: list(run(*xs)), avals, name="jit_vmap")


def _jit_batch(args, dims, graph, name):
    avals = tuple(get_aval(a) for a in args)
    bgraph = _derived(graph, ("batch", tuple(dims), avals), lambda: _batched_graph(graph, dims, list(avals)))
    outs = bind(jit_call_p, *args, graph=bgraph, name=name + "_vmap")
    return outs, [0] * len(outs)


jit_call_p.def_batch(_jit_batch)


# ---------------------------------------------------------- debug_nans


def _has_nan(x):
    a = np.asarray(x)
    return a.dtype.kind in "fc" and bool(np.isnan(a).any())


def _check_nans(graph, args, outs, name):
    if not any(_has_nan(o) for o in outs) or any(_has_nan(a) for a in args):
        return
    from fnflow.core.graph import pretty

    env = dict(zip(graph.constvars, graph.consts))
    env.update(zip(graph.invars, args))

    def read(v):
        return v.val if isinstance(v, Literal) else env[v]

    for e in graph.eqns:
        ins = [np.asarray(read(v)) for v in e.invars]
        res = e.prim.impl(*ins, **e.params)
        res = list(res) if e.prim.multiple_results else [res]
        env.update(zip(e.outvars, res))
        if any(_has_nan(r) for r in res) and not any(_has_nan(i) for i in ins):
            one = Graph([], e.invars, e.outvars, [e], [])
            line = pretty(one).splitlines()[1].strip()
            raise FloatingPointError(
                f"debug_nans: invalid value (nan) produced by '{e.prim.name}' in jitted function {name}:\n"
                f"    {line}")
    raise FloatingPointError(f"debug_nans: jitted function {name} returned nan (first op not located)")


# ------------------------------------------------------------- jit


def _signature_names(fun):
    try:
        return list(inspect.signature(fun).parameters)
    except (TypeError, ValueError):
        return []


class Jitted:
    """A jit-compiled function; calling it traces/compiles once per argument signature."""

    def __init__(self, fun, static_argnums=None, static_argnames=None, donate_argnums=None):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.name = getattr(fun, "__name__", "fun")
        params = _signature_names(fun)
        static_argnums = () if static_argnums is None else static_argnums
        static_argnames = () if static_argnames is None else static_argnames
        if isinstance(static_argnums, int):
            static_argnums = (static_argnums,)
        if isinstance(static_argnames, str):
            static_argnames = (static_argnames,)
        nums = set(int(i) for i in static_argnums)
        names = set(static_argnames)
        for n in list(names):  # a static name also marks its position
            if n in params:
                nums.add(params.index(n))
            elif not any(p.kind == p.VAR_KEYWORD for p in _params(fun)):
                raise ValueError(f"jit: static_argnames {n!r} is not a parameter of {self.name}")
        for i in list(nums):
            if i < len(params) and params[i] not in names:
                names.add(params[i])
        self.static_argnums = frozenset(nums)
        self.static_argnames = frozenset(names)
        donate = () if donate_argnums is None else donate_argnums
        self.donate_argnums = (donate,) if isinstance(donate, int) else tuple(donate)
        self.params = params
        self._cache = {}
        self._fast = {}  # (shape, dtype) per positional array arg -> runner
        self._last_key = None
        self.trace_count = 0

    def _split(self, args, kwargs):
        static, dyn_args = [], []
        for i, a in enumerate(args):
            if i in self.static_argnums:
                static.append((i, self._hashable(a, self.params[i] if i < len(self.params) else f"#{i}")))
            else:
                dyn_args.append(a)
        dyn_kwargs = {}
        for k, v in kwargs.items():
            if k in self.static_argnames:
                static.append((k, self._hashable(v, k)))
            else:
                dyn_kwargs[k] = v
        return tuple(static), tuple(dyn_args), dyn_kwargs

    def _hashable(self, v, name):
        try:
            hash(v)
        except TypeError:
            raise TypeError(f"jit: static argument {name!r} of {self.name} must be hashable, got "
                            f"{type(v).__name__}. Pass arrays as ordinary (traced) arguments, and lists "
                            f"as tuples.") from None
        return v

    def _trace(self, args, kwargs, static, leaves, tree, avals, key):
        self.trace_count += 1
        if config.log_compiles:
            log.warning("fnflow.jit: tracing and compiling %s%s", self.name, self._why(key))
        self._last_key = key
        out_box = []

        def flat(*xs):
            d_args, d_kwargs = tu.tree_unflatten(tree, xs)
            it = iter(d_args)
            full = [args[i] if i in self.static_argnums else next(it) for i in range(len(args))]
            kw = dict(d_kwargs)
            kw.update({k: kwargs[k] for k in kwargs if k in self.static_argnames})
            out = self.fun(*full, **kw)
            ol, ot = tu.tree_flatten(out)
            out_box.append(ot)
            return [_as_value(o, fun="jit") if not isinstance(o, Tracer) else o for o in ol]

        names = self._arg_names(tree, len(leaves))
        graph = trace_to_graph(flat, avals, names, name=f"jit({self.name})")
        _literal_outputs_to_consts(graph)
        graph.in_tree, graph.out_tree = tree, out_box[0]
        graph.name = self.name
        return graph

    def _arg_names(self, tree, n):
        try:
            d_args, d_kwargs = tu.tree_unflatten(tree, list(range(n)))
        except Exception:
            return None
        names = [None] * n
        dyn_pos = [i for i in range(len(d_args) + len(self.static_argnums)) if i not in self.static_argnums]
        for j, a in enumerate(d_args):
            i = dyn_pos[j] if j < len(dyn_pos) else j
            base = f"argument '{self.params[i]}'" if i < len(self.params) else f"argument {i}"
            for path, leaf in tu.tree_flatten_with_path(a)[0]:
                names[leaf] = base + tu.keystr(path)
        for k, a in d_kwargs.items():
            for path, leaf in tu.tree_flatten_with_path(a)[0]:
                names[leaf] = f"argument '{k}'" + tu.keystr(path)
        return names

    def _why(self, key):
        old = self._last_key
        if old is None:
            return " (first call)"
        o_tree, o_avals, o_static = old
        n_tree, n_avals, n_static = key
        if o_static != n_static:
            return f" (static arguments changed: {dict(o_static)} -> {dict(n_static)})"
        if o_tree != n_tree:
            return f" (argument structure changed: {o_tree} -> {n_tree})"
        diffs = [f"leaf {i}: {a} -> {b}" for i, (a, b) in enumerate(zip(o_avals, n_avals)) if a != b]
        return " (argument shapes/dtypes changed: " + "; ".join(diffs) + ")"

    @api_boundary
    def __call__(self, *args, **kwargs):
        if config.disable_jit:
            return self.fun(*args, **kwargs)
        if not kwargs and not self.static_argnums:
            runner = self._fast.get(_fast_key(args))
            if runner is not None:
                return runner(args)
        static, dyn_args, dyn_kwargs = self._split(args, kwargs)
        leaves, tree = tu.tree_flatten((dyn_args, dyn_kwargs))
        leaves = [x if isinstance(x, Tracer) else _as_value(x, fun=f"jit({self.name})") for x in leaves]
        avals = tuple(get_aval(x) for x in leaves)
        key = (tree, avals, static)
        graph = self._cache.get(key)
        if graph is None:
            graph = self._trace(args, kwargs, static, leaves, tree, avals, key)
            captured = _lift_captured_tracers(graph)
            if captured:  # closes over values of an outer transform: valid for this call only
                outs = bind(jit_call_p, *captured, *leaves, graph=graph, name=self.name)
                return tu.tree_unflatten(graph.out_tree, outs)
            self._cache[key] = graph
        if not any(isinstance(x, Tracer) for x in leaves):
            exe_runner = _make_runner(graph)
            if not kwargs and not self.static_argnums and all(_is_plain(a) for a in args):
                self._fast[_fast_key(args)] = exe_runner
            return exe_runner(leaves)
        outs = bind(jit_call_p, *leaves, graph=graph, name=self.name)
        return tu.tree_unflatten(graph.out_tree, outs)

    def make_graph(self, *args, **kwargs):
        """The traced graph for these arguments (what ``jit`` compiles)."""
        static, dyn_args, dyn_kwargs = self._split(args, kwargs)
        leaves, tree = tu.tree_flatten((dyn_args, dyn_kwargs))
        leaves = [x if isinstance(x, Tracer) else _as_value(x) for x in leaves]
        avals = tuple(get_aval(x) for x in leaves)
        key = (tree, avals, static)
        graph = self._cache.get(key)
        if graph is None:
            graph = self._cache[key] = self._trace(args, kwargs, static, leaves, tree, avals, key)
        return graph

    def _cache_size(self):
        return len(self._cache)

    def __get__(self, obj, objtype=None):  # jit on methods
        if obj is None:
            return self
        return functools.partial(self, obj)


def _params(fun):
    try:
        return list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        return []


def _is_plain(a):
    return type(a) is np.ndarray or type(a) is Array


def _fast_key(args):
    key = []
    for a in args:
        t = type(a)
        if t is not np.ndarray and t is not Array:
            return None
        key.append((a.shape, a.dtype))
    return tuple(key)


def _make_runner(graph):
    runner = graph.__dict__.get("_runner")
    if runner is not None:
        return runner
    exe = executable(graph) if not config.disable_jit else None
    out_tree = graph.out_tree
    single = tu.treedef_is_leaf(out_tree)

    def run(leaves):
        if config.debug_nans or config.disable_jit:
            outs = [as_output(o) for o in _jit_impl(*leaves, graph=graph, name=graph.__dict__.get("name", "jit"))]
        else:
            outs = exe(*leaves)
        return outs[0] if single else tu.tree_unflatten(out_tree, outs)

    graph._runner = run
    return run


def _lift_captured_tracers(graph):
    """Turn constants that are tracers of an outer transform into leading inputs; return them."""
    idx = [i for i, c in enumerate(graph.consts) if isinstance(c, Tracer)]
    if not idx:
        return []
    lifted_vars = [graph.constvars[i] for i in idx]
    captured = [graph.consts[i] for i in idx]
    keep = [i for i in range(len(graph.consts)) if i not in set(idx)]
    graph.constvars = [graph.constvars[i] for i in keep]
    graph.consts = [graph.consts[i] for i in keep]
    graph.invars = lifted_vars + graph.invars
    return captured


def _literal_outputs_to_consts(graph):
    """A function returning a constant gives a Literal output; make it a constant variable."""
    for i, v in enumerate(graph.outvars):
        if isinstance(v, Literal):
            nv = Var(v.aval)
            graph.constvars.append(nv)
            graph.consts.append(np.asarray(v.val))
            graph.outvars[i] = nv


def jit(fun=None, *, static_argnums=None, static_argnames=None, donate_argnums=None):
    """Compile ``fun``: trace it to a graph once per argument signature and run compiled kernels.

    The cache key is the argument pytree structure, every array's shape and
    dtype, and the values of static arguments (which must be hashable). A call
    with a known key runs no Python of ``fun`` and compiles nothing.
    ``donate_argnums`` is accepted for JAX compatibility; fnflow arrays are
    immutable, so donation only documents intent.
    Usable as ``@jit`` or ``@jit(static_argnames=...)``.
    """
    if fun is None:
        return lambda f: jit(f, static_argnums=static_argnums, static_argnames=static_argnames,
                             donate_argnums=donate_argnums)
    if not callable(fun):
        raise TypeError(f"jit: expected a function, got {type(fun).__name__}")
    return Jitted(fun, static_argnums, static_argnames, donate_argnums)


__all__ = ["jit", "Jitted", "jit_call_p", "executable", "ShapedArray"]
