"""custom_jvp / custom_vjp functions staged into graphs with their rules.

Traced into a graph (``jit``, ``make_graph``), a call of a ``custom_jvp`` or
``custom_vjp`` function becomes one equation of ``custom_jvp_call`` /
``custom_vjp_call``: its ``call`` param is the function's own graph and the
user's rules ride along as params. Differentiating the graph later
(``grad(jit(f))``: the JVP of a ``jit_call`` traces its graph again) then
reaches the primitive's JVP rule, which runs the user's rule, as the eager
path does; inlining the function instead would differentiate its body and
silently drop the rule. ``vmap`` batches the function and its rules as a
whole, as the eager path does. Compilers inline the ``call`` graph (the rules
do not matter for evaluation).

A custom function that closes over values traced at the level of the graph
(rather than taking them as arguments) is closure-converted, as JAX does: the
function and its JVP rule are traced to graphs there and then, the captured
values become extra operands (``custom_jvp_closed``), and differentiating with
respect to a captured value raises (the rule only says how the function
depends on its arguments). A ``custom_vjp`` function closing over traced
values evaluates, and raises a clear error when differentiated (as JAX).
"""

from __future__ import annotations

from fnflow.core.graph import GraphTrace, eval_graph
from fnflow.core.primitive import Primitive
from fnflow.core.trace import bind

custom_jvp_call_p = Primitive("custom_jvp_call", multiple_results=True)
custom_vjp_call_p = Primitive("custom_vjp_call", multiple_results=True)


def _call_impl(*args, call, **rules):
    return eval_graph(call, *args)


def _call_abstract(*avals, call, **rules):
    return call.out_avals


for _p in (custom_jvp_call_p, custom_vjp_call_p):
    _p.def_impl(_call_impl)
    _p.def_abstract_eval(_call_abstract)


def _fun_of(call):
    return lambda *xs: eval_graph(call, *xs)


def _custom_jvp_rule(primals, tangents, *, call, jvp):
    from fnflow.transforms.ad import instantiate

    outs, t_outs = jvp(list(primals), [instantiate(t) for t in tangents])
    return list(outs), list(t_outs)


def _custom_vjp_rule(primals, tangents, *, call, fwd, bwd):
    """As the eager path: ``fwd``, then the linear ``custom_lin`` op whose transpose is ``bwd``."""
    from fnflow.core.abstract import get_aval
    from fnflow.transforms.ad import custom_lin_p, instantiate

    outs, res = fwd(*primals)
    t_outs = bind(custom_lin_p, *res, *[instantiate(t) for t in tangents], num_res=len(res), bwd=bwd,
                  fwd_jvp=getattr(fwd, "fwd_jvp", None), in_avals=tuple(get_aval(p) for p in primals),
                  out_avals=tuple(get_aval(o) for o in outs))
    return list(outs), list(t_outs)


custom_jvp_call_p.def_jvp(_custom_jvp_rule)
custom_vjp_call_p.def_jvp(_custom_vjp_rule)


def _batch_jvp_call(args, dims, *, call, jvp):
    from fnflow.transforms.ad import custom_jvp_call
    from fnflow.transforms.batching import broadcast_batched, vmap

    size = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
    xs = [broadcast_batched(a, d, size) for a, d in zip(args, dims)]
    fun_b = vmap(_fun_of(call))
    jvp_b = vmap(lambda ps, ts: jvp(list(ps), list(ts)))
    outs = custom_jvp_call(fun_b, jvp_b, xs)
    return outs, [0] * len(outs)


def _batch_vjp_call(args, dims, *, call, fwd, bwd):
    from fnflow.transforms.ad import custom_vjp_call
    from fnflow.transforms.batching import broadcast_batched, vmap

    size = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
    xs = [broadcast_batched(a, d, size) for a, d in zip(args, dims)]
    fwd_b = vmap(lambda *a: fwd(*a))
    bwd_b = vmap(lambda res, cts: bwd(list(res), list(cts)))
    fwd_jvp = getattr(fwd, "fwd_jvp", None)
    if fwd_jvp is not None:
        fwd_b.fwd_jvp = vmap(lambda res, ts: fwd_jvp(list(res), list(ts)))
    outs = custom_vjp_call(vmap(_fun_of(call)), fwd_b, bwd_b, xs)
    return outs, [0] * len(outs)


custom_jvp_call_p.def_batch(_batch_jvp_call)
custom_vjp_call_p.def_batch(_batch_vjp_call)


# ------------------------------------------------- functions closing over traced values

custom_jvp_closed_p = Primitive("custom_jvp_closed", multiple_results=True)
custom_vjp_closed_p = Primitive("custom_vjp_closed", multiple_results=True)
# operands: (*captured by the function, *arguments, *captured by the rule); ``call`` takes the first two
# groups, ``rule`` (custom_jvp) takes (*captured by the rule, *arguments, *their tangents) and returns
# (*outputs, *output tangents)


def _closed_impl(*args, call, n_args, **rules):
    return eval_graph(call, *args[:len(call.invars)])


for _p in (custom_jvp_closed_p, custom_vjp_closed_p):
    _p.def_impl(_closed_impl)
    _p.def_abstract_eval(lambda *avals, call, n_args, **rules: call.out_avals)


def _captured_tangent_error(name):
    return TypeError(f"{name}: differentiation with respect to a value the function closes over (a value "
                     f"traced in the enclosing jit/make_graph, not passed as an argument) is not supported: "
                     f"the rule only gives the derivative with respect to the arguments. Pass the value as an "
                     f"argument of the custom function.")


def _closed_jvp_rule(primals, tangents, *, call, n_args, rule):
    from fnflow.transforms.ad import Zero, instantiate

    n_fun = len(call.invars) - n_args
    captured = list(tangents[:n_fun]) + list(tangents[n_fun + n_args:])
    if not all(isinstance(t, Zero) for t in captured):
        raise _captured_tangent_error("custom_jvp")
    args = primals[n_fun:n_fun + n_args]
    t_args = [instantiate(t) for t in tangents[n_fun:n_fun + n_args]]
    res = eval_graph(rule, *primals[n_fun + n_args:], *args, *t_args)
    n_out = len(call.outvars)
    return list(res[:n_out]), list(res[n_out:])


def _closed_vjp_rule(primals, tangents, *, call, n_args):
    raise TypeError("custom_vjp: a custom_vjp function that closes over a value traced in the enclosing "
                    "jit/make_graph (instead of taking it as an argument) cannot be differentiated outside "
                    "that trace: its fwd/bwd would outlive the value. Pass the value as an argument.")


custom_jvp_closed_p.def_jvp(_closed_jvp_rule)
custom_vjp_closed_p.def_jvp(_closed_vjp_rule)


def _closed_batch(prim):
    def batch(args, dims, *, call, n_args, **rules):
        from fnflow.ops.control import batch_graph
        from fnflow.transforms.batching import broadcast_batched

        # batched as a whole, every operand at axis 0 (as the eager path batches custom functions)
        size = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
        xs = [broadcast_batched(a, d, size) for a, d in zip(args, dims)]
        call_b, _ = batch_graph(call, [True] * len(call.invars), size, force_out=[True] * len(call.outvars))
        if "rule" in rules:
            r = rules["rule"]
            rules = {"rule": batch_graph(r, [True] * len(r.invars), size, force_out=[True] * len(r.outvars))[0]}
        outs = bind(prim, *xs, call=call_b, n_args=n_args, **rules)
        return outs, [0] * len(outs)

    return batch


custom_jvp_closed_p.def_batch(_closed_batch(custom_jvp_closed_p))
custom_vjp_closed_p.def_batch(_closed_batch(custom_vjp_closed_p))


def _staged(trace, prim, fun, tracers, rules):
    from fnflow.ops.control import trace_closed

    avals = [t.aval for t in tracers]
    call, hoisted = trace_closed(fun, avals, name=prim.name)
    if not hoisted:
        return bind(prim, *tracers, call=call, **rules)
    if prim is custom_vjp_call_p:
        return bind(custom_vjp_closed_p, *hoisted, *tracers, call=call, n_args=len(tracers))

    def rule_fun(*pt):
        outs, t_outs = rules["jvp"](list(pt[:len(avals)]), list(pt[len(avals):]))
        return list(outs) + list(t_outs)

    rule, captured = trace_closed(rule_fun, avals + avals, name="custom_jvp_rule")
    return bind(custom_jvp_closed_p, *hoisted, *tracers, *captured, call=call, n_args=len(tracers), rule=rule)


def _process_custom_jvp_call(self, fun, jvp, tracers, symbolic_zeros=False):
    return _staged(self, custom_jvp_call_p, fun, tracers, {"jvp": jvp})


def _process_custom_vjp_call(self, fun, fwd, bwd, tracers, out_tree_thunk=None):
    return _staged(self, custom_vjp_call_p, fun, tracers, {"fwd": fwd, "bwd": bwd})


GraphTrace.process_custom_jvp_call = _process_custom_jvp_call
GraphTrace.process_custom_vjp_call = _process_custom_vjp_call
