"""Random small programs give the same results eagerly and under ``jit``.

Hypothesis draws a :class:`Program`: 1-3 input arrays of small mutually
broadcastable shapes and a DAG of 3-12 ops over them (elementwise math kept in
its domain, broadcasting arithmetic, comparisons and ``where``, reductions,
shape ops, products, ``cumsum``, static slices, integer-array indexing and
``.at[].add``).
The generator tracks an interval that bounds every value, so it only picks an
op whose inputs lie in its domain (with a margin) and whose result stays
moderate. Each program is run eagerly and under ``fnflow.jit`` (values, dtypes,
shapes must agree), and the gradient of a fixed weighted sum of its outputs is
computed eagerly, as ``jit(grad(s))`` and as ``grad(jit(s))``.

A failing example prints the program one op per line, e.g.::

    Program(seed=3)
      v0: float64[2, 3]
      v1: float64[3]
      v2 = tanh(v0)
      v3 = add(v2, v1)
      v4 = sum(v3, axis=(1,), keepdims=True)
      -> v4

which can be pasted back (``Program`` objects are plain data) to reproduce it.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import random

import numpy as np
from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st

import fnflow
import fnflow.nn as fnn
import fnflow.numpy as fnp
from fnflow.core import tree as tu

MAX_SIZE = 48      # elements of any value
MAX_NDIM = 4
BOUND = 1e3        # every floating value stays inside [-BOUND, BOUND]
MARGIN = 0.1       # distance kept from the edge of a domain

# ------------------------------------------------------------------ the ops


def _mono(f):
    """Interval map of a nondecreasing function."""
    return lambda lo, hi: (f(lo), f(hi))


def _square(lo, hi):
    m = max(lo * lo, hi * hi)
    return (0.0 if lo <= 0 <= hi else min(lo * lo, hi * hi)), m


def _abs(lo, hi):
    return (0.0 if lo <= 0 <= hi else min(abs(lo), abs(hi))), max(abs(lo), abs(hi))


def _sigmoid(x):
    return 1 / (1 + math.exp(-x))


# name -> (function, domain predicate on (lo, hi), interval map)
UNARY = {
    "tanh": (fnp.tanh, lambda lo, hi: True, _mono(math.tanh)),
    "sin": (fnp.sin, lambda lo, hi: True, lambda lo, hi: (-1.0, 1.0)),
    "cos": (fnp.cos, lambda lo, hi: True, lambda lo, hi: (-1.0, 1.0)),
    "arctan": (fnp.arctan, lambda lo, hi: True, _mono(math.atan)),
    "negative": (fnp.negative, lambda lo, hi: True, lambda lo, hi: (-hi, -lo)),
    "abs": (fnp.abs, lambda lo, hi: True, _abs),
    "square": (fnp.square, lambda lo, hi: max(-lo, hi) ** 2 <= BOUND, _square),
    "exp": (fnp.exp, lambda lo, hi: hi <= 6, _mono(math.exp)),
    "expm1": (fnp.expm1, lambda lo, hi: hi <= 6, _mono(math.expm1)),
    "sinh": (fnp.sinh, lambda lo, hi: max(-lo, hi) <= 6, _mono(math.sinh)),
    "cosh": (fnp.cosh, lambda lo, hi: max(-lo, hi) <= 6, lambda lo, hi: (1.0, math.cosh(max(-lo, hi)))),
    "log": (fnp.log, lambda lo, hi: lo >= MARGIN, _mono(math.log)),
    "log1p": (fnp.log1p, lambda lo, hi: lo >= -1 + MARGIN, _mono(math.log1p)),
    "sqrt": (fnp.sqrt, lambda lo, hi: lo >= MARGIN, _mono(math.sqrt)),
    "arcsin": (fnp.arcsin, lambda lo, hi: -0.97 <= lo and hi <= 0.97, _mono(math.asin)),
    "reciprocal": (fnp.reciprocal, lambda lo, hi: lo >= MARGIN or hi <= -MARGIN, lambda lo, hi: (1 / hi, 1 / lo)),
    "sigmoid": (fnn.sigmoid, lambda lo, hi: True, _mono(_sigmoid)),
}

_NARROW = {"log", "log1p", "sqrt", "arcsin", "reciprocal"}

BINARY = {
    "add": fnp.add, "subtract": fnp.subtract, "multiply": fnp.multiply, "divide": fnp.divide,
    "maximum": fnp.maximum, "minimum": fnp.minimum,
}
COMPARE = {"greater": fnp.greater, "less": fnp.less, "greater_equal": fnp.greater_equal}
REDUCE = {"sum": fnp.sum, "mean": fnp.mean, "max": fnp.max, "min": fnp.min}


def _slice(x, index):
    return fnp.asarray(x)[tuple(slice(*s) for s in index)]


def _take(x, idx, axis):
    return fnp.asarray(x)[(slice(None),) * axis + (np.array(idx, np.int32),)]


def _at_add(x, y, idx):
    return fnp.asarray(x).at[np.array(idx, np.int32)].add(y)


def _affine(x, scale, shift):
    return x * scale + shift  # Python scalars: weakly typed, keep float32 float32


def _matmul_t(a, b):
    return fnp.matmul(a, fnp.swapaxes(b, -1, -2))


IMPL = {
    **{k: v[0] for k, v in UNARY.items()}, **BINARY, **COMPARE, **REDUCE,
    "affine": _affine, "where": fnp.where,
    "reshape": fnp.reshape, "transpose": fnp.transpose, "slice": _slice, "take": _take, "at_add": _at_add,
    "concatenate": lambda a, b, axis: fnp.concatenate([a, b], axis=axis), "broadcast_to": fnp.broadcast_to,
    "matmul": fnp.matmul, "matmul_t": _matmul_t, "dot": fnp.dot, "cumsum": fnp.cumsum,
}

# ------------------------------------------------------------------ programs


@dataclasses.dataclass(frozen=True)
class Op:
    """``v<out> = fun(v<arg>, ..., **params)``."""

    fun: str
    args: tuple
    params: tuple = ()  # ((name, value), ...)

    def __repr__(self):
        parts = [f"v{i}" for i in self.args] + [f"{k}={v!r}" for k, v in self.params]
        return f"{self.fun}({', '.join(parts)})"

    def apply(self, vals):
        return IMPL[self.fun](*[vals[i] for i in self.args], **dict(self.params))


@dataclasses.dataclass(frozen=True)
class Program:
    """Inputs ``((shape, dtype name), ...)``, ops (op ``k`` defines ``v<len(inputs) + k>``), outputs."""

    inputs: tuple
    ops: tuple
    outputs: tuple
    seed: int = 0
    shapes: tuple = ()  # the shape of every value as the generator predicts it (not printed)

    def __repr__(self):
        n = len(self.inputs)
        lines = [f"Program(seed={self.seed})"]
        lines += [f"  v{i}: {dt}{list(s)}" for i, (s, dt) in enumerate(self.inputs)]
        lines += [f"  v{n + k} = {op!r}" for k, op in enumerate(self.ops)]
        lines.append("  -> " + ", ".join(f"v{i}" for i in self.outputs))
        return "\n".join(lines)

    def arguments(self):
        """The input arrays, uniform in (-2, 2), from the program's seed."""
        rng = np.random.default_rng(self.seed)  # the inputs only, not the ops
        return tuple(rng.uniform(-2, 2, size=s).astype(dt) for s, dt in self.inputs)

    def __call__(self, *xs):
        vals = list(xs)
        for op in self.ops:
            vals.append(op.apply(vals))
        return tuple(vals[i] for i in self.outputs)


@dataclasses.dataclass
class _Val:
    """What the generator knows of a value: shape, kind ("f" floating, "b" bool) and bounds."""

    shape: tuple
    kind: str = "f"
    lo: float = -2.0
    hi: float = 2.0


def _bshape(*shapes):
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


def _ok(shape, lo=0.0, hi=0.0):
    return (len(shape) <= MAX_NDIM and 0 < math.prod(shape) <= MAX_SIZE
            and -BOUND <= lo and hi <= BOUND and math.isfinite(lo) and math.isfinite(hi))


def _hull(*ivs):
    return min(a for a, _ in ivs), max(b for _, b in ivs)


def _mul_iv(a, b):
    ps = [x * y for x in a for y in b]
    return min(ps), max(ps)


def _div_iv(a, b):
    return _mul_iv(a, (1 / b[1], 1 / b[0]))


_BINARY_IV = {
    "add": lambda a, b: (a[0] + b[0], a[1] + b[1]),
    "subtract": lambda a, b: (a[0] - b[1], a[1] - b[0]),
    "multiply": _mul_iv,
    "divide": _div_iv,
    "maximum": lambda a, b: (max(a[0], b[0]), max(a[1], b[1])),
    "minimum": lambda a, b: (min(a[0], b[0]), min(a[1], b[1])),
}


class _Builder:
    """Candidate ops for the current values; each candidate is ``(Op, _Val)``."""

    def __init__(self, vals):
        self.vals = vals

    def floats(self):
        return [i for i, v in enumerate(self.vals) if v.kind == "f"]

    @staticmethod
    def pick(r, idxs):
        """One of the value indices ``idxs``, recent values more likely (deep rather than wide programs)."""
        return r.choices(idxs, weights=[(1 + i) ** 2 for i in idxs])[0]

    def unary(self, r):
        by_name = {}
        for name, (_, dom, iv) in UNARY.items():
            for i in self.floats():
                v = self.vals[i]
                if dom(v.lo, v.hi):
                    by_name.setdefault(name, []).append((Op(name, (i,)), _Val(v.shape, "f", *iv(v.lo, v.hi))))
        # the op first, among those with an argument in their domain; narrow domains are rarely met, so favour them
        names = sorted(by_name)
        return by_name[r.choices(names, weights=[1 + 3 * (n in _NARROW) for n in names])[0]] if names else []

    def affine(self, r):
        i = self.pick(r, self.floats())
        v = self.vals[i]
        scale = r.choice([-1.5, -0.5, 0.25, 0.5, 2.0])
        shift = r.choice([-1.0, 0.5, 1.5])
        lo, hi = sorted((v.lo * scale + shift, v.hi * scale + shift))
        return [(Op("affine", (i,), (("scale", scale), ("shift", shift))), _Val(v.shape, "f", lo, hi))]

    def binary(self, r):
        name = r.choice(sorted(_BINARY_IV))
        cands = []
        for i, j in itertools.product(self.floats(), repeat=2):
            a, b = self.vals[i], self.vals[j]
            shape = _bshape(a.shape, b.shape)
            if shape is None or (name == "divide" and not (b.lo >= MARGIN or b.hi <= -MARGIN)):
                continue
            lo, hi = _BINARY_IV[name]((a.lo, a.hi), (b.lo, b.hi))
            if _ok(shape, lo, hi):
                cands.append((Op(name, (i, j)), _Val(shape, "f", lo, hi)))
        return cands

    def compare(self, r):
        cands = []
        for i, j in itertools.product(self.floats(), repeat=2):
            shape = _bshape(self.vals[i].shape, self.vals[j].shape)
            if i != j and shape is not None and _ok(shape):
                for name in COMPARE:
                    cands.append((Op(name, (i, j)), _Val(shape, "b", 0.0, 1.0)))
        return cands

    def where(self, r):
        cands = []
        bools = [i for i, v in enumerate(self.vals) if v.kind == "b"]
        for c in bools:
            for i, j in itertools.product(self.floats(), repeat=2):
                a, b = self.vals[i], self.vals[j]
                shape = _bshape(self.vals[c].shape, a.shape, b.shape)
                if i != j and shape is not None and _ok(shape):
                    cands.append((Op("where", (c, i, j)), _Val(shape, "f", *_hull((a.lo, a.hi), (b.lo, b.hi)))))
        return cands

    def reduce(self, r):
        i = self.pick(r, self.floats())
        v = self.vals[i]
        name = r.choice(sorted(REDUCE))
        nd = len(v.shape)
        axes = None if nd == 0 or r.random() < 0.25 else tuple(sorted(r.sample(range(nd), r.randint(1, nd))))
        keepdims = r.random() < 0.5
        red = range(nd) if axes is None else axes
        n = math.prod(v.shape[a] for a in red)
        shape = tuple(1 if a in red else s for a, s in enumerate(v.shape)) if keepdims else \
            tuple(s for a, s in enumerate(v.shape) if a not in red)
        lo, hi = (n * v.lo, n * v.hi) if name == "sum" else (v.lo, v.hi)
        if not _ok(shape, lo, hi):
            return []
        return [(Op(name, (i,), (("axis", axes), ("keepdims", keepdims))), _Val(shape, "f", lo, hi))]

    def reshape(self, r):
        i = self.pick(r, self.floats())
        v = self.vals[i]
        size = math.prod(v.shape)
        divisors = [d for d in range(1, size + 1) if size % d == 0]
        d = r.choice(divisors)
        shape = r.choice([(-1,), (d, -1), (-1, d, 1), (1, d, size // d)])
        full = tuple(size // d if s == -1 and len(shape) > 1 else (size if s == -1 else s) for s in shape)
        return [(Op("reshape", (i,), (("shape", shape),)), _Val(full, "f", v.lo, v.hi))]

    def transpose(self, r):
        i = self.pick(r, self.floats())
        v = self.vals[i]
        perm = tuple(r.sample(range(len(v.shape)), len(v.shape)))
        return [(Op("transpose", (i,), (("axes", perm),)), _Val(tuple(v.shape[a] for a in perm), "f", v.lo, v.hi))]

    def slice(self, r):
        i = self.pick(r, self.floats())
        v = self.vals[i]
        index, shape = [], []
        for n in v.shape:
            step = r.choice([1, 1, 2, -1])
            start = r.randint(0, n - 1)
            if step > 0:
                stop = r.randint(start + 1, n)
            else:
                stop = r.choice([None] + list(range(-n - 1, start - n)))
            s = (start, stop, step)
            index.append(s)
            shape.append(len(range(*slice(*s).indices(n))))
        return [(Op("slice", (i,), (("index", tuple(index)),)), _Val(tuple(shape), "f", v.lo, v.hi))]

    def take(self, r):
        cands = [i for i in self.floats() if self.vals[i].shape]
        if not cands:
            return []
        i = self.pick(r, cands)
        v = self.vals[i]
        axis = r.randint(0, len(v.shape) - 1)
        idx = tuple(r.randint(0, v.shape[axis] - 1) for _ in range(r.randint(1, 4)))
        shape = v.shape[:axis] + (len(idx),) + v.shape[axis + 1:]
        if not _ok(shape):
            return []
        return [(Op("take", (i,), (("idx", idx), ("axis", axis))), _Val(shape, "f", v.lo, v.hi))]

    def at_add(self, r):
        """``x.at[idx].add(y)`` along axis 0, with repeated indices."""
        cands = []
        for i, j in itertools.product(self.floats(), repeat=2):
            x, y = self.vals[i], self.vals[j]
            if not x.shape:
                continue
            k = y.shape[0] if len(y.shape) == len(x.shape) else r.randint(1, 4)
            target = (k,) + x.shape[1:]
            if k > 4 or _bshape(y.shape, target) != target:
                continue
            idx = tuple(r.randint(0, x.shape[0] - 1) for _ in range(k))
            lo, hi = x.lo + k * min(0.0, y.lo), x.hi + k * max(0.0, y.hi)
            if _ok(x.shape, lo, hi):
                cands.append((Op("at_add", (i, j), (("idx", idx),)), _Val(x.shape, "f", lo, hi)))
        return cands

    def concatenate(self, r):
        cands = []
        for i, j in itertools.product(self.floats(), repeat=2):
            a, b = self.vals[i], self.vals[j]
            if len(a.shape) != len(b.shape) or not a.shape:
                continue
            for ax in range(len(a.shape)):
                if all(x == y for k, (x, y) in enumerate(zip(a.shape, b.shape)) if k != ax):
                    shape = a.shape[:ax] + (a.shape[ax] + b.shape[ax],) + a.shape[ax + 1:]
                    if _ok(shape):
                        cands.append((Op("concatenate", (i, j), (("axis", ax),)),
                                      _Val(shape, "f", *_hull((a.lo, a.hi), (b.lo, b.hi)))))
        return cands

    def broadcast_to(self, r):
        i = self.pick(r, self.floats())
        v = self.vals[i]
        lead = r.choice([(), (r.randint(1, 3),)])
        shape = lead + tuple(r.randint(1, 3) if s == 1 else s for s in v.shape)
        if not _ok(shape):
            return []
        return [(Op("broadcast_to", (i,), (("shape", shape),)), _Val(shape, "f", v.lo, v.hi))]

    def products(self, r):
        cands = []
        for i, j in itertools.product(self.floats(), repeat=2):
            a, b = self.vals[i], self.vals[j]
            if not a.shape or not b.shape:
                continue
            k = a.shape[-1]
            lo, hi = _mul_iv((a.lo, a.hi), (b.lo, b.hi))
            lo, hi = min(lo, k * lo), max(hi, k * hi)
            if len(b.shape) == 1 and b.shape[0] == k:
                shape, names = a.shape[:-1], ["matmul", "dot"]
            elif len(b.shape) >= 2 and b.shape[-2] == k:
                shape = _bshape(a.shape[:-2], b.shape[:-2])
                shape = None if shape is None else shape + a.shape[-2:-1] + b.shape[-1:]
                names = ["matmul"] + (["dot"] if len(a.shape) <= 2 and len(b.shape) == 2 else [])
            else:
                shape, names = None, []
            if shape is not None and (shape == () or _ok(shape, lo, hi)) and -BOUND <= lo and hi <= BOUND:
                cands += [(Op(n, (i, j)), _Val(shape, "f", lo, hi)) for n in names]
            if len(b.shape) >= 2 and b.shape[-1] == k:  # a @ b^T (e.g. a Gram matrix a @ a^T)
                bt = b.shape[:-2] + (b.shape[-1], b.shape[-2])
                shape = _bshape(a.shape[:-2], bt[:-2])  # a 1-d a: bt's batch axes and its last one
                if shape is not None:
                    shape = shape + a.shape[-2:-1] + bt[-1:]
                    if _ok(shape, lo, hi):
                        cands.append((Op("matmul_t", (i, j)), _Val(shape, "f", lo, hi)))
        return cands

    def cumsum(self, r):
        i = self.pick(r, self.floats())
        v = self.vals[i]
        nd = len(v.shape)
        axis = r.randint(-nd, nd - 1) if nd else None
        n = math.prod(v.shape) if axis is None else v.shape[axis]
        shape = (math.prod(v.shape),) if axis is None else v.shape
        lo, hi = min(v.lo, n * v.lo), max(v.hi, n * v.hi)
        if not _ok(shape, lo, hi):
            return []
        return [(Op("cumsum", (i,), (("axis", axis),)), _Val(shape, "f", lo, hi))]


KINDS = ["unary", "unary", "unary", "affine", "binary", "binary", "compare", "where", "reduce", "reduce",
         "reshape", "transpose", "slice", "take", "at_add", "concatenate", "broadcast_to", "products", "cumsum"]


def _input_shapes(r, n):
    """``n`` mutually broadcastable shapes: suffixes of one shape with some sides set to 1."""
    full = tuple(r.randint(1, 3) for _ in range(r.choice([0, 1, 2, 2, 3, 3])))
    out = []
    for k in range(n):
        suffix = full[r.randint(0, len(full)):] if k else full  # the first one has every axis
        out.append(tuple(1 if r.random() < 0.3 else s for s in suffix))
    return out


def random_program(seed, min_ops=3, max_ops=12):
    """The :class:`Program` of ``seed`` (see the module docstring); the same seed gives the same program."""
    r = random.Random(seed)
    shapes = _input_shapes(r, r.randint(1, 3))
    n_in = len(shapes)
    dtypes = [r.choice(["float64", "float64", "float64", "float32"]) for _ in shapes]
    vals = [_Val(s) for s in shapes]
    ops = []
    builder = _Builder(vals)
    n_ops = r.randint(min_ops, max_ops)
    for k in range(n_ops):
        kinds = KINDS if k < n_ops - 1 else [k for k in KINDS if k != "compare"]  # a floating last value
        cands = []
        while not cands:
            cands = getattr(builder, r.choice(kinds))(r)
        op, val = r.choices(cands, weights=[(1 + max(op.args)) ** 2 for op, _ in cands])[0]
        ops.append(op)
        vals.append(val)
    # the outputs: the last value and up to two more values that no op uses (so little is dead code)
    used = {i for op in ops for i in op.args}
    sinks = [i for i in range(n_in, len(vals) - 1) if i not in used]
    outs = [len(vals) - 1] + r.sample(sinks, min(2, len(sinks)))
    return Program(tuple(zip(shapes, dtypes)), tuple(ops), tuple(outs), seed, tuple(v.shape for v in vals))


def programs():
    """Hypothesis strategy of random programs (drawn by seed: uniform choices, readable when printed)."""
    return st.integers(0, 2 ** 32 - 1).map(random_program)


# ------------------------------------------------------------------ the test

# float64: a few ulps, amplified by the program's condition number; float32: the same,
# plus compiled code may keep float32 intermediates in float64
_TOL = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 1e-4}


def _compare(got, want, what, prog):
    g_leaves, w_leaves = tu.tree_leaves(got), tu.tree_leaves(want)
    assert len(g_leaves) == len(w_leaves), f"{what}: {len(g_leaves)} outputs, eager gives {len(w_leaves)}\n{prog!r}"
    for k, (g, w) in enumerate(zip(g_leaves, w_leaves)):
        w = np.asarray(w)
        msg = f"{what}, output {k}\n{prog!r}"
        assert isinstance(g, np.ndarray) and not g.flags.writeable, msg + "\n(not a read-only array)"
        assert g.shape == w.shape, f"{msg}\nshape {g.shape}, eager gives {w.shape}"
        assert g.dtype == w.dtype, f"{msg}\ndtype {g.dtype}, eager gives {w.dtype}"
        if w.dtype == np.bool_:
            np.testing.assert_array_equal(g, w, err_msg=msg)
        else:
            # a float64 result computed through float32 values (mixed inputs, .at[] casts) has float32's precision
            tol = max(_TOL[w.dtype], *(_TOL[np.dtype(dt)] for _, dt in prog.inputs))
            scale = max(1.0, float(np.max(np.abs(w), initial=0.0)))
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol * scale, err_msg=msg)


def _scalarised(prog, outs):
    """``s(*xs)``: a fixed weighted sum of the program's floating outputs."""
    weights = [np.cos(np.arange(o.size) + 0.5).reshape(o.shape) if o.dtype != np.bool_ else None for o in outs]

    def s(*xs):
        return sum(fnp.sum(o * w) for o, w in zip(prog(*xs), weights) if w is not None)

    return s


@settings(max_examples=40, phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(prog=programs())
@example(prog=random_program(1350656))  # float32 .at[].add of float64 values: the gradient has float32 precision
def test_random_program_jit_matches_eager(prog):
    xs = prog.arguments()
    want = prog(*xs)
    _compare(fnflow.jit(prog)(*xs), want, "jit(program)", prog)

    s = _scalarised(prog, want)
    argnums = tuple(range(len(xs)))
    g_want = fnflow.grad(s, argnums=argnums)(*xs)
    _compare(fnflow.jit(fnflow.grad(s, argnums=argnums))(*xs), g_want, "jit(grad(weighted sum))", prog)
    _compare(fnflow.grad(fnflow.jit(s), argnums=argnums)(*xs), g_want, "grad(jit(weighted sum))", prog)


def test_program_repr_is_readable():
    prog = Program((((2, 3), "float64"), ((3,), "float64")),
                   (Op("tanh", (0,)), Op("add", (2, 1)), Op("sum", (3,), (("axis", (1,)), ("keepdims", True)))),
                   (4,), seed=3)
    assert repr(prog) == ("Program(seed=3)\n  v0: float64[2, 3]\n  v1: float64[3]\n  v2 = tanh(v0)\n"
                          "  v3 = add(v2, v1)\n  v4 = sum(v3, axis=(1,), keepdims=True)\n  -> v4")
    x, y = prog.arguments()
    np.testing.assert_allclose(prog(x, y)[0], np.sum(np.tanh(x) + y, axis=1, keepdims=True))


def test_generator_reaches_every_op():
    """Over many generated programs (generation and eager runs only, cheap) every op of the generator appears."""
    seen = set()
    for seed in range(400):
        prog = random_program(seed)
        vals = list(prog.arguments())
        for op in prog.ops:  # eager evaluation works and gives the shapes the generator predicts
            vals.append(op.apply(vals))
            assert np.shape(vals[-1]) == prog.shapes[len(vals) - 1], f"{op!r} in\n{prog!r}"
            if vals[-1].dtype != np.bool_:
                assert np.all(np.isfinite(vals[-1])), f"{op!r} in\n{prog!r}"
        seen.update(op.fun for op in prog.ops)
    assert seen == set(IMPL), f"never generated: {sorted(set(IMPL) - seen)}"
