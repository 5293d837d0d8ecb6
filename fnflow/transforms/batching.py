"""vmap: vectorising a function over a batch axis with one batching rule per primitive.

A :class:`BatchTracer` holds a value with one extra axis (its ``batch_dim``),
or ``None`` when the value is the same for every example. Each primitive's
``batch(args, dims, **params) -> (outs, out_dims)`` rule says how to compute
the op on the whole batch at once.
"""

from __future__ import annotations

import functools

from fnflow.core import tree as tu
from fnflow.core.abstract import ShapedArray, get_aval
from fnflow.core.errors import ConcretizationError, api_boundary
from fnflow.core.trace import Trace, Tracer, bind, new_main

not_mapped = None


def _shape_ops():
    from fnflow.ops import shape

    return shape


def moveaxis(x, src, dst):
    """Move axis ``src`` of ``x`` to position ``dst`` (both non-negative)."""
    if src == dst:
        return x
    perm = [i for i in range(get_aval(x).ndim) if i != src]
    perm.insert(dst, src)
    return _shape_ops().transpose(x, tuple(perm))


def broadcast_batched(x, bdim, size, dst=0):
    """``x`` with its batch axis at ``dst``; an unbatched ``x`` is broadcast to ``size``."""
    if bdim is None:
        aval = get_aval(x)
        shape = list(aval.shape)
        shape.insert(dst, size)
        dims = tuple(i if i < dst else i + 1 for i in range(aval.ndim))
        return _shape_ops().broadcast_in_dim(x, tuple(shape), dims)
    return moveaxis(x, bdim, dst)


def bdim_at_front(x, bdim, size):
    return broadcast_batched(x, bdim, size, 0)


class BatchTracer(Tracer):
    """A value with one extra axis ``batch_dim`` (None: the same for every example).

    ``src`` names the vmapped arguments the value depends on, for error messages.
    """

    __slots__ = ("val", "batch_dim", "src")

    def __init__(self, trace, val, batch_dim, src=frozenset()):
        self._trace = trace
        self.val = val
        self.batch_dim = batch_dim
        self.src = src

    @property
    def aval(self):
        a = get_aval(self.val)
        if self.batch_dim is None:
            return a
        shape = a.shape[: self.batch_dim] + a.shape[self.batch_dim + 1:]
        return ShapedArray(shape, a.dtype)

    def to_concrete(self, why):
        if self.batch_dim is None:
            v = self.val
            return v.to_concrete(why) if isinstance(v, Tracer) else v
        raise ConcretizationError(self, why)


class BatchTrace(Trace):
    concretization_hint = ("Under vmap a value differs from one example to the next, so it cannot "
                           "steer Python control flow: use fnflow.numpy.where (or fnflow.lax.cond), or pass "
                           "the value unmapped (in_axes=None) if it is the same for every example.")

    @property
    def axis_size(self):
        return self.main.global_data

    def pure(self, val):
        return BatchTracer(self, val, None)

    lift = pure

    def describe_tracer(self, tracer):
        if not tracer.src:
            return ""
        return " (it depends on " + ", ".join(sorted(tracer.src)) + ")"

    def process_primitive(self, prim, tracers, params):
        vals = [t.val for t in tracers]
        dims = [t.batch_dim for t in tracers]
        if all(d is None for d in dims):
            out = bind(prim, *vals, **params)
            outs = out if prim.multiple_results else [out]
            return [BatchTracer(self, o, None) for o in outs]
        if prim.batch is None:
            raise NotImplementedError(f"batching rule (vmap) for '{prim.name}' is not implemented")
        out, out_dims = prim.batch(vals, dims, **params)
        src = frozenset().union(*[t.src for t in tracers])
        if prim.multiple_results:
            return [BatchTracer(self, o, d, src) for o, d in zip(out, out_dims)]
        return [BatchTracer(self, out, out_dims, src)]

    def _batched_inputs(self, tracers):
        # Custom rules are batched as whole functions: every input gets its batch axis at 0.
        return [broadcast_batched(t.val, t.batch_dim, self.axis_size) for t in tracers]

    def process_custom_jvp_call(self, fun, jvp, tracers, symbolic_zeros=False):
        from fnflow.transforms.ad import custom_jvp_call

        if all(t.batch_dim is None for t in tracers):
            return [BatchTracer(self, o, None) for o in custom_jvp_call(fun, jvp, [t.val for t in tracers])]
        fun_b = vmap(lambda *xs: fun(*xs))
        jvp_b = vmap(lambda ps, ts: jvp(list(ps), list(ts)))
        outs = custom_jvp_call(fun_b, jvp_b, self._batched_inputs(tracers))
        src = frozenset().union(*[t.src for t in tracers])
        return [BatchTracer(self, o, 0, src) for o in outs]

    def process_custom_vjp_call(self, fun, fwd, bwd, tracers, out_tree_thunk=None):
        from fnflow.transforms.ad import custom_vjp_call

        if all(t.batch_dim is None for t in tracers):
            return [BatchTracer(self, o, None) for o in custom_vjp_call(fun, fwd, bwd, [t.val for t in tracers])]
        fun_b = vmap(lambda *xs: fun(*xs))
        fwd_b = vmap(lambda *xs: fwd(*xs))
        bwd_b = vmap(lambda res, cts: bwd(list(res), list(cts)))
        fwd_jvp = getattr(fwd, "fwd_jvp", None)
        if fwd_jvp is not None:
            fwd_b.fwd_jvp = vmap(lambda res, ts: fwd_jvp(list(res), list(ts)))
        outs = custom_vjp_call(fun_b, fwd_b, bwd_b, self._batched_inputs(tracers))
        src = frozenset().union(*[t.src for t in tracers])
        return [BatchTracer(self, o, 0, src) for o in outs]


# ------------------------------------------------------------- rule helpers


def defvectorized(prim):
    """Batching for elementwise ops of one operand: the batch axis just passes through."""
    prim.batch = lambda args, dims, **params: (bind(prim, *args, **params), dims[0])


def defbroadcasting(prim):
    """Batching for n-ary elementwise ops with NumPy broadcasting."""

    def rule(args, dims, **params):
        ranks = [get_aval(a).ndim - (d is not None) for a, d in zip(args, dims)]
        rank = max(ranks)
        new = []
        for a, d, r in zip(args, dims, ranks):
            if d is None:
                new.append(a)
                continue
            a = moveaxis(a, d, 0)
            if r < rank:  # pad with ones after the batch axis so trailing axes align
                shp = get_aval(a).shape
                a = _shape_ops().reshape(a, (shp[0],) + (1,) * (rank - r) + shp[1:])
            new.append(a)
        # unbatched operands align with the trailing axes automatically
        out = bind(prim, *new, **params)
        if prim.multiple_results:
            return out, [0] * len(out)
        return out, 0

    prim.batch = rule
    return rule


# ------------------------------------------------------------------- vmap


def _normalize_axis(ax, ndim, what):
    if ax is None:
        return None
    if not isinstance(ax, int):
        raise TypeError(f"vmap: {what} must be an int or None, got {ax!r}")
    if not -ndim <= ax < ndim:
        raise ValueError(f"vmap: {what}={ax} is out of range for a value of rank {ndim}")
    return ax % ndim


@api_boundary
def vmap(fun, in_axes=0, out_axes=0, axis_size=None):
    """Vectorise ``fun`` over axis ``in_axes`` of its arguments (a pytree prefix of them).

    ``out_axes`` says where the batch axis goes in the outputs (``None`` for an
    output that does not depend on the batch). Nested ``vmap`` works.
    """
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)

    @api_boundary
    @functools.wraps(fun)
    def vmapped(*args, **kwargs):
        from fnflow.transforms.ad import _as_value

        axes = in_axes
        if not isinstance(axes, tuple):
            axes = (axes,) * len(args)
        if len(axes) != len(args):
            raise ValueError(f"vmap: in_axes has {len(axes)} entries but the function was called with "
                             f"{len(args)} positional arguments")
        from fnflow.transforms.staging import arg_names

        leaves, tree = tu.tree_flatten(args)
        names = arg_names(fun, args)
        ax_leaves = tu.broadcast_prefix(axes, args, what="vmap in_axes")
        vals, dims, sizes = [], [], {}
        for name, x, ax in zip(names, leaves, ax_leaves):
            x = _as_value(x, name, fun="vmap")
            d = None
            if ax is not None:
                ndim = get_aval(x).ndim
                if ndim == 0:
                    raise ValueError(f"vmap: {name} is a scalar but in_axes={ax} maps one of its axes "
                                     f"(use in_axes=None for it)")
                d = _normalize_axis(ax, ndim, f"in_axes for {name}")
                sizes.setdefault(get_aval(x).shape[d], []).append(f"{name} (axis {d})")
            vals.append(x)
            dims.append(d)
        if axis_size is not None and sizes and set(sizes) != {axis_size}:
            sizes.setdefault(axis_size, []).append("axis_size")
        if len(sizes) > 1:
            detail = "; ".join(f"size {s}: {', '.join(ps)}" for s, ps in sizes.items())
            raise ValueError(f"vmap got inconsistent sizes for the mapped axes: {detail}")
        if not sizes and axis_size is None:
            raise ValueError("vmap needs at least one mapped argument (in_axes all None) or axis_size")
        size = next(iter(sizes)) if sizes else axis_size
        out_tree = []
        with new_main(BatchTrace, size, name="vmap") as main:
            trace = BatchTrace(main)
            tracers = [BatchTracer(trace, v, d, frozenset([n]) if d is not None else frozenset())
                       for v, d, n in zip(vals, dims, names)]
            out = fun(*tu.tree_unflatten(tree, tracers), **kwargs)
            out_leaves, otree = tu.tree_flatten(out)
            out_tree.append(otree)
            out_tracers = [trace.full_raise(o) for o in out_leaves]
            res_vals = [(t.val, t.batch_dim) for t in out_tracers]
        oax = tu.broadcast_prefix(out_axes, out, what="vmap out_axes")
        out_paths = [tu.keystr(p) or "<the output>" for p, _ in tu.tree_flatten_with_path(out)[0]]
        results = []
        for (v, d), ax, path in zip(res_vals, oax, out_paths):
            if ax is None:
                if d is not None:
                    raise ValueError(f"vmap: out_axes=None for output {path}, but it depends on the mapped axis "
                                     f"(it differs per example); give it an out_axes integer")
                results.append(v)
                continue
            nd = get_aval(v).ndim + (d is None)
            results.append(broadcast_batched(v, d, size, _normalize_axis(ax, nd, "out_axes")))
        return tu.tree_unflatten(out_tree[0], results)

    return vmapped
