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
(rather than taking them as arguments) is inlined as before: its rule could
not be replayed outside the trace that made those values.
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


def _staged(trace, prim, fun, tracers, rules):
    from fnflow.ops.control import trace_closed

    call, hoisted = trace_closed(fun, [t.aval for t in tracers], name=prim.name)
    if hoisted:  # closes over traced values: inline (see the module docstring)
        return fun(*tracers)
    return bind(prim, *tracers, call=call, **rules)


def _process_custom_jvp_call(self, fun, jvp, tracers, symbolic_zeros=False):
    return _staged(self, custom_jvp_call_p, fun, tracers, {"jvp": jvp})


def _process_custom_vjp_call(self, fun, fwd, bwd, tracers, out_tree_thunk=None):
    return _staged(self, custom_vjp_call_p, fun, tracers, {"fwd": fwd, "bwd": bwd})


GraphTrace.process_custom_jvp_call = _process_custom_jvp_call
GraphTrace.process_custom_vjp_call = _process_custom_vjp_call
