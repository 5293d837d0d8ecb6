"""The executable: a flat plan of steps, its buffers, and the Python driver that runs it.

Each :class:`Step` is one call: a compiled kernel, a NumPy/BLAS function
writing into a preallocated output (``np.matmul(a, b, out=buf)``), a free
view (reshape, transpose ...), the primitive's ``impl`` as a fallback, or a
control-flow loop around compiled sub-graphs.

Memory planning walks the plan once: every output that a step writes into is
given a buffer, either one whose values are all dead (same dtype and shape) or
a new one; an elementwise kernel may write over an input that dies at that
step. Views keep the buffer they look into alive.

Everything that can be decided before a call is decided at compile time and
written into the source of one Python function, the *driver*: one line per
step, buffers allocated with precomputed shapes, constants and kernels bound as
globals. So a call costs little more than its kernel calls: no dictionary per
step, no shape arithmetic. Outputs are returned as read-only ``fnflow.Array``.
"""

from __future__ import annotations

import numpy as np

from fnflow.core.array import Array, as_output
from fnflow.core.graph import Literal, Var


class Step:
    """One call of the plan.

    ``kind``: "kernel", "blas", "numpy", "view", "impl" or "control".
    ``emit(ins, outs, env)`` returns the driver lines, given the names of the
    inputs and outputs and an :class:`Env` to bind globals in.
    ``alloc``: per output, whether the driver allocates it before the step
    (the step writes into it). ``aliases``: whether outputs may share memory
    with inputs (views, impl). ``contiguous``: whether the outputs are
    C-contiguous arrays of their dtype. ``inplace``: input positions an output
    may overwrite (read once, at the index it is written).
    """

    def __init__(self, kind, name, inputs, outputs, emit, alloc=None, aliases=False, contiguous=True,
                 inplace=(), info=None):
        self.kind, self.name = kind, name
        self.inputs, self.outputs = list(inputs), list(outputs)
        self.emit = emit
        self.alloc = list(alloc) if alloc is not None else [kind in ("kernel", "blas", "numpy")] * len(outputs)
        self.aliases = aliases
        self.contiguous = contiguous
        self.inplace = tuple(inplace)
        self.info = info  # e.g. the kernel source

    def __repr__(self):
        return f"Step({self.kind}, {self.name})"


class Env:
    """The globals of the driver being generated."""

    def __init__(self):
        self.values = {"np": np, "_Array": Array, "_asarray": np.asarray, "_asany": np.asanyarray,
                       "_empty": np.empty}
        self._ids = {}

    def bind(self, obj, prefix="_g"):
        key = id(obj)
        name = self._ids.get(key)
        if name is None:
            name = f"{prefix}{len(self.values)}"
            self.values[name] = obj
            self._ids[key] = name
        return name


def _bad_input(i, x, shape, dtype):
    raise TypeError(f"compiled graph: input {i} should be {np.dtype(dtype).name}{list(shape)}, "
                    f"got {np.asarray(x).dtype.name}{list(np.shape(x))}")


class Executable:
    """A compiled graph: call it with the flat input arrays, get the list of outputs."""

    def __init__(self, graph, steps, run, source, num_buffers, readonly_outputs):
        self.graph = graph
        self.plan = steps
        self.source = source  # the driver's Python source
        self.num_buffers = num_buffers  # buffers allocated per call
        self._run = run
        self.readonly_outputs = readonly_outputs

    def __call__(self, *args):
        return self._run(*args)

    @property
    def kernels(self):
        return [s for s in self.plan if s.kind == "kernel"]

    @property
    def num_intermediates(self):
        """Values computed by the plan's steps (the count buffer reuse is compared with)."""
        return sum(len(s.outputs) for s in self.plan)

    def __str__(self):
        lines = [f"Executable: {len(self.plan)} steps, {self.num_buffers} buffers"]
        for i, s in enumerate(self.plan):
            ins = ", ".join(a.aval.str_short() for a in s.inputs)
            outs = ", ".join(a.aval.str_short() for a in s.outputs)
            lines.append(f"  {i:3d} {s.kind:8s} {s.name}({ins}) -> {outs}")
        return "\n".join(lines)

    __repr__ = __str__


def build(graph, steps, readonly_outputs=True):
    """Plan the buffers of ``steps`` and generate the driver; returns an :class:`Executable`."""
    env = Env()
    names = {}  # Var -> expression in the driver
    lines = []
    n_in = len(graph.invars)
    params = [f"x{i}" for i in range(n_in)]

    # -- uses: the last step reading each var (graph outputs live to the end)
    end = len(steps)
    last_use = {}
    for i, s in enumerate(steps):
        for v in s.inputs:
            if isinstance(v, Var):
                last_use[v] = i
    for v in graph.outvars:
        if isinstance(v, Var):
            last_use[v] = end + 1
    kernel_read = set()
    for s in steps:
        if s.kind == "kernel":
            kernel_read.update(v for v in s.inputs if isinstance(v, Var))

    # -- inputs: canonical arrays (dtype, C order), shapes checked
    for i, v in enumerate(graph.invars):
        if v not in last_use:
            continue
        a = v.aval
        p = params[i]
        dt = env.bind(a.dtype, "_dt")
        lines.append(f"    {p} = _asany({p}, {dt}, 'C')")
        lines.append(f"    if {p}.shape != {a.shape!r}: _bad({i}, {p}, {a.shape!r}, {dt})")
        names[v] = p
    env.values["_bad"] = _bad_input
    for v, c in zip(graph.constvars, graph.consts):
        names[v] = env.bind(np.ascontiguousarray(np.asarray(c, v.aval.dtype)), "_c")
    contiguous = set(graph.invars) | set(graph.constvars)

    def name_of(v):
        if isinstance(v, Literal):
            return env.bind(np.asarray(v.val, v.aval.dtype), "_l")
        return names[v]

    # -- memory planning
    buffers = []  # [dtype, shape, name]
    roots = {}  # Var -> set of buffer ids it may look into
    refs = {}  # buffer id -> live vars using it
    pool = {}  # (dtype, shape) -> free buffer ids
    for i, s in enumerate(steps):
        ins = [name_of(v) for v in s.inputs]
        # kernels read C-contiguous arrays of their dtype
        if s.kind == "kernel":
            for j, v in enumerate(s.inputs):
                if isinstance(v, Var) and v not in contiguous:
                    canon = f"t{i}_{j}"
                    lines.append(f"    {canon} = _asarray({ins[j]}, {env.bind(v.aval.dtype, '_dt')}, 'C')")
                    ins[j] = canon
        dying = {v for v in s.inputs if isinstance(v, Var) and last_use.get(v) == i}
        outs = []
        taken = set()
        for k, v in enumerate(s.outputs):
            if not s.alloc[k]:
                outs.append(f"v{i}_{k}")
                continue
            key = (v.aval.dtype, v.aval.shape)
            bid = None
            for j in s.inplace:  # overwrite an input that dies here
                u = s.inputs[j]
                if (isinstance(u, Var) and u in dying and (u.aval.dtype, u.aval.shape) == key
                        and len(roots.get(u, ())) == 1):
                    (b,) = roots[u]
                    if refs[b] == {u} and b not in taken and buffers[b] == key:
                        bid = b
                        break
            if bid is None and pool.get(key):
                bid = pool[key].pop()
            if bid is None:
                bid = len(buffers)
                buffers.append(key)
                lines.append(f"    b{bid} = _empty({v.aval.shape!r}, {env.bind(v.aval.dtype, '_dt')})")
            taken.add(bid)
            outs.append(f"b{bid}")
        lines.extend("    " + ln for ln in s.emit(ins, outs, env))
        for k, v in enumerate(s.outputs):
            names[v] = outs[k]
            if s.alloc[k]:
                roots[v] = {int(outs[k][1:])}
                contiguous.add(v)
            else:
                roots[v] = set().union(*(roots.get(u, set()) for u in s.inputs if isinstance(u, Var))) \
                    if s.aliases else set()
                if s.contiguous is True or (s.contiguous == "reshape" and s.inputs[0] in contiguous):
                    contiguous.add(v)
            for b in roots[v]:
                refs.setdefault(b, set()).add(v)
        # release the buffers whose vars are all dead
        dead = dying | {v for v in s.outputs if v not in last_use}
        for v in dead:
            for b in roots.get(v, ()):
                refs[b].discard(v)
                if not refs[b]:
                    pool.setdefault(buffers[b], []).append(b)

    # -- outputs
    rets = []
    for k, v in enumerate(graph.outvars):
        if isinstance(v, Literal) or v in graph.constvars:
            val = v.val if isinstance(v, Literal) else graph.consts[graph.constvars.index(v)]
            rets.append(env.bind(as_output(np.array(val, v.aval.dtype)), "_r"))
        elif readonly_outputs:
            lines.append(f"    r{k} = {names[v]}.view(_Array)")
            lines.append(f"    r{k}.setflags(False)")
            rets.append(f"r{k}")
        else:
            rets.append(names[v])
    lines.append(f"    return [{', '.join(rets)}]")
    source = f"def run({', '.join(params)}):\n" + "\n".join(lines) + "\n"
    code = compile(source, "<fnflow executable>", "exec")
    exec(code, env.values)
    run = env.values["run"]
    # a class of its own whose __call__ is the driver itself: no bound-method hop per call
    cls = type("Executable", (Executable,), {"__call__": staticmethod(run)})
    return cls(graph, steps, run, source, len(buffers), readonly_outputs)
