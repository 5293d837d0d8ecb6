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

import functools
import sys
import threading

import numpy as np

from fnflow.core.array import Array, as_output
from fnflow.core.graph import Literal, Var

# graph outputs at least this big are recycled: a new buffer costs page faults on every call
RECYCLE_BYTES = 1 << 16


class _Alloc:
    """Placeholder line: buffer ``bid`` is allocated here."""

    def __init__(self, bid):
        self.bid = bid


def _alloc_all(specs):
    return [np.empty(shape, dtype) for shape, dtype in specs]


class _Recycler:
    """New output buffers of one shape and dtype, reusing those the caller no longer references.

    An output handed to the caller (as a read-only view) stays referenced by
    this list; once the caller has dropped every view of it, its reference count
    is back to the list's own and it can be written again: fresh memory costs a
    page fault per 4 KiB, which for large outputs costs more than the kernel.
    """

    KEEP = 4

    def __init__(self, shape, dtype):
        self.shape, self.dtype = shape, dtype
        self.arrays = []
        # checking a count and taking the array must be one step: two threads could otherwise take the same one
        self.lock = threading.Lock()
        probe = [np.empty(0)]
        self.free_count = self._count(probe, 0)  # the count of an array nobody else holds

    @staticmethod
    def _count(arrays, i):
        return sys.getrefcount(arrays[i])

    def __call__(self):
        arrays, count, free = self.arrays, self._count, self.free_count
        with self.lock:
            for i in range(len(arrays)):
                if count(arrays, i) == free:
                    return arrays[i]
            a = np.empty(self.shape, self.dtype)
            if len(arrays) >= self.KEEP:
                arrays.pop(0)
            arrays.append(a)
            return a


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

    def __init__(self, graph, steps, run, source, num_buffers, readonly_outputs, profile_source=None):
        self.graph = graph
        self._profile_source = profile_source
        self._profiled_run = None
        self.plan = steps
        self.source = source  # the driver's Python source
        self.num_buffers = num_buffers  # buffers allocated per call
        self._run = run
        self.readonly_outputs = readonly_outputs

    def __call__(self, *args):
        return self._run(*args)

    def profile(self, *args, repeat=20, clock=None):
        """Median seconds spent in each step over ``repeat`` calls (buffer allocation included).

        Runs an instrumented copy of the driver; returns ``[(step, seconds), ...]`` in plan order
        plus ``(None, seconds)`` for the rest (input checks, outputs). ``clock`` defaults to
        ``time.perf_counter``; ``time.thread_time`` (CPU time of this thread) is steadier on a busy
        machine when BLAS runs single-threaded.
        """
        import statistics
        import time

        run, times = self._profiled()
        run.__globals__["_perf"] = clock or time.perf_counter
        samples = []
        for _ in range(repeat):
            times[:] = [0.0] * len(times)
            run(*args)
            samples.append(list(times))
        med = [statistics.median(col) for col in zip(*samples)]
        return [(s, t) for s, t in zip(self.plan, med)] + [(None, med[-1])]

    def profile_report(self, *args, repeat=20, top=None, clock=None):
        """The plan with the median time of each step, slowest first (a string)."""
        rows = self.profile(*args, repeat=repeat, clock=clock)
        total = sum(t for _, t in rows)
        order = sorted(range(len(rows)), key=lambda i: -rows[i][1])[:top]
        lines = [f"total {total * 1e3:.3f} ms"]
        for i in order:
            s, t = rows[i]
            what = "(other)" if s is None else f"{s.kind:8s} {s.name}(" + ", ".join(
                a.aval.str_short() for a in s.inputs) + ")"
            lines.append(f"  {t * 1e3:8.3f} ms {100 * t / total:5.1f}%  #{i:<3d} {what}")
        return "\n".join(lines)

    def _profiled(self):
        if self._profiled_run is None:
            src, env = self._profile_source
            env = dict(env)
            times = [0.0] * (len(self.plan) + 1)
            env["_T"], env["_perf"] = times, __import__("time").perf_counter
            exec(compile(src, "<fnflow executable (profiled)>", "exec"), env)
            self._profiled_run = (env["run"], times)
        return self._profiled_run

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


def build(graph, steps, readonly_outputs=True, out_params=False):
    """Plan the buffers of ``steps`` and generate the driver; returns an :class:`Executable`.

    ``out_params``: the driver also takes one optional argument per output, after
    the inputs: an array (C-contiguous, the output's dtype and shape) to compute
    that output into, instead of a new one. Only outputs a step writes into a
    buffer of their own use it (``Executable.direct_outputs``); the others ignore
    it. Loops (``scan``) pass their stacked outputs' rows this way.
    """
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
    other_read = {v for s in steps if s.kind != "kernel" for v in s.inputs if isinstance(v, Var)}

    # -- inputs: canonical arrays (dtype, C order), shapes checked
    for i, v in enumerate(graph.invars):
        if v not in last_use:
            continue
        a = v.aval
        p = params[i]
        dt = env.bind(a.dtype, "_dt")
        # NumPy calls (BLAS, loops) get a plain ndarray: an fnflow.Array would go through its __array_ufunc__ each time
        lines.append(f"    {p} = {'_asarray' if v in other_read else '_asany'}({p}, {dt}, 'C')")
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
    marks = [(len(lines), -1)]  # (line count after a step, its index): for the profiled driver
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
                lines.append(_Alloc(bid))  # decided below: kept across calls, recycled, or fresh
            taken.add(bid)
            outs.append(f"b{bid}")
        lines.extend("    " + ln for ln in s.emit(ins, outs, env))
        marks.append((len(lines), i))
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

    # -- buffers: those an output may look into are new per call (recycled once the caller drops them);
    # the others are allocated once and kept across calls (a set per concurrent call)
    escaping = set()
    for v in graph.outvars:
        if isinstance(v, Var):
            escaping |= roots.get(v, set())
    kept = [b for b in range(len(buffers)) if b not in escaping]
    # outputs a caller may pass a buffer for (``out_params``): those computed into a buffer of their own
    direct = {}  # buffer id -> output position
    if out_params:
        for k, v in enumerate(graph.outvars):
            if isinstance(v, Var) and v.aval.shape and v not in graph.invars and names.get(v, "").startswith("b"):
                bid = int(names[v][1:])
                if bid not in direct and buffers[bid] == (v.aval.dtype, v.aval.shape):
                    direct[bid] = k
    for j, ln in enumerate(lines):
        if isinstance(ln, _Alloc):
            dtype, shape = buffers[ln.bid]
            if ln.bid not in escaping:
                lines[j] = None
                continue
            if int(np.prod(shape, dtype=np.int64)) * dtype.itemsize >= RECYCLE_BYTES:
                new = f"{env.bind(_Recycler(shape, dtype), '_out')}()"
            else:
                new = f"_empty({shape!r}, {env.bind(dtype, '_dt')})"
            if ln.bid in direct:
                o = f"o{direct[ln.bid]}"
                new = f"{o} if {o} is not None else {new}"
            lines[j] = f"    b{ln.bid} = {new}"
    if kept:
        allocs = [(buffers[b][1], buffers[b][0]) for b in kept]
        env.values["_pool"], env.values["_alloc"] = [], functools.partial(_alloc_all, allocs)
        names_kept = ", ".join(f"b{b}" for b in kept) + ","
        first = marks[0][0]
        # pop-or-allocate as one step: another thread may take the last set between a test and a pop
        take = ["    try:", "        _bufs = _pool.pop()", "    except IndexError:", "        _bufs = _alloc()",
                f"    {names_kept} = _bufs"]
        lines[first:first] = take
        marks = [(end + len(take) if k >= 0 else end, k) for end, k in marks]
    # drop the placeholders, keeping the step marks in line
    before = [0]  # before[j]: lines kept among the first j
    for ln in lines:
        before.append(before[-1] + (ln is not None))
    marks = [(before[end], k) for end, k in marks]
    lines = [ln for ln in lines if ln is not None]

    # -- outputs
    rets = []
    if kept:
        lines.append("    _pool.append(_bufs)")
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
    ret = f"    return [{', '.join(rets)}]"
    if out_params:
        params = params + [f"o{k}=None" for k in range(len(graph.outvars))]
    head = f"def run({', '.join(params)}):\n"
    source = head + "\n".join(lines + [ret]) + "\n"
    code = compile(source, "<fnflow executable>", "exec")
    exec(code, env.values)
    run = env.values["run"]
    # the same driver with a clock read after each step (Executable.profile)
    tick = "    _t1 = _perf(); _T[{}] += _t1 - _t0; _t0 = _t1"
    prof, start = ["    _t0 = _perf()"], 0
    for end, i in marks:
        prof += lines[start:end] + [tick.format(i)]
        start = end
    prof += lines[start:] + [tick.format(-1), ret]
    profile_source = (head + "\n".join(prof) + "\n", {k: v for k, v in env.values.items() if k != "run"})
    # a class of its own whose __call__ is the driver itself: no bound-method hop per call
    cls = type("Executable", (Executable,), {"__call__": staticmethod(run)})
    exe = cls(graph, steps, run, source, len(buffers), readonly_outputs, profile_source)
    exe.direct_outputs = frozenset(direct.values())
    return exe
