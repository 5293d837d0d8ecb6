"""Source generation: one numba kernel per fused group.

A kernel loops over the group's iteration space (the shape of its elementwise
values, or of the reduced operand), loads every input at the broadcast index,
computes the chain of scalar expressions and writes into preallocated outputs::

    def kernel(a0, s0, s1, o0):          # arrays a*, scalars s*, outputs o*
        n0 = a0.shape[0]
        acc = np.float64(0)
        for i0 in range(n0):
            v0 = a0[i0]
            v1 = np.float32(np.tanh(v0))
            v2 = np.float32(v1 * s0)
            v3 = np.float32(v2 + s1)
            acc += v3
        o0.reshape((1,))[0] = np.float32(acc)

Kernels do not depend on the concrete sizes, only on ranks, dtypes and which
axes broadcast, so the same expression is compiled once and shared by every
graph (see ``cache.py``). Axes of size one are dropped and neighbouring axes
that every operand treats alike are collapsed into one loop, so a contiguous
elementwise chain is a single flat loop. Groups that read an operand through a
transpose, slice or reversal keep one loop per axis and index it directly.

Each value is computed at the outermost loop depth where its operands are
known (loop-invariant loads and scalars are hoisted), every result is cast
back to its dtype (numba would widen int32 arithmetic to int64), and the
kernels use NumPy's error model (x / 0 is inf, not an exception).
"""

from __future__ import annotations

import numpy as np

# ------------------------------------------------------------ expression table


def _np(fn):
    return lambda a, ins, out: f"np.{fn}({', '.join(a)})"


def _op(sym):
    return lambda a, ins, out: f"({a[0]} {sym} {a[1]})"


def _div(a, ins, out):
    if ins[0].kind in "iu":  # round toward zero, as the eager int division
        x, y = a
        return f"({x} // {y} + (({x} % {y} != 0) & (({x} < 0) != ({y} < 0))))"
    return f"({a[0]} / {a[1]})"


def _rem(a, ins, out):
    if ins[0].kind in "iu":  # numba's np.fmod is wrong for integer scalars: x - y * trunc(x / y)
        return f"({a[0]} - {a[1]} * {_div(a, ins, out)})"
    return f"np.fmod({a[0]}, {a[1]})"


def _not(a, ins, out):
    return f"(not {a[0]})" if ins[0] == np.bool_ else f"(~{a[0]})"


def _logistic(a, ins, out):
    if out == np.float32:
        return f"vm.logistic_f32({a[0]})"
    # branch-free (a branch per element keeps the loop from vectorizing); exp(-x) overflowing to
    # inf gives exactly 0, and 1 + exp(-x) never cancels, so no NaN and no loss for any x
    one = f"np.{out.name}(1)"
    return f"({one} / ({one} + np.exp(-{a[0]})))"


def _vec32(fn):
    """float32: the vectorizable version from ``vecmath`` (numba calls libm per element otherwise)."""
    return lambda a, ins, out: f"vm.{fn}_f32({a[0]})" if out == np.float32 else f"np.{fn}({a[0]})"


def _convert(a, ins, out, **_):
    if out == np.bool_:
        return f"({a[0]} != 0)"
    if ins[0].kind == "c" and out.kind != "c":
        return f"{a[0]}.real"
    return a[0]


ELEMENTWISE = {
    "neg": lambda a, ins, out: f"(-{a[0]})",
    "sign": _np("sign"), "floor": _np("floor"), "ceil": _np("ceil"), "round": _np("rint"),
    "exp": _vec32("exp"), "log": _np("log"), "log1p": _np("log1p"), "expm1": _np("expm1"),
    "sqrt": _np("sqrt"), "cbrt": _np("cbrt"), "sin": _np("sin"), "cos": _np("cos"), "tan": _np("tan"),
    "asin": _np("arcsin"), "acos": _np("arccos"), "atan": _np("arctan"), "sinh": _np("sinh"),
    "cosh": _np("cosh"), "tanh": _vec32("tanh"), "asinh": _np("arcsinh"), "acosh": _np("arccosh"),
    "atanh": _np("arctanh"), "abs": _np("abs"), "logistic": _logistic,
    "erf": lambda a, ins, out: f"math.erf({a[0]})",
    "add": _op("+"), "add_any": _op("+"), "sub": _op("-"), "mul": _op("*"), "div": _div,
    "pow": _np("power"), "max": _np("maximum"), "min": _np("minimum"), "atan2": _np("arctan2"),
    "rem": _rem,
    "eq": _op("=="), "ne": _op("!="), "lt": _op("<"), "le": _op("<="), "gt": _op(">"), "ge": _op(">="),
    "and": _op("&"), "or": _op("|"), "xor": _op("^"), "shift_left": _op("<<"), "shift_right": _op(">>"),
    "not": _not,
    "select": lambda a, ins, out: f"({a[1]} if {a[0]} else {a[2]})",
    "convert_element_type": _convert,
    "stop_gradient": lambda a, ins, out: a[0],
}
# ops whose result is a Python/numba bool already when the output dtype is bool
_NATURAL_BOOL = {"eq", "ne", "lt", "le", "gt", "ge", "and", "or", "xor", "not", "select", "convert_element_type",
                 "stop_gradient"}
# erf only exists for real floats in numba's math module
_REAL_ONLY = {"erf", "logistic", "floor", "ceil", "round", "cbrt", "atan2", "rem", "max", "min", "sign"}

# reducer -> (combine template, identity for (float, int, bool))
REDUCERS = {
    "reduce_sum": ("{acc} + {v}", (0, 0, False)),
    "reduce_prod": ("{acc} * {v}", (1, 1, True)),
    "reduce_max": ("np.maximum({acc}, {v})", ("-np.inf", "min", False)),
    "reduce_min": ("np.minimum({acc}, {v})", ("np.inf", "max", True)),
    "reduce_and": ("({acc} and {v})", (None, None, True)),
    "reduce_or": ("({acc} or {v})", (None, None, False)),
}

# dtypes numba computes with (no float16: numba has no arithmetic for it)
SUPPORTED_DTYPES = frozenset(np.dtype(d) for d in (
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
    np.float32, np.float64, np.complex64, np.complex128))


def supports(eqn) -> bool:
    """Whether codegen can emit this equation inside a kernel."""
    name = eqn.prim.name
    dts = [v.aval.dtype for v in list(eqn.invars) + list(eqn.outvars)]
    if any(d not in SUPPORTED_DTYPES for d in dts):
        return False
    if name in _REAL_ONLY and any(d.kind == "c" for d in dts):
        return False
    if name in REDUCERS:
        return eqn.invars[0].aval.dtype.kind != "c" or name in ("reduce_sum", "reduce_prod")
    return name in ELEMENTWISE or load_map(eqn) is not None


# ------------------------------------------------------------- index maps
#
# How a group operand is read, one entry per axis of the operand:
#   ("c", k)           the constant index k (a broadcast axis of size one, or x[k])
#   ("a", d, a, b)     the index a + b * i_d, with i_d the loop over iteration axis d
# Transposes, slices, reversals, broadcasts and size-one reshapes are all such maps,
# and so is any chain of them (see ``compose``).


def broadcast_map(shape, out_shape):
    """NumPy broadcasting: right-aligned axes, size-1 axes broadcast."""
    off = len(out_shape) - len(shape)
    return tuple(("c", 0) if s == 1 and out_shape[off + j] != 1 else ("a", off + j, 0, 1)
                 for j, s in enumerate(shape))


def load_map(eqn):
    """The index map of a data-movement equation that a kernel can read through, else None."""
    name, p = eqn.prim.name, eqn.params
    if not eqn.invars or eqn.prim.multiple_results:
        return None
    x, out = eqn.invars[0].aval, eqn.outvars[0].aval
    if name == "strided_view":
        return p["index_map"]
    if name == "broadcast_in_dim":
        return tuple(("c", 0) if s == 1 and out.shape[d] != 1 else ("a", d, 0, 1)
                     for s, d in zip(x.shape, p["broadcast_dimensions"]))
    if name == "reshape":
        # only reshapes that add or drop axes of size one
        src = [(j, s) for j, s in enumerate(x.shape) if s != 1]
        dst = [(d, s) for d, s in enumerate(out.shape) if s != 1]
        if [s for _, s in src] != [s for _, s in dst]:
            return None
        where = {j: d for (j, _), (d, _) in zip(src, dst)}
        return tuple(("a", where[j], 0, 1) if j in where else ("c", 0) for j in range(x.ndim))
    if name == "transpose":
        perm = p["permutation"]
        inv = [0] * len(perm)
        for d, j in enumerate(perm):
            inv[j] = d
        return tuple(("a", inv[j], 0, 1) for j in range(x.ndim))
    if name == "slice":
        st, strd = p["start_indices"], p["strides"] or (1,) * x.ndim
        return tuple(("a", d, a, b) for d, (a, b) in enumerate(zip(st, strd)))
    if name == "rev":
        dims = set(p["dimensions"])
        return tuple(("a", d, x.shape[d] - 1, -1) if d in dims else ("a", d, 0, 1) for d in range(x.ndim))
    return None


def compose(inner, outer):
    """The map of ``outer(inner(x))``: ``inner`` reads x from the middle array, ``outer`` the middle one."""
    out = []
    for e in inner:
        if e[0] == "c":
            out.append(e)
            continue
        _, m, a, b = e
        o = outer[m]
        if o[0] == "c":
            out.append(("c", a + b * o[1]))
        else:
            out.append(("a", o[1], a + b * o[2], b * o[3]))
    return tuple(out)


def _plain(m, shape, out_shape):
    """Whether every axis is read whole in order (or broadcast): then axes can be collapsed."""
    ds = []
    for s, e in zip(shape, m):
        if e[0] == "c":
            if s != 1:
                return False
        elif e[2:] != (0, 1) or s != out_shape[e[1]]:
            return False
        else:
            ds.append(e[1])
    return ds == sorted(ds)


# ------------------------------------------------------------- kernel spec


class KernelSource:
    """A generated kernel: its source, how to call it, and its numba signature."""

    def __init__(self, name, source, args, sig, description):
        self.name = name  # a readable name, e.g. "tanh_mul_add_reduce_sum"
        self.source = source
        self.args = args  # ("in", value) | ("out", var) | ("size", int) in call order
        self.sig = sig  # (("array", dtype, ndim) | ("scalar", dtype) | ("size",)) per argument
        self.description = description


def _cast(expr, dt):
    if dt == np.bool_:
        return f"({expr} != 0)"
    return f"np.{dt.name}({expr})"


def _init_value(reducer, dt):
    ident = REDUCERS[reducer][1]
    if dt == np.bool_:
        return repr(bool(ident[2]))
    if dt.kind in "iu":
        v = ident[1]
        if v == "min":
            v = int(np.iinfo(dt).min)
        elif v == "max":
            v = int(np.iinfo(dt).max)
        return f"np.{dt.name}({v})"
    return f"np.{dt.name}({ident[0]})"


def generate(members, inputs, outputs, shape, reduce_eqn=None, alias=None):
    """Source of the kernel of a fused group.

    ``members``: the group's equations in order (elementwise ops, loads, and an
    optional final reduction ``reduce_eqn``); ``inputs``: the values read from
    outside the group (Var or Literal), in order; ``outputs``: the vars the
    group must write; ``shape``: the iteration shape. ``alias``: {output
    position: input position} for outputs written over an input of the same
    shape (in place): the kernel writes through the very index expression it
    reads the input with, so LLVM sees one array and still vectorizes the loop
    (two distinct arguments that alias make it fall back to scalar code).
    """
    alias = dict(alias or {})
    from fnflow.core.graph import Literal

    n = len(shape)
    red_axes = tuple(reduce_eqn.params["axes"]) if reduce_eqn is not None else ()
    red_out = reduce_eqn.outvars[0] if reduce_eqn is not None else None
    member_outs = {v for e in members for v in e.outvars}

    # -- operands: external arrays read by a compute member (broadcast map) or a load member
    in_index = {}
    args, sig = [], []
    scalars = {}
    for v in inputs:
        k = len(args)
        in_index[id(v)] = k
        if isinstance(v, Literal):
            scalars[id(v)] = f"s{k}"
            args.append(("in", v))
            sig.append(("scalar", v.aval.dtype))
        else:
            args.append(("in", v))
            sig.append(("array", v.aval.dtype, v.aval.ndim))
    load_of = {}  # var produced by a load member -> (input arg index, map)
    for e in members:
        m = load_map(e) if e.prim.name not in ELEMENTWISE and e is not reduce_eqn else None
        if m is not None:
            load_of[e.outvars[0]] = (in_index[id(e.invars[0])], m, e.invars[0])
    # reads of plain inputs by compute members: NumPy broadcasting against the member's shape
    reads = {}  # (arg index, map) -> load id
    for e in members:
        if e.outvars[0] in load_of:
            continue
        ref = e.invars[0].aval.shape if e is reduce_eqn else e.outvars[0].aval.shape
        for v in e.invars:
            if isinstance(v, Literal) or v in member_outs:
                continue
            reads.setdefault((in_index[id(v)], broadcast_map(v.aval.shape, ref)), None)
    for var, (k, m, src) in load_of.items():
        if isinstance(src, Literal):
            continue
        reads.setdefault((k, m), None)
    operands = list(reads)  # (arg index, map)

    full_outs = [v for v in outputs if v is not red_out]
    collapsed = all(_plain(m, args[k][1].aval.shape, shape) for k, m in operands)

    # -- iteration axes: drop size-1 axes and merge neighbours that every operand treats alike
    if collapsed:
        keep = [d for d in range(n) if shape[d] != 1]

        def status(m, d):
            return any(e[0] == "a" and e[1] == d for e in m)

        def sig_of(d):
            return (tuple(status(m, d) for _, m in operands), d in red_axes)

        groups = []
        for d in keep:
            if groups and sig_of(groups[-1][-1]) == sig_of(d):
                groups[-1].append(d)
            else:
                groups.append([d])
    else:
        groups = [[d] for d in range(n)]
    if not groups:
        groups = [[]]  # a single trip: everything is a scalar
    m_loops = len(groups)
    m_loops_hint = m_loops if any(groups) else 0
    loop_red = [bool(g) and g[0] in red_axes for g in groups]
    kept_loops = [k for k in range(m_loops) if not loop_red[k]]
    trailing = all(not loop_red[k] for k in range(len(kept_loops))) and kept_loops == list(range(len(kept_loops)))

    lines = []
    names = {}

    def arg_name(k):
        return scalars.get(id(args[k][1]), f"a{k}")

    # -- views of the operands with one axis per loop (collapsed mode) and their index expressions
    size_src = {}  # loop -> expression of its trip count
    op_index = {}  # (arg index, map) -> index expression string
    op_depth = {}
    for j, (k, m) in enumerate(operands):
        a = arg_name(k)
        xshape = args[k][1].aval.shape
        if collapsed:
            dims, used = [], []
            for li, g in enumerate(groups):
                axes = [ax for ax, e in enumerate(m) if e[0] == "a" and e[1] in g]
                if axes:
                    dims.append(" * ".join(f"{a}.shape[{ax}]" for ax in axes))
                    used.append(li)
                    size_src.setdefault(li, dims[-1])
                else:
                    dims.append("1")
            name = f"x{j}"
            lines.append(f"    {name} = {a}.reshape(({', '.join(dims)},))")
            idx = ", ".join(f"i{li}" if li in used else "0" for li in range(len(groups)))
            op_index[(k, m)] = f"{name}[{idx}]"
            op_depth[(k, m)] = max(used) + 1 if used else 0
        else:
            parts, depth = [], 0
            for ax, e in enumerate(m):
                if e[0] == "c":
                    parts.append(str(e[1]))
                    continue
                _, d, off, step = e
                depth = max(depth, d + 1)
                if (off, step) == (0, 1):
                    parts.append(f"i{d}")
                    if xshape[ax] == shape[d]:
                        size_src.setdefault(d, f"{a}.shape[{ax}]")
                else:
                    parts.append(f"({off} + {step} * i{d})" if step != 1 else f"({off} + i{d})")
            op_index[(k, m)] = f"{a}[{', '.join(parts)}]" if xshape else f"{a}[()]"
            op_depth[(k, m)] = depth
    # outputs: full outputs have the iteration shape, the reduced one the kept axes
    out_views = {}
    for pos, v in enumerate(outputs):
        if pos in alias and v is not red_out:
            src = inputs[alias[pos]]
            key = (in_index[id(src)], broadcast_map(src.aval.shape, shape))
            if key in op_index and op_depth[key] == m_loops_hint:
                out_views[v] = op_index[key]
                continue
        k = len(args)
        args.append(("out", v))
        sig.append(("array", v.aval.dtype, v.aval.ndim))
        o = f"o{k}"
        if v is red_out:
            kept_axes = [d for d in range(n) if d not in red_axes]
            pos = {d: i for i, d in enumerate(kept_axes)}
            if collapsed:
                dims = []
                for li in kept_loops:
                    dims.append(" * ".join(f"{o}.shape[{pos[d]}]" for d in groups[li]) or "1")
                    size_src.setdefault(li, dims[-1])
                lines.append(f"    r{k} = {o}.reshape(({', '.join(dims) or '1'},))")
                idx = ", ".join(f"i{li}" for li in kept_loops) or "0"
            else:
                for d in kept_axes:
                    size_src.setdefault(d, f"{o}.shape[{pos[d]}]")
                lines.append(f"    r{k} = {o}.reshape(({', '.join(f'{o}.shape[{i}]' for i in range(len(kept_axes)))},"
                             f"))" if kept_axes else f"    r{k} = {o}.reshape((1,))")
                idx = ", ".join(f"i{d}" for d in kept_axes) or "0"
            out_views[v] = f"r{k}[{idx}]"
        else:
            if collapsed:
                dims = []
                for li, g in enumerate(groups):
                    dims.append(" * ".join(f"{o}.shape[{d}]" for d in g) or "1")
                    size_src.setdefault(li, dims[-1])
                lines.append(f"    r{k} = {o}.reshape(({', '.join(dims)},))")
                out_views[v] = f"r{k}[{', '.join(f'i{li}' for li in range(len(groups)))}]"
            else:
                for d in range(n):
                    size_src.setdefault(d, f"{o}.shape[{d}]")
                if n:
                    out_views[v] = f"{o}[{', '.join(f'i{d}' for d in range(n))}]"
                else:
                    lines.append(f"    r{k} = {o}.reshape((1,))")
                    out_views[v] = f"r{k}[0]"
    # trip counts nobody can tell: passed as arguments
    for li in range(m_loops):
        if li not in size_src and not groups[li]:
            size_src[li] = "1"
        if li not in size_src:
            k = len(args)
            size = int(np.prod([shape[d] for d in groups[li]])) if collapsed else shape[li]
            args.append(("size", size))
            sig.append(("size",))
            size_src[li] = f"n{k}"
        lines.append(f"    n_{li} = {size_src[li]}")

    # -- the scalar program
    body = []  # (depth, line)
    depth_of = {}
    counter = [0]

    def new_name():
        counter[0] += 1
        return f"v{counter[0]}"

    def value_of(v, ref_shape):
        """Name and depth of an operand of a compute member."""
        if isinstance(v, Literal):
            return scalars[id(v)], 0
        if v in names:
            return names[v], depth_of[v]
        key = (in_index[id(v)], broadcast_map(v.aval.shape, ref_shape))
        return _load(key)

    loaded = {}

    def _load(key):
        if key not in loaded:
            nm = new_name()
            body.append((op_depth[key], f"{nm} = {op_index[key]}"))
            loaded[key] = (nm, op_depth[key])
        return loaded[key]

    for e in members:
        if e is reduce_eqn:
            break
        out = e.outvars[0]
        if out in load_of:
            k, m, src = load_of[out]
            if isinstance(src, Literal):
                names[out], depth_of[out] = scalars[id(src)], 0
            else:
                names[out], depth_of[out] = _load((k, m))
            continue
        vals = [value_of(v, out.aval.shape) for v in e.invars]
        dt = out.aval.dtype
        expr = ELEMENTWISE[e.prim.name]([a for a, _ in vals], [v.aval.dtype for v in e.invars], dt)
        if not (dt == np.bool_ and e.prim.name in _NATURAL_BOOL):
            expr = _cast(expr, dt)
        nm = new_name()
        d = max([dd for _, dd in vals], default=0)
        body.append((d, f"{nm} = {expr}"))
        names[out], depth_of[out] = nm, d
    red_val = None
    if reduce_eqn is not None:
        red_val = value_of(reduce_eqn.invars[0], reduce_eqn.invars[0].aval.shape)[0]

    # -- emit loops
    rdt = red_out.aval.dtype if red_out is not None else None
    acc_dt = rdt
    if red_out is not None and reduce_eqn.prim.name in ("reduce_sum", "reduce_prod") and rdt.kind == "f" \
            and trailing:
        acc_dt = np.dtype(np.float64)  # accumulate float32 sums in double precision
    src_lines = list(lines)
    if red_out is not None and not trailing:
        src_lines.append(f"    {out_views[red_out].split('[')[0]}.fill({_init_value(reduce_eqn.prim.name, rdt)})")

    def emit(level, ind):
        pad = "    " * ind
        for d, line in body:
            if d == level:
                src_lines.append(pad + line)
        if level == m_loops:
            for v in full_outs:
                src_lines.append(f"{pad}{out_views[v]} = {names[v] if v in names else value_of(v, shape)[0]}")
            if red_out is not None:
                comb = REDUCERS[reduce_eqn.prim.name][0]
                if trailing and len(kept_loops) == m_loops:  # every reduced axis has size one
                    src_lines.append(f"{pad}acc = {_init_value(reduce_eqn.prim.name, acc_dt)}")
                    src_lines.append(f"{pad}{out_views[red_out]} = {_cast(comb.format(acc='acc', v=red_val), rdt)}")
                elif trailing:
                    src_lines.append(f"{pad}acc = {comb.format(acc='acc', v=red_val)}")
                else:
                    target = out_views[red_out]
                    src_lines.append(f"{pad}{target} = {_cast(comb.format(acc=target, v=red_val), rdt)}")
            return
        at_red = red_out is not None and trailing and level == len(kept_loops)
        if at_red:
            src_lines.append(f"{pad}acc = {_init_value(reduce_eqn.prim.name, acc_dt)}")
        src_lines.append(f"{pad}for i{level} in range(n_{level}):")
        emit(level + 1, ind + 1)
        if at_red:
            src_lines.append(f"{pad}{out_views[red_out]} = {_cast('acc', rdt)}")

    emit(0, 1)
    params = []
    for k, (kind, v) in enumerate(args):
        if kind == "in":
            params.append(arg_name(k))
        elif kind == "out":
            params.append(f"o{k}")
        else:
            params.append(f"n{k}")
    header = f"def kernel({', '.join(params)}):"
    name = "_".join(dict.fromkeys(e.prim.name for e in members if e.outvars[0] not in load_of)) or "copy"
    source = "\n".join([header] + src_lines) + "\n"
    return KernelSource(name, source, args, tuple(sig), name)
