"""Lowering: turn fused groups and single equations into executable steps.

- a fused group becomes one call of its generated numba kernel;
- ``dot_general`` becomes ``np.matmul(a, b, out=buf)`` on transposed/reshaped
  views (BLAS; numba's in-kernel ``np.dot`` would need SciPy), on one BLAS
  thread when it is small (``blas.py``);
- reshape, transpose, broadcast, slice and rev become views (free);
- concatenate writes into a preallocated buffer;
- ``cond``, ``scan`` and ``while`` compile their sub-graphs once and run a
  Python-level branch or loop around them, so a 1000-step scan compiles as
  fast as a 10-step one; any other primitive that carries graphs gets them as
  compiled graphs;
- everything else calls the primitive's ``impl`` (NumPy): slower than a kernel
  but correct for every op, so the compiler never refuses a graph.

The table ``LOWERINGS`` maps primitive names to functions ``eqn -> Step``. A
primitive may also bring its own CPU implementation as
``prim.lowerings["cpu"] = fn(*arrays, **params)`` (same contract as ``impl``,
e.g. a hand-written kernel from ``kernels/``): it is then called instead of
``impl``.
"""

from __future__ import annotations

import functools
import logging

import numpy as np

from fnflow.backends.cpu import blas, cache, codegen
from fnflow.backends.cpu.executable import Step
from fnflow.backends.cpu.passes import has_subgraphs
from fnflow.core.graph import Graph, Literal, Var

log = logging.getLogger("fnflow")

LOWERINGS = {}


def register(*names):
    def deco(fn):
        for n in names:
            LOWERINGS[n] = fn
        return fn

    return deco


def lower_eqn(eqn) -> Step:
    """The step that runs one (unfused) equation."""
    own = eqn.prim.lowerings.get("cpu")
    if own is not None:
        return impl_step(eqn, own, kind="numpy")
    fn = LOWERINGS.get(eqn.prim.name)
    if fn is not None:
        return fn(eqn)
    if has_subgraphs(eqn):
        return subgraph_step(eqn)
    return impl_step(eqn)


# ------------------------------------------------------------------ kernels


def lower_group(group, inputs, outputs, fixed=frozenset()):
    """One kernel step for a fused group.

    ``fixed``: vars the plan never overwrites (graph inputs, constants). A group
    that may write over one of its other inputs is compiled when the driver is
    built, once the memory plan says which variant it needs (plain, or writing
    through the input: see ``codegen.generate``), so cold starts compile one
    kernel per group; if that kernel does not compile the step evaluates the
    equations with NumPy. Any other group is compiled now and, if it does not
    compile, becomes one impl step per equation. Groups over 0-d values
    (optimizer step counts, scalar losses) run with NumPy: a compile costs far
    more than the few microseconds they take.
    """
    if tuple(group.shape) == () and group.reduce_eqn is None:
        return [lower_eqn(e) for e in group.eqns]
    ks = codegen.generate(group.eqns, inputs, outputs, group.shape, group.reduce_eqn)
    loaded = {v for e in group.eqns if codegen.load_map(e) is not None and e.prim.name not in codegen.ELEMENTWISE
              for v in e.invars}
    inplace = [j for j, v in enumerate(inputs)
               if isinstance(v, Var) and v.aval.shape == tuple(group.shape) and v not in loaded and v not in fixed]
    fn = None
    if not inplace:
        try:
            fn = cache.get_kernel(ks)
        except Exception as err:  # an op numba cannot type for these dtypes: run the equations one by one
            log.debug("fnflow cpu: kernel for %s did not compile (%s); using impl", group, err)
            return [lower_eqn(e) for e in group.eqns]

    def emit(ins, outs, env):
        ks_, fn_ = ks, fn
        # outputs the memory plan put over an input: the kernel variant that writes through the input
        alias = {k: j for k, o in enumerate(outs) for j in inplace if ins[j] == o}
        try:
            if alias:
                ks_ = codegen.generate(group.eqns, inputs, outputs, group.shape, group.reduce_eqn, alias)
            if fn_ is None or alias:
                fn_ = cache.get_kernel(ks_)
        except Exception as err:
            log.debug("fnflow cpu: kernel for %s did not compile (%s); using NumPy", group, err)
            return _numpy_group(group, inputs, outputs, ins, outs, env)
        kname = env.bind(fn_, "_k")
        pos = {id(v): j for j, v in enumerate(inputs)}
        opos = {v: j for j, v in enumerate(outputs)}
        args = []
        for kind, v in ks_.args:
            if kind == "in":
                if isinstance(v, Literal):
                    args.append(env.bind(v.aval.dtype.type(v.val), "_s"))
                else:
                    args.append(ins[pos[id(v)]])
            elif kind == "out":
                args.append(outs[opos[v]])
            else:
                args.append(str(int(v)))
        return [f"{kname}({', '.join(args)})"]

    return [Step("kernel", ks.name, inputs, outputs, emit, inplace=inplace, info=ks)]


def _numpy_group(group, inputs, outputs, ins, outs, env):
    """Driver lines evaluating a group's equations with their impls, results copied into ``outs``."""

    def run(*vals):
        known = {id(v): x for v, x in zip(inputs, vals)}

        def read(v):
            return np.asarray(v.val) if isinstance(v, Literal) and id(v) not in known else known[id(v)]

        for e in group.eqns:
            r = e.prim.impl(*[read(v) for v in e.invars], **e.params)
            for v, x in zip(e.outvars, r if e.prim.multiple_results else [r]):
                known[id(v)] = x
        return [known[id(v)] for v in outputs]

    f = env.bind(run, "_f")
    lines = [f"_t = {f}({', '.join(ins)})"]
    lines += [f"np.copyto({o}, _t[{k}], casting='unsafe')" for k, o in enumerate(outs)]
    return lines


# ---------------------------------------------------------------- fallback


def impl_step(eqn, fn=None, kind="impl", params=None):
    """Call the primitive's ``impl`` (or ``fn``) with the equation's params (or ``params``)."""
    fn = fn or eqn.prim.impl
    if fn is None:
        raise NotImplementedError(f"primitive {eqn.prim.name} has no impl and no CPU lowering")
    params = eqn.params if params is None else params
    call = functools.partial(fn, **params) if params else fn
    multiple = eqn.prim.multiple_results

    def emit(ins, outs, env):
        f = env.bind(call, "_f")
        lines = [f"_t = {f}({', '.join(ins)})"]
        if multiple:
            lines += [f"{o} = _asarray(_t[{k}], {env.bind(v.aval.dtype, '_dt')})"
                      for k, (o, v) in enumerate(zip(outs, eqn.outvars))]
        else:
            lines.append(f"{outs[0]} = _asarray(_t, {env.bind(eqn.outvars[0].aval.dtype, '_dt')})")
        return lines

    return Step(kind, eqn.prim.name, eqn.invars, eqn.outvars, emit, alloc=[False] * len(eqn.outvars),
                aliases=True, contiguous=False)


# ------------------------------------------------------------------- views


def _view(eqn, template, contiguous=False):
    def emit(ins, outs, env):
        return [f"{outs[0]} = " + template(ins[0], env)]

    return Step("view", eqn.prim.name, eqn.invars, eqn.outvars, emit, alloc=[False], aliases=True,
                contiguous=contiguous)


@register("reshape")
def _reshape(eqn):
    shape = tuple(eqn.params["new_sizes"])
    return _view(eqn, lambda x, env: f"{x}.reshape({shape!r})", contiguous="reshape")


@register("transpose")
def _transpose(eqn):
    perm = tuple(eqn.params["permutation"])
    return _view(eqn, lambda x, env: f"{x}.transpose({perm!r})")


@register("broadcast_in_dim")
def _broadcast(eqn):
    shape, dims = tuple(eqn.params["shape"]), eqn.params["broadcast_dimensions"]
    expanded = [1] * len(shape)
    for i, d in enumerate(dims):
        expanded[d] = eqn.invars[0].aval.shape[i]
    return _view(eqn, lambda x, env: f"np.broadcast_to({x}.reshape({tuple(expanded)!r}), {shape!r})")


@register("slice")
def _slice(eqn):
    p = eqn.params
    strides = p["strides"] or (1,) * len(p["start_indices"])
    idx = ", ".join(f"{a}:{b}:{c}" for a, b, c in zip(p["start_indices"], p["limit_indices"], strides))
    return _view(eqn, lambda x, env: f"{x}[{idx},]")


@register("rev")
def _rev(eqn):
    dims = set(eqn.params["dimensions"])
    idx = ", ".join("::-1" if d in dims else ":" for d in range(eqn.invars[0].aval.ndim))
    return _view(eqn, lambda x, env: f"{x}[{idx},]")


@register("strided_view")
def _strided_view(eqn):
    view = functools.partial(eqn.prim.impl, **eqn.params)
    return _view(eqn, lambda x, env: f"{env.bind(view, '_f')}({x})")


@register("stop_gradient")
def _identity(eqn):
    return _view(eqn, lambda x, env: x, contiguous="reshape")


# ---------------------------------------------------------- numpy with out=


@register("concatenate")
def _concatenate(eqn):
    axis = eqn.params["dimension"]

    def emit(ins, outs, env):
        return [f"np.concatenate(({', '.join(ins)},), axis={axis}, out={outs[0]})"]

    return Step("numpy", "concatenate", eqn.invars, eqn.outvars, emit)


@register("pad")
def _pad(eqn):
    """Fill the output with the padding value, then copy the (cropped) operand into its window."""
    config = eqn.params["config"]
    if any(len(c) != 2 for c in config):  # interior padding: the impl
        return impl_step(eqn)
    src = ", ".join(f"{-lo if lo < 0 else 0}:{d + hi if hi < 0 else d}"
                    for d, (lo, hi) in zip(eqn.invars[0].aval.shape, config))
    dst = ", ".join(f"{max(lo, 0)}:{n - max(hi, 0)}" for n, (lo, hi) in zip(eqn.outvars[0].aval.shape, config))

    def emit(ins, outs, env):
        if not config:
            return [f"{outs[0]}[()] = {ins[0]}"]
        return [f"{outs[0]}.fill({ins[1]})", f"{outs[0]}[{dst},] = {ins[0]}[{src},]"]

    return Step("numpy", "pad", eqn.invars, eqn.outvars, emit)


@register("dot_general")
def _dot_general(eqn):
    """np.matmul(a, b, out=buf) on (batch, m, k) x (batch, k, n) views of the operands."""
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    lhs, rhs = eqn.invars[0].aval, eqn.invars[1].aval
    if lhs.dtype != rhs.dtype or lhs.dtype.kind not in "biufc":
        return impl_step(eqn)
    lf = [i for i in range(lhs.ndim) if i not in lc and i not in lb]
    rf = [i for i in range(rhs.ndim) if i not in rc and i not in rb]

    def size(shape, axes):
        return int(np.prod([shape[i] for i in axes], dtype=np.int64))

    B, M, K, N = size(lhs.shape, lb), size(lhs.shape, lf), size(lhs.shape, lc), size(rhs.shape, rf)
    batched = bool(lb)
    out_shape = eqn.outvars[0].aval.shape

    def operand(x, aval, perm, shape3):
        target = shape3 if batched else shape3[1:]
        expr = x
        if list(perm) != list(range(aval.ndim)):
            expr = f"{expr}.T" if aval.ndim == 2 else f"{expr}.transpose({tuple(perm)!r})"
        permuted = tuple(aval.shape[i] for i in perm)
        if permuted != tuple(target):
            expr = f"{expr}.reshape({tuple(target)!r})"
        return expr

    if blas.single_threaded(B, M, K, N):
        small = blas.make_matmul_small()
    elif blas.load_adaptive(B, M, K, N):
        small = blas.make_matmul_adaptive()
    else:
        small = None

    def emit(ins, outs, env):
        a = operand(ins[0], lhs, list(lb) + lf + list(lc), (B, M, K))
        b = operand(ins[1], rhs, list(rb) + list(rc) + rf, (B, K, N))
        target = (B, M, N) if batched else (M, N)
        o = outs[0] if tuple(out_shape) == target else f"{outs[0]}.reshape({target!r})"
        if small is not None:  # on one BLAS thread (when busy): a second one costs more than it saves (blas.py)
            return [f"{env.bind(small, '_mm')}({a}, {b}, {o})"]
        return [f"np.matmul({a}, {b}, out={o})"]

    return Step("blas", "dot_general", eqn.invars, eqn.outvars, emit)


# ------------------------------------------------------------ control flow


def _compiled(graph, out_params=False):
    from fnflow.backends.cpu import compile_graph

    return compile_graph(graph, readonly_outputs=False, out_params=out_params)


def _control(eqn, runner, name, info=None):
    def emit(ins, outs, env):
        f = env.bind(runner, "_ctl")
        lines = [f"_t = {f}({', '.join(ins)})"]
        lines += [f"{o} = _t[{k}]" for k, o in enumerate(outs)]
        return lines

    return Step("control", name, eqn.invars, eqn.outvars, emit, alloc=[False] * len(eqn.outvars),
                aliases=True, contiguous=False, info=info)


@register("cond")
def _cond(eqn):
    branches = [_compiled(b) for b in eqn.params["branches"]]
    last = len(branches) - 1

    def run_cond(index, *ops):
        i = int(index)
        return branches[0 if i < 0 else last if i > last else i](*ops)

    return _control(eqn, run_cond, "cond")


@register("scan")
def _scan(eqn):
    """A generated Python loop around the compiled body, writing the stacked ``ys`` into buffers.

    The ``ys`` buffers come from the enclosing plan (kept across calls like any
    other intermediate), and the body computes each output it writes into a
    buffer of its own straight into its row (``out_params``), so a call neither
    allocates nor copies per step; the loop is one generated function with the
    counts unrolled into its source (no ``*args`` packing, no zip per step).
    """
    p = eqn.params
    body = _compiled(p["body"], out_params=True)
    nc, nk, length = p["num_consts"], p["num_carry"], p["length"]
    nx = len(eqn.invars) - nc - nk
    ny = len(eqn.outvars) - nk
    order = f"range({length - 1}, -1, -1)" if p["reverse"] else f"range({length})"
    c = [f"c{j}" for j in range(nc)]
    k = [f"k{j}" for j in range(nk)]
    x = [f"x{j}" for j in range(nx)]
    y = [f"y{j}" for j in range(ny)]
    t = [f"t{j}" for j in range(ny)]
    # rows of the stacked outputs the body computes into directly; the others are copied
    direct = [nk + j in body.direct_outputs for j in range(ny)]
    outs = ["None"] * nk + [f"{yv}[i]" if d else "None" for yv, d in zip(y, direct)]
    while outs and outs[-1] == "None":
        outs.pop()
    lines = [f"def run_scan({', '.join(c + k + x + y)}):",
             f"    for i in {order}:",
             f"        _o = body({', '.join(c + k + [f'{v}[i]' for v in x] + outs)})"]
    if nk + ny:
        lines.append(f"        {', '.join(k + t)}, = _o")
    lines += [f"        {yv}[i] = {tv}" for yv, tv, d in zip(y, t, direct) if not d]
    lines.append(f"    return [{', '.join(k)}]")
    env = {"body": body}
    exec(compile("\n".join(lines) + "\n", f"<fnflow scan[{length}]>", "exec"), env)
    run_scan = env["run_scan"]

    def emit(ins, outs, env_):
        f = env_.bind(run_scan, "_ctl")
        lines_ = [f"_t = {f}({', '.join(list(ins) + list(outs[nk:]))})"]
        lines_ += [f"{o} = _t[{j}]" for j, o in enumerate(outs[:nk])]
        return lines_

    return Step("control", f"scan[{length}]", eqn.invars, eqn.outvars, emit, alloc=[False] * nk + [True] * ny,
                aliases=True, contiguous=False, info=body)


@register("while")
def _while(eqn):
    p = eqn.params
    cond, body = _compiled(p["cond_graph"]), _compiled(p["body_graph"])
    ncc, nbc = p["cond_nconsts"], p["body_nconsts"]

    def run_while(*args):
        cconsts, bconsts, carry = args[:ncc], args[ncc:ncc + nbc], list(args[ncc + nbc:])
        while cond(*cconsts, *carry)[0]:
            carry = body(*bconsts, *carry)
        return carry

    return _control(eqn, run_while, "while")


@register("jit_call")
def _jit_call(eqn):
    exe = _compiled(eqn.params["graph"])
    return _control(eqn, exe, f"jit_call[{eqn.params.get('name', '')}]")


class CompiledGraph(Graph):
    """A graph whose ``__call__`` runs its compiled executable (for other primitives' impls)."""

    def __init__(self, graph):
        super().__init__(graph.constvars, graph.invars, graph.outvars, graph.eqns, graph.consts)
        self.in_tree, self.out_tree = graph.in_tree, graph.out_tree
        self.executable = _compiled(graph)

    def __call__(self, *args):
        return self.executable(*args)


def subgraph_step(eqn):
    """An unknown primitive carrying graphs: its impl, with the graphs compiled."""

    def conv(v):
        if isinstance(v, Graph):
            return CompiledGraph(v)
        if isinstance(v, (tuple, list)) and any(isinstance(g, Graph) for g in v):
            return type(v)(conv(g) for g in v)
        return v

    return impl_step(eqn, params={k: conv(v) for k, v in eqn.params.items()})
