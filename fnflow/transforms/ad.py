"""Automatic differentiation: forward mode by JVP, reverse mode by linearize + transpose.

``jvp`` runs the function with :class:`JVPTracer` values (primal, tangent).
``vjp`` runs the same JVP with the tangents traced into a linear :class:`Graph`
(the primal computation runs on the level below, so the graph holds only
tangent operations, with primal values captured as constants), then
evaluates that graph backwards with each primitive's ``transpose`` rule. Since
every rule is written with fnflow ops, derivatives of derivatives work by
stacking the same interpreters.
"""

from __future__ import annotations

import functools

import numpy as np

from fnflow.core import tree as tu
from fnflow.core.abstract import ShapedArray, get_aval, is_float, is_scalar, scalar_dtype
from fnflow.core.array import as_output
from fnflow.core.errors import api_boundary
from fnflow.core.graph import GraphBuilder, GraphTrace, Literal, Var
from fnflow.core.primitive import Primitive, UndefinedPrimal, is_undefined
from fnflow.core.trace import Trace, Tracer, bind, find_top_trace, new_main

# ------------------------------------------------------------- symbolic zero


class Zero:
    """A tangent or cotangent known to be zero (costs nothing, never materialised)."""

    __slots__ = ("aval",)

    def __init__(self, aval):
        self.aval = aval

    def __repr__(self):
        return f"Zero({self.aval})"


def is_zero(x) -> bool:
    return isinstance(x, Zero)


def zeros_of(aval):
    return as_output(np.zeros(aval.shape, aval.dtype))


def instantiate(t):
    """A real array for a possibly symbolic zero."""
    return zeros_of(t.aval) if isinstance(t, Zero) else t


add_any_p = Primitive("add_any")  # the addition that accumulates tangents/cotangents
add_any_p.def_impl(lambda x, y: np.add(x, y))


@add_any_p.def_abstract_eval
def _add_any_abstract(x, y):
    if x.shape != y.shape or x.dtype != y.dtype:
        raise ValueError(f"add_any: mismatched tangents {x} and {y}")
    return x


add_any_p.def_jvp(lambda p, t: (add_any(*p), add_tangents(*t)))
add_any_p.def_transpose(lambda ct, x, y: [ct, ct])


def _add_any_batch(args, dims):
    from fnflow.transforms.batching import broadcast_batched

    x, y = args
    dx, dy = dims
    if dx == dy:
        return add_any(x, y), dx
    size = x.shape[dx] if dx is not None else y.shape[dy]
    return add_any(broadcast_batched(x, dx, size), broadcast_batched(y, dy, size)), 0


add_any_p.def_batch(_add_any_batch)


def add_any(x, y):
    return bind(add_any_p, x, y)


def add_tangents(x, y):
    if isinstance(x, Zero):
        return y
    if isinstance(y, Zero):
        return x
    return add_any(x, y)


def tangent_aval(aval):
    return aval


# ------------------------------------------------------------- rule helpers


def defjvp(prim, *rules):
    """JVP from one rule per argument: ``rule(tangent, ans, *primals, **params)``.

    A ``None`` rule means the output does not depend on that argument.
    """

    def jvp(primals, tangents, **params):
        ans = bind(prim, *primals, **params)
        out = None
        for rule, t in zip(rules, tangents):
            if rule is None or isinstance(t, Zero):
                continue
            c = rule(t, ans, *primals, **params)
            if not prim.multiple_results and get_aval(c).shape != get_aval(ans).shape:
                from fnflow.ops.shape import broadcast_to

                c = broadcast_to(c, get_aval(ans).shape)
            out = c if out is None else add_tangents(out, c)
        return ans, (Zero(get_aval(ans)) if out is None else out)

    prim.jvp = jvp
    return jvp


def deflinear(prim, transpose):
    """For ops linear in all arguments: the JVP is the op applied to the tangents."""

    def jvp(primals, tangents, **params):
        ans = bind(prim, *primals, **params)
        if all(isinstance(t, Zero) for t in tangents):
            return ans, _zero_like_out(prim, ans)
        return ans, bind(prim, *[instantiate(t) for t in tangents], **params)

    prim.jvp = jvp
    prim.transpose = transpose


def defzero(prim):
    """For ops whose outputs are piecewise constant (comparisons, argmax, floor ...)."""

    def jvp(primals, tangents, **params):
        ans = bind(prim, *primals, **params)
        return ans, _zero_like_out(prim, ans)

    prim.jvp = jvp


def _zero_like_out(prim, ans):
    if prim.multiple_results:
        return [Zero(get_aval(a)) for a in ans]
    return Zero(get_aval(ans))


def defbilinear(prim, lhs_transpose, rhs_transpose):
    """For ops linear in each of two arguments (mul, dot_general, conv).

    ``lhs_transpose(ct, y, x_aval, **params)`` gives the cotangent of x,
    ``rhs_transpose(ct, x, y_aval, **params)`` that of y.
    """

    def jvp(primals, tangents, **params):
        x, y = primals
        tx, ty = tangents
        ans = bind(prim, x, y, **params)
        out = Zero(get_aval(ans))
        if not isinstance(tx, Zero):
            out = add_tangents(out, bind(prim, tx, y, **params))
        if not isinstance(ty, Zero):
            out = add_tangents(out, bind(prim, x, ty, **params))
        return ans, out

    def transpose(ct, x, y, **params):
        if is_undefined(x) and is_undefined(y):
            raise ValueError(f"{prim.name}: transpose of a product of two linear values (not linear)")
        if isinstance(ct, Zero):
            return [None, None]
        if is_undefined(x):
            return [lhs_transpose(ct, y, x.aval, **params), None]
        return [None, rhs_transpose(ct, x, y.aval, **params)]

    prim.jvp = jvp
    prim.transpose = transpose


# ------------------------------------------------------------ JVP interpreter


class JVPTracer(Tracer):
    __slots__ = ("primal", "tangent")

    def __init__(self, trace, primal, tangent):
        self._trace = trace
        self.primal = primal
        self.tangent = tangent

    @property
    def aval(self):
        return get_aval(self.primal)

    def to_concrete(self, why):
        # The primal is a value (or a tracer of an outer transform that knows how).
        p = self.primal
        return p.to_concrete(why) if isinstance(p, Tracer) else p


class JVPTrace(Trace):
    def pure(self, val):
        return JVPTracer(self, val, Zero(get_aval(val)))

    lift = pure

    def process_primitive(self, prim, tracers, params):
        primals = [t.primal for t in tracers]
        tangents = [t.tangent for t in tracers]
        if all(isinstance(t, Zero) for t in tangents):
            out = bind(prim, *primals, **params)
            outs = out if prim.multiple_results else [out]
            return [JVPTracer(self, o, Zero(get_aval(o))) for o in outs]
        if prim.jvp is None:
            raise NotImplementedError(f"differentiation rule for '{prim.name}' is not implemented")
        out, t_out = prim.jvp(primals, tangents, **params)
        if prim.multiple_results:
            return [JVPTracer(self, o, t) for o, t in zip(out, t_out)]
        return [JVPTracer(self, out, t_out)]

    def process_custom_jvp_call(self, fun, jvp, tracers, symbolic_zeros=False):
        primals = [t.primal for t in tracers]
        tangents = [t.tangent for t in tracers]
        if all(isinstance(t, Zero) for t in tangents):
            outs = custom_jvp_call(fun, jvp, primals)
            return [JVPTracer(self, o, Zero(get_aval(o))) for o in outs]
        tangents = [instantiate(t) for t in tangents]
        outs, t_outs = jvp(primals, tangents)
        return [JVPTracer(self, o, t) for o, t in zip(outs, t_outs)]

    def process_custom_vjp_call(self, fun, fwd, bwd, tracers, out_tree_thunk=None):
        primals = [t.primal for t in tracers]
        tangents = [t.tangent for t in tracers]
        if all(isinstance(t, Zero) for t in tangents):
            outs = custom_vjp_call(fun, fwd, bwd, primals)
            return [JVPTracer(self, o, Zero(get_aval(o))) for o in outs]
        outs, res = fwd(*primals)
        in_avals = [get_aval(p) for p in primals]
        out_avals = [get_aval(o) for o in outs]
        t_outs = bind(custom_lin_p, *res, *[instantiate(t) for t in tangents], num_res=len(res),
                      bwd=bwd, fwd_jvp=getattr(fwd, "fwd_jvp", None), in_avals=tuple(in_avals),
                      out_avals=tuple(out_avals))
        return [JVPTracer(self, o, t) for o, t in zip(outs, t_outs)]


def jvp_flat(fun, primals, tangents, name="jvp"):
    with new_main(JVPTrace, name=name) as main:
        trace = JVPTrace(main)
        ins = [JVPTracer(trace, p, t) for p, t in zip(primals, tangents)]
        outs = fun(*ins)
        outs = [trace.full_raise(o) for o in outs]
        return [o.primal for o in outs], [o.tangent for o in outs]


# ------------------------------------------------------------ argument checks


def _as_value(x, path="", fun="grad"):
    if isinstance(x, Tracer):
        return x
    if is_scalar(x):
        return as_output(np.asarray(x, scalar_dtype(x)))
    if isinstance(x, (np.ndarray, np.generic)):
        return x
    try:
        return as_output(np.asarray(x))
    except Exception:
        raise TypeError(f"{fun}: argument {path} of type {type(x).__name__} is not an array") from None


def _float_leaf(x):
    return is_float(get_aval(x).dtype)


# ------------------------------------------------------------ public: jvp


@api_boundary
def jvp(fun, primals, tangents, has_aux=False):
    """Forward mode: ``(fun(*primals), J(primals) @ tangents)``; pytrees of arrays in and out."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples (or lists) of arguments, "
                        f"got {type(primals).__name__} and {type(tangents).__name__}")
    p_leaves, p_tree = tu.tree_flatten(tuple(primals))
    t_leaves = _match_tree(p_tree, tuple(tangents), "jvp: tangents")
    p_leaves = [_as_value(p, fun="jvp") for p in p_leaves]
    t_leaves = [_as_value(t, fun="jvp") for t in t_leaves]
    for (path, p), t in zip(tu.tree_flatten_with_path(tuple(primals))[0], t_leaves):
        pa, ta = get_aval(_as_value(p)), get_aval(t)
        if pa.shape != ta.shape:
            raise ValueError(f"jvp: tangent at {tu.keystr(path)} has shape {ta.shape}, primal has {pa.shape}")
    t_leaves = [t if _float_leaf(p) else Zero(get_aval(p)) for p, t in zip(p_leaves, t_leaves)]
    out_tree = []

    aux_box = []

    def flat_fun(*xs):
        out = fun(*tu.tree_unflatten(p_tree, xs))
        aux_leaves = []
        if has_aux:
            out, aux = out
            aux_leaves = _split_aux(aux, aux_box)
        leaves, tree = tu.tree_flatten(out)
        out_tree.append((tree, len(leaves)))
        return leaves + aux_leaves

    po, to = jvp_flat(flat_fun, p_leaves, t_leaves)
    tree, n = out_tree[0]
    to = [instantiate(t) for t in to[:n]]
    out, t_out = tu.tree_unflatten(tree, po[:n]), tu.tree_unflatten(tree, to)
    if has_aux:
        return out, t_out, _join_aux(aux_box, po[n:])
    return out, t_out


def _split_aux(aux, box):
    """The array leaves of ``aux``; the rest (strings, Python objects) wait in ``box``."""
    leaves, tree = tu.tree_flatten(aux)
    box[:] = [(tree, [None if _is_arraylike(x) else x for x in leaves])]
    return [x for x in leaves if _is_arraylike(x)]


def _join_aux(box, array_leaves):
    tree, leaves = box[0]
    it = iter(array_leaves)
    return tu.tree_unflatten(tree, [next(it) if x is None else x for x in leaves])


def _match_tree(td, tree, what):
    return td.flatten_up_to(tree, what)


# ---------------------------------------------------- linearize and transpose


def linearize_flat(fun, primals, name="grad"):
    """Return ``(primals_out, linear_graph, tangent_out_is_zero)`` for a flat function."""
    builder = GraphBuilder()
    with new_main(GraphTrace, builder, name=name) as gmain:
        gtrace = GraphTrace(gmain)
        t_in = [gtrace.new_arg(get_aval(p)) if _float_leaf(p) else Zero(get_aval(p)) for p in primals]
        p_out, t_out = jvp_flat(fun, primals, t_in, name=name)
        zero_out = [isinstance(t, Zero) for t in t_out]
        t_out = [gtrace.full_raise(zeros_of(t.aval) if isinstance(t, Zero) else t) for t in t_out]
        graph = builder.build(t_out)
    graph.invars = [builder.var(t) if not isinstance(t, Zero) else Var(t.aval) for t in t_in]
    return p_out, graph, zero_out


def backward_pass(graph, cts_out):
    """Evaluate a linear graph backwards: output cotangents -> input cotangents."""
    linear = set(graph.invars)
    env = dict(zip(graph.constvars, graph.consts))

    def read(v):
        return v.val if isinstance(v, Literal) else env[v]

    lin_eqns = []
    for e in graph.eqns:
        if any(not isinstance(v, Literal) and v in linear for v in e.invars):
            linear.update(e.outvars)
            lin_eqns.append(e)
        else:  # a non-linear helper computed inside the tangent graph
            outs = bind(e.prim, *[read(v) for v in e.invars], **e.params)
            env.update(zip(e.outvars, outs if e.prim.multiple_results else [outs]))

    ct_env = {}

    def accum(v, ct):
        if ct is None or isinstance(ct, Zero) or isinstance(v, Literal) or v not in linear:
            return
        ct_env[v] = add_tangents(ct_env[v], ct) if v in ct_env else ct

    for v, ct in zip(graph.outvars, cts_out):
        accum(v, ct)
    for e in reversed(lin_eqns):
        cts = [ct_env.pop(v, None) for v in e.outvars]
        if all(c is None for c in cts):
            continue
        invals = [UndefinedPrimal(v.aval) if (not isinstance(v, Literal) and v in linear) else read(v)
                  for v in e.invars]
        if e.prim.transpose is None:
            raise NotImplementedError(f"reverse-mode rule (transpose) for '{e.prim.name}' is not implemented")
        if e.prim.multiple_results:
            ct_arg = [zeros_of(v.aval) if c is None else c for v, c in zip(e.outvars, cts)]
        else:
            ct_arg = cts[0]
        cts_in = e.prim.transpose(ct_arg, *invals, **e.params)
        for v, ct in zip(e.invars, cts_in):
            accum(v, ct)
    return [ct_env.get(v, Zero(v.aval)) for v in graph.invars]


def vjp_flat(fun, primals, name="vjp"):
    p_out, graph, zero_out = linearize_flat(fun, primals, name=name)

    def pullback(cts):
        return backward_pass(graph, cts)

    return p_out, pullback, graph


@api_boundary
def vjp(fun, *primals, has_aux=False):
    """Reverse mode: ``(fun(*primals), vjp_fn)`` with ``vjp_fn(cotangent) -> input cotangents``."""
    return _vjp(fun, primals, has_aux, "vjp")


def _vjp(fun, primals, has_aux, name):
    p_leaves, p_tree = tu.tree_flatten(primals)
    p_leaves = [_as_value(p, fun=name) for p in p_leaves]
    out_info, aux_box = [], []

    def flat_fun(*xs):
        out = fun(*tu.tree_unflatten(p_tree, xs))
        aux_leaves = []
        if has_aux:
            out, aux = out
            aux_leaves = _split_aux(aux, aux_box)
        leaves, tree = tu.tree_flatten(out)
        out_info.append((tree, len(leaves)))
        return leaves + aux_leaves

    outs, pullback, _ = vjp_flat(flat_fun, p_leaves, name=name)
    out_tree, n_out = out_info[0]
    out_leaves, aux_leaves = outs[:n_out], outs[n_out:]
    out_avals = [get_aval(o) for o in out_leaves]

    @api_boundary
    def vjp_fn(ct):
        ct_leaves = _match_tree(out_tree, ct, "vjp: cotangents")
        paths = [tu.keystr(p) or "<root>" for p, _ in tu.tree_flatten_with_path(ct)[0]]
        checked = []
        for a, c, path in zip(out_avals, ct_leaves, paths):
            c = _as_value(c, fun="vjp")
            if get_aval(c).shape != a.shape:
                raise ValueError(f"vjp: the cotangent at {path} has shape {get_aval(c).shape}, "
                                 f"the output has {a.shape}")
            if get_aval(c).dtype != a.dtype and is_float(a.dtype):
                from fnflow.ops._util import convert

                c = convert(c, a.dtype)
            checked.append(c)
        ct_leaves = checked
        cts = pullback(ct_leaves + [Zero(get_aval(a)) for a in aux_leaves])
        cts = [instantiate(c) if _float_leaf(p) else None for c, p in zip(cts, p_leaves)]
        return tu.tree_unflatten(p_tree, cts)

    out = tu.tree_unflatten(out_tree, out_leaves)
    if has_aux:
        return out, vjp_fn, _join_aux(aux_box, aux_leaves)
    return out, vjp_fn


def _argnums_tuple(argnums, nargs, fun_name):
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    for a in nums:
        if not isinstance(a, int) or not -nargs <= a < nargs:
            raise ValueError(f"{fun_name}: argnums={argnums!r} but the function was called with {nargs} "
                             f"positional argument(s)")
    return single, tuple(a % nargs for a in nums)


def _check_differentiable(x, i, fun_name):
    leaves = tu.tree_leaves(x)
    if tu.treedef_is_leaf(tu.tree_structure(x)) and leaves:
        dt = get_aval(_as_value(leaves[0], fun=fun_name)).dtype
        if not is_float(dt):
            raise TypeError(
                f"{fun_name} requires real or complex floating inputs, but argument {i} has dtype {dt} "
                f"(integer and boolean values have no gradient). Convert it with .astype(float32), or "
                f"differentiate with respect to another argument (argnums).")


@api_boundary
def value_and_grad(fun, argnums=0, has_aux=False):
    """Return a function computing ``(fun(*args), gradient)`` w.r.t. ``argnums``.

    ``fun`` must return a real scalar (and aux data if ``has_aux``). Integer and
    boolean leaves inside differentiated pytrees get ``None`` as their gradient.
    """
    name = getattr(fun, "__name__", "fun")

    @api_boundary
    @functools.wraps(fun)
    def value_and_grad_f(*args, **kwargs):
        single, nums = _argnums_tuple(argnums, len(args), "grad")
        for i in nums:
            _check_differentiable(args[i], i, "grad")
        dyn = tuple(args[i] for i in nums)

        def f_of_dyn(*d):
            full = list(args)
            for i, v in zip(nums, d):
                full[i] = v
            return fun(*full, **kwargs)

        out, pullback, *aux = _vjp(f_of_dyn, dyn, has_aux, "grad")
        a = get_aval(_as_value(out, fun="grad")) if not isinstance(out, Tracer) else out.aval
        if a.shape != () or not is_float(a.dtype):
            raise TypeError(f"grad requires {name} to return a real scalar, got {a.str_short()}"
                            + (" (use has_aux=True to return extra values)" if isinstance(out, tuple) else ""))
        g = pullback(_ones_like(out))
        g = g[0] if single else tuple(g)
        if has_aux:
            return (out, aux[0]), g
        return out, g

    return value_and_grad_f


def _ones_like(x):
    return as_output(np.ones((), get_aval(x).dtype))


@api_boundary
def grad(fun, argnums=0, has_aux=False):
    """The gradient of a scalar function w.r.t. ``argnums`` (pytrees supported)."""
    vg = value_and_grad(fun, argnums, has_aux)

    @api_boundary
    @functools.wraps(fun)
    def grad_f(*args, **kwargs):
        (val, g) = vg(*args, **kwargs)
        if has_aux:
            return g, val[1]
        return g

    return grad_f


@api_boundary
def linearize(fun, *primals):
    """``(fun(*primals), f_jvp)`` where ``f_jvp(*tangents)`` evaluates the linear map."""
    p_leaves, p_tree = tu.tree_flatten(primals)
    p_leaves = [_as_value(p, fun="linearize") for p in p_leaves]
    out_tree = []

    def flat_fun(*xs):
        leaves, tree = tu.tree_flatten(fun(*tu.tree_unflatten(p_tree, xs)))
        out_tree.append(tree)
        return leaves

    p_out, graph, _ = linearize_flat(flat_fun, p_leaves, name="linearize")
    from fnflow.core.graph import eval_graph

    def f_jvp(*tangents):
        t_leaves = _match_tree(p_tree, tangents, "linearize: tangents")
        return tu.tree_unflatten(out_tree[0], eval_graph(graph, *t_leaves))

    return tu.tree_unflatten(out_tree[0], p_out), f_jvp


# ------------------------------------------------------------ stop_gradient

stop_gradient_p = Primitive("stop_gradient")
stop_gradient_p.def_impl(lambda x: x)
stop_gradient_p.def_abstract_eval(lambda x: x)
defzero(stop_gradient_p)
stop_gradient_p.def_batch(lambda args, dims: (stop_gradient_p.bind(*args), dims[0]))


def stop_gradient(x):
    """The identity, with a zero derivative (applied to every leaf of a pytree)."""

    def one(leaf):
        if isinstance(leaf, Tracer) or isinstance(leaf, (np.ndarray, np.generic)) or is_scalar(leaf):
            v = _as_value(leaf, fun="stop_gradient")
            return bind(stop_gradient_p, v) if is_float(get_aval(v).dtype) else v
        return leaf

    return tu.tree_map(one, x)


# ------------------------------------------------------------ custom rules


def custom_jvp_call(fun, jvp_rule, args):
    trace = find_top_trace(args)
    tracers = [trace.full_raise(a) for a in args]
    return trace.process_custom_jvp_call(fun, jvp_rule, tracers)


def custom_vjp_call(fun, fwd, bwd, args):
    trace = find_top_trace(args)
    tracers = [trace.full_raise(a) for a in args]
    return trace.process_custom_vjp_call(fun, fwd, bwd, tracers)


from fnflow.core.trace import EvalTrace  # noqa: E402

EvalTrace.process_custom_jvp_call = lambda self, fun, jvp, tracers, symbolic_zeros=False: fun(*tracers)
EvalTrace.process_custom_vjp_call = lambda self, fun, fwd, bwd, tracers, out_tree_thunk=None: fun(*tracers)


class custom_jvp:
    """A function with a user-defined JVP rule, as ``jax.custom_jvp``.

    >>> @custom_jvp
    ... def f(x): return fnp.log1p(fnp.exp(x))
    >>> @f.defjvp
    ... def f_jvp(primals, tangents):
    ...     (x,), (t,) = primals, tangents
    ...     return f(x), t * fnn.sigmoid(x)

    ``nondiff_argnums`` marks arguments passed through as Python values.
    """

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.jvp_rule = None

    def defjvp(self, jvp_rule):
        self.jvp_rule = jvp_rule
        return jvp_rule

    def __call__(self, *args, **kwargs):
        if kwargs:
            raise TypeError(f"custom_jvp function {self.__name__}: pass arguments positionally")
        if self.jvp_rule is None:
            raise AttributeError(f"no JVP rule defined for custom_jvp function {self.__name__}; use .defjvp")
        nondiff = {i: args[i] for i in self.nondiff_argnums}
        dyn = [a for i, a in enumerate(args) if i not in nondiff]
        leaves, tree = tu.tree_flatten(dyn)
        leaves = [_as_value(x, fun="custom_jvp") for x in leaves]
        out_tree = []

        def full(d):
            it = iter(d)
            return [nondiff[i] if i in nondiff else next(it) for i in range(len(args))]

        def flat_fun(*xs):
            out = self.fun(*full(tu.tree_unflatten(tree, xs)))
            ol, ot = tu.tree_flatten(out)
            out_tree[:] = [ot]
            return ol

        def flat_jvp(primals, tangents):
            p = full(tu.tree_unflatten(tree, primals))
            t = [a for i, a in enumerate(full(tu.tree_unflatten(tree, tangents))) if i not in nondiff]
            nd_args = [nondiff[i] for i in self.nondiff_argnums]
            dyn_p = [a for i, a in enumerate(p) if i not in nondiff]
            if nondiff:
                out, t_out = self.jvp_rule(*nd_args, tuple(dyn_p), tuple(t))
            else:
                out, t_out = self.jvp_rule(tuple(dyn_p), tuple(t))
            ol, ot = tu.tree_flatten(out)
            out_tree[:] = [ot]
            tl = _match_tree(ot, t_out, f"custom_jvp {self.__name__}: tangent outputs")
            tl = [_as_value(t, fun="custom_jvp") for t in tl]
            return ol, [t if not isinstance(t, Zero) else instantiate(t) for t in tl]

        outs = custom_jvp_call(flat_fun, flat_jvp, leaves)
        return tu.tree_unflatten(out_tree[0], outs)


class custom_vjp:
    """A function with a user-defined VJP, as ``jax.custom_vjp``.

    ``f.defvjp(fwd, bwd)``: ``fwd(*args) -> (out, residuals)``,
    ``bwd(residuals, out_cotangent) -> tuple of input cotangents``.
    Forward-mode differentiation (jvp) of such a function is not defined.
    """

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd = self.bwd = None
        self.fwd_jvp = None  # optional forward-mode rule (used by checkpoint)

    def defvjp(self, fwd, bwd):
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args, **kwargs):
        if kwargs:
            raise TypeError(f"custom_vjp function {self.__name__}: pass arguments positionally")
        if self.fwd is None:
            raise AttributeError(f"no VJP rule defined for custom_vjp function {self.__name__}; use .defvjp")
        nondiff = {i: args[i] for i in self.nondiff_argnums}
        nd_args = [nondiff[i] for i in self.nondiff_argnums]
        dyn = [a for i, a in enumerate(args) if i not in nondiff]
        leaves, tree = tu.tree_flatten(dyn)
        leaves = [_as_value(x, fun="custom_vjp") for x in leaves]
        out_tree = []
        res_tree = []

        def full(d):
            it = iter(d)
            return [nondiff[i] if i in nondiff else next(it) for i in range(len(args))]

        def flat_fun(*xs):
            ol, ot = tu.tree_flatten(self.fun(*full(tu.tree_unflatten(tree, xs))))
            out_tree[:] = [ot]
            return ol

        def flat_fwd(*xs):
            out, res = self.fwd(*full(tu.tree_unflatten(tree, xs)))
            ol, ot = tu.tree_flatten(out)
            out_tree[:] = [ot]
            rl, rt = tu.tree_flatten(res)
            res_tree[:] = [rt]
            return ol, [_as_value(r, fun="custom_vjp") if _is_arraylike(r) else r for r in rl]

        def flat_bwd(res, cts):
            r = tu.tree_unflatten(res_tree[0], res)
            ct = tu.tree_unflatten(out_tree[0], cts)
            g = self.bwd(*nd_args, r, ct) if nondiff else self.bwd(r, ct)
            if not isinstance(g, (tuple, list)) or len(g) != len(dyn):
                raise TypeError(f"custom_vjp {self.__name__}: bwd must return a tuple with one cotangent per "
                                f"differentiable argument ({len(dyn)}), got {type(g).__name__}")
            gl = []
            for gi, di in zip(g, dyn):
                n = len(tu.tree_leaves(di))
                gi_leaves = [None] * n if gi is None else _match_tree(tu.tree_structure(di), gi,
                                                                      f"custom_vjp {self.__name__}: bwd output")
                gl.extend(gi_leaves)
            return gl

        if self.fwd_jvp is not None:
            def flat_fwd_jvp(res, tangents):
                r = tu.tree_unflatten(res_tree[0], res)
                out = self.fwd_jvp(r, tuple(tu.tree_unflatten(tree, tangents)))
                return tu.tree_leaves(out)

            flat_fwd.fwd_jvp = flat_fwd_jvp
        outs = custom_vjp_call(flat_fun, flat_fwd, flat_bwd, leaves)
        return tu.tree_unflatten(out_tree[0], outs)


def _is_arraylike(x):
    return isinstance(x, (Tracer, np.ndarray, np.generic)) or is_scalar(x)


# The linear op emitted for a custom_vjp function under differentiation: its
# transpose is the user's bwd on the saved residuals.
custom_lin_p = Primitive("custom_lin", multiple_results=True)


@custom_lin_p.def_abstract_eval
def _custom_lin_abstract(*avals, num_res, bwd, fwd_jvp, in_avals, out_avals):
    return list(out_avals)


def _custom_lin_impl(*args, num_res, bwd, fwd_jvp, in_avals, out_avals):
    if fwd_jvp is not None:
        return [np.asarray(t) for t in fwd_jvp(list(args[:num_res]), list(args[num_res:]))]
    raise TypeError("forward-mode differentiation (jvp, jacfwd, hessian) of a custom_vjp function is not "
                    "defined: it has only a reverse-mode rule. Use grad/vjp/jacrev, or custom_jvp.")


custom_lin_p.def_impl(_custom_lin_impl)


def _custom_lin_transpose(cts, *args, num_res, bwd, fwd_jvp, in_avals, out_avals):
    res = list(args[:num_res])
    cts_in = bwd(res, list(cts))
    return [None] * num_res + [None if c is None else c for c in cts_in]


custom_lin_p.def_transpose(_custom_lin_transpose)


def _custom_lin_jvp(primals, tangents, **params):
    raise TypeError("forward-mode differentiation of the backward pass of a custom_vjp function is not defined")


custom_lin_p.def_jvp(_custom_lin_jvp)


# ------------------------------------------------------------ checkpoint


def checkpoint(fun, *, prevent_cse=True, policy=None, static_argnums=()):
    """Recompute ``fun``'s forward pass during the backward pass instead of storing it.

    Memory for the intermediates of ``fun`` is freed after the forward pass; the
    backward pass runs ``fun`` again (under ``vjp``) to get them. Values and
    gradients are the same as without ``checkpoint``.
    """
    static = set(static_argnums)

    @functools.wraps(fun)
    def wrapped(*args):
        st = {i: args[i] for i in static}
        dyn = [a for i, a in enumerate(args) if i not in static]

        def full(d):
            it = iter(d)
            return [st[i] if i in st else next(it) for i in range(len(args))]

        f = custom_vjp(lambda *d: fun(*full(d)))

        def fwd(*d):
            return fun(*full(d)), d  # save only the inputs

        def bwd(saved, ct):
            _, pullback = vjp(lambda *d: fun(*full(d)), *saved)
            return tuple(pullback(ct))

        def fwd_jvp(saved, tangents):  # forward mode of a checkpointed function
            return jvp(lambda *d: fun(*full(d)), tuple(saved), tuple(tangents))[1]

        f.defvjp(fwd, bwd)
        f.fwd_jvp = fwd_jvp
        return f(*dyn)

    return wrapped


remat = checkpoint


# ------------------------------------------------------------ shapes only


class ShapeDtypeStruct:
    """Shape and dtype of an array, as returned by :func:`eval_shape`."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: int(np.prod(self.shape)))

    def __repr__(self):
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name})"

    def __eq__(self, other):
        return isinstance(other, ShapeDtypeStruct) and (self.shape, self.dtype) == (other.shape, other.dtype)

    def __hash__(self):
        return hash((self.shape, self.dtype))


@api_boundary
def eval_shape(fun, *args, **kwargs):
    """Shapes and dtypes of ``fun(*args)`` without computing anything."""
    from fnflow.core.graph import trace_to_graph

    leaves, tree = tu.tree_flatten(args)
    avals = [get_aval(x) if not isinstance(x, ShapeDtypeStruct) else ShapedArray(x.shape, x.dtype)
             for x in leaves]
    out_tree = []

    def flat(*xs):
        ol, ot = tu.tree_flatten(fun(*tu.tree_unflatten(tree, xs), **kwargs))
        out_tree.append(ot)
        return ol

    graph = trace_to_graph(flat, avals, name="eval_shape")
    return tu.tree_unflatten(out_tree[0], [ShapeDtypeStruct(a.shape, a.dtype) for a in graph.out_avals])


# graphs record custom_jvp / custom_vjp calls with their rules (GraphTrace's handlers live there)
from fnflow.transforms import custom_staging  # noqa: E402,F401
