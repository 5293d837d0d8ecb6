"""Algebraic rewrites of the CPU backend: scan accumulators hoisted, sums of disjoint pads concatenated.

Each rewrite is checked twice: the compiled plan has (or, where it must not
apply, lacks) the rewritten form, and the values equal NumPy's / eager ones.
"""

import numpy as np
import pytest

import fnflow
import fnflow.numpy as fnp
import fnflow.testing
from fnflow import lax
from fnflow.backends.cpu import compile_graph, passes

rng = np.random.default_rng(7)


def optimized(f, *args):
    return passes.optimize(fnflow.make_graph(f)(*args))


def scans(graph):
    return [e for e in graph.eqns if e.prim.name == "scan"]


# ------------------------------------------------------------- scan accumulators

XS = rng.standard_normal((6, 4, 3))
W = rng.standard_normal((3, 5)) * 0.5


def accumulate(xs, w, reverse=False):
    """carry: (h, acc); acc += x_t^T @ h_t where h_t changes per step."""
    def body(carry, x):
        h, acc = carry
        h = fnp.tanh(x @ w + h)
        return (h, acc + x.T @ h), h

    init = (fnp.zeros((4, 5), xs.dtype), fnp.ones((3, 5), xs.dtype))
    (h, acc), hs = lax.scan(body, init, xs, reverse=reverse)
    return h, acc, hs


def accumulate_numpy(xs, w, reverse=False):
    h, acc, hs = np.zeros((4, 5)), np.ones((3, 5)), [None] * len(xs)
    for t in (reversed(range(len(xs))) if reverse else range(len(xs))):
        h = np.tanh(xs[t] @ w + h)
        acc = acc + xs[t].T @ h
        hs[t] = h
    return h, acc, np.stack(hs)


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_accumulator_becomes_one_product_after_the_loop(reverse):
    g = optimized(lambda xs, w: accumulate(xs, w, reverse), XS, W)
    (loop,) = scans(g)
    assert loop.params["num_carry"] == 1  # the accumulator left the carry
    after = g.eqns[g.eqns.index(loop) + 1:]
    prod = [e for e in after if e.prim.name == "dot_general"]
    assert len(prod) == 1 and all(v.aval.shape[0] == 6 for v in prod[0].invars)  # the operands stacked per step
    (lc, rc), _ = prod[0].params["dimension_numbers"]
    assert lc[0] == rc[0] == 0  # ... and contracted over the steps too
    got = fnflow.jit(lambda xs, w: accumulate(xs, w, reverse))(XS, W)
    for a, b in zip(got, accumulate_numpy(XS, W, reverse)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_scan_accumulator_with_batch_dimensions():
    xs = rng.standard_normal((5, 2, 4, 3))
    w = rng.standard_normal((2, 3, 3)) * 0.3

    def f(xs, w):
        def body(carry, x):
            h, acc = carry
            h = fnp.tanh(fnp.matmul(x, w) + h)  # (2, 4, 3)
            return (h, acc + fnp.matmul(fnp.swapaxes(x, 1, 2), h)), None  # batched over the leading 2

        return lax.scan(body, (fnp.zeros((2, 4, 3), xs.dtype), fnp.zeros((2, 3, 3), xs.dtype)), xs)[0]

    (loop,) = scans(optimized(f, xs, w))
    assert loop.params["num_carry"] == 1
    h, acc = np.zeros((2, 4, 3)), np.zeros((2, 3, 3))
    for x in xs:
        h = np.tanh(x @ w + h)
        acc = acc + np.swapaxes(x, 1, 2) @ h
    got = fnflow.jit(f)(xs, w)
    np.testing.assert_allclose(got[0], h, rtol=1e-12)
    np.testing.assert_allclose(got[1], acc, rtol=1e-12)


def test_accumulator_read_in_the_body_stays_in_the_loop():
    def f(xs, w):
        def body(carry, x):
            h, acc = carry
            h = fnp.tanh(x @ w + h + fnp.sum(acc))  # reads the accumulator: not a pure sum
            return (h, acc + x.T @ h), None

        return lax.scan(body, (fnp.zeros((4, 5), xs.dtype), fnp.zeros((3, 5), xs.dtype)), xs)[0]

    (loop,) = scans(optimized(f, XS, W))
    assert loop.params["num_carry"] == 2
    h, acc = np.zeros((4, 5)), np.zeros((3, 5))
    for x in XS:
        h = np.tanh(x @ W + h + acc.sum())
        acc = acc + x.T @ h
    np.testing.assert_allclose(fnflow.jit(f)(XS, W)[1], acc, rtol=1e-12)


def test_product_with_a_loop_invariant_operand_stays_in_the_loop():
    def f(xs, w):
        def body(acc, x):
            return acc + w.T @ x.T, None  # w does not change per step: stacking it would be waste

        return lax.scan(body, fnp.zeros((5, 4), xs.dtype), xs)[0]

    (loop,) = scans(optimized(f, XS, W))
    assert loop.params["num_carry"] == 1 and any(e.prim.name == "dot_general" for e in loop.params["body"].eqns)
    np.testing.assert_allclose(fnflow.jit(f)(XS, W), sum(W.T @ x.T for x in XS), rtol=1e-12)


def lstm_loss(wx, wh, xs):
    """An LSTM over ``xs`` (time, batch, features) in Keras's gate order; its backward scan has both rewrites."""
    u = wh.shape[0]

    def body(carry, x):
        h, c = carry
        z = x @ wx + h @ wh
        i, f, g, o = (z[:, k * u:(k + 1) * u] for k in range(4))
        c = fnflow.nn.sigmoid(f) * c + fnflow.nn.sigmoid(i) * fnp.tanh(g)
        h = fnflow.nn.sigmoid(o) * fnp.tanh(c)
        return (h, c), h

    h0 = fnp.zeros((xs.shape[1], u), xs.dtype)
    (h, _), hs = lax.scan(body, (h0, h0), xs)
    return fnp.sum(h ** 2) + fnp.mean(hs)


def test_lstm_gradient_is_rewritten_and_unchanged():
    wx, wh = rng.standard_normal((3, 8)) * 0.5, rng.standard_normal((2, 8)) * 0.5
    xs = rng.standard_normal((7, 4, 3))
    grad = fnflow.grad(lstm_loss, argnums=(0, 1))
    g = optimized(grad, wx, wh, xs)
    backward = [e for e in scans(g) if e.params["reverse"]]
    assert len(backward) == 1
    body = passes.optimize(backward[0].params["body"])
    names = [e.prim.name for e in body.eqns]
    assert "pad" not in names and "concatenate" in names  # the gate cotangents are joined, not padded and added
    # the weight gradients are no longer carried: only dh, dc remain (plus nothing accumulated per step)
    assert backward[0].params["num_carry"] == 2
    got = fnflow.jit(grad)(wx, wh, xs)
    want = grad(wx, wh, xs)  # eager: no rewrites
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    fnflow.testing.check_grads(lambda a, b: fnflow.jit(lstm_loss)(a, b, xs), (wx, wh), order=1, modes=("rev",))


# ------------------------------------------------------------- pad sums


def test_disjoint_pads_that_tile_an_axis_become_one_concatenate():
    a, b, c = rng.standard_normal((3, 2)), rng.standard_normal((3, 4)), rng.standard_normal((3, 1))

    def f(a, b, c):
        return (lax.pad(b, 0.0, ((0, 0, 0), (2, 1, 0))) + lax.pad(a, 0.0, ((0, 0, 0), (0, 5, 0)))
                + lax.pad(c, 0.0, ((0, 0, 0), (6, 0, 0))))

    g = optimized(f, a, b, c)
    assert [e.prim.name for e in g.eqns] == ["concatenate"]
    assert g.eqns[0].invars == g.invars  # in offset order: a, b, c
    np.testing.assert_array_equal(fnflow.jit(f)(a, b, c), np.concatenate([a, b, c], axis=1))


# (a's high padding, b's low padding, a's padding value): a is (3, 2), b is (3, 3)
PAD_CASES = {"gap": (4, 3, 0.0), "overlap": (2, 1, 0.0), "nonzero value": (3, 2, 1.0), "reused": (3, 2, 0.0)}


@pytest.mark.parametrize("case", sorted(PAD_CASES))
def test_pads_that_do_not_tile_are_left_alone(case):
    a, b = rng.standard_normal((3, 2)), rng.standard_normal((3, 3))
    hi_a, lo_b, value = PAD_CASES[case]

    def f(a, b):
        pa = lax.pad(a, value, ((0, 0, 0), (0, hi_a, 0)))
        s = pa + lax.pad(b, 0.0, ((0, 0, 0), (lo_b, 0, 0)))
        return (s, pa) if case == "reused" else s

    g = optimized(f, a, b)
    assert "concatenate" not in [e.prim.name for e in g.eqns]
    want = np.pad(a, ((0, 0), (0, hi_a)), constant_values=value) + np.pad(b, ((0, 0), (lo_b, 0)))
    got = fnflow.jit(f)(a, b)
    np.testing.assert_array_equal(got[0] if case == "reused" else got, want)


def test_rewritten_graphs_compile_to_fewer_steps():
    wx, wh = rng.standard_normal((3, 8)) * 0.5, rng.standard_normal((2, 8)) * 0.5
    xs = rng.standard_normal((7, 4, 3))
    exe = compile_graph(fnflow.make_graph(fnflow.grad(lstm_loss, argnums=(0, 1)))(wx, wh, xs))
    loops = [s for s in exe.plan if s.kind == "control"]
    body = str(loops[-1].info)
    assert "pad" not in body and "concatenate" in body


# ------------------------------------------------------------- scan residuals recomputed

def two_loops(xs, w):
    """The first loop stacks s and s * (1 - s); the second reads s * (1 - s) (and maybe s) per step."""
    def first(h, x):
        s = fnflow.nn.sigmoid(x * w + h)
        return s, (s, s * (1.0 - s))

    def second(acc, sd):
        return acc * 0.5 + sd, None

    _, (s, d) = lax.scan(first, fnp.zeros(3, xs.dtype), xs)
    total, _ = lax.scan(second, fnp.zeros(3, xs.dtype), d)
    return total, s


def two_loops_numpy(xs, w):
    h, ss, ds = np.zeros(3), [], []
    for x in xs:
        h = 1 / (1 + np.exp(-(x * w + h)))
        ss.append(h)
        ds.append(h * (1 - h))
    acc = np.zeros(3)
    for d in ds:
        acc = acc * 0.5 + d
    return acc, np.stack(ss)


def test_cheap_stacked_residual_is_recomputed_by_its_reader():
    xs, w = rng.standard_normal((5, 3)), rng.standard_normal(3)
    g = optimized(two_loops, xs, w)
    first, second = scans(g)
    assert len(first.outvars) == 2  # the carry and s: s * (1 - s) is no longer stacked
    assert second.invars[-1] is first.outvars[1]  # the reader takes s instead ...
    assert [e.prim.name for e in second.params["body"].eqns][:2] == ["sub", "mul"]  # ... and recomputes
    for got, want in zip(fnflow.jit(two_loops)(xs, w), two_loops_numpy(xs, w)):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_residual_read_outside_a_loop_stays_stacked():
    xs, w = rng.standard_normal((5, 3)), rng.standard_normal(3)

    def f(xs, w):
        def first(h, x):
            s = fnflow.nn.sigmoid(x * w + h)
            return s, (s, s * (1.0 - s))

        _, (s, d) = lax.scan(first, fnp.zeros(3, xs.dtype), xs)
        return fnp.sum(d, axis=0), s  # d is read by a reduction, not by a loop

    (loop,) = scans(optimized(f, xs, w))
    assert len(loop.outvars) == 3
    acc, s = two_loops_numpy(xs, w)
    np.testing.assert_allclose(fnflow.jit(f)(xs, w)[0], np.sum(s * (1 - s), axis=0), rtol=1e-12)


def test_lstm_forward_loop_stacks_fewer_residuals(monkeypatch):
    wx, wh = rng.standard_normal((3, 8)) * 0.5, rng.standard_normal((2, 8)) * 0.5
    xs = rng.standard_normal((7, 4, 3))
    grad = fnflow.grad(lstm_loss, argnums=(0, 1))
    graph = fnflow.make_graph(grad)(wx, wh, xs)

    def stacked(g):
        (forward,) = [e for e in scans(g) if not e.params["reverse"]]
        return len(forward.outvars) - forward.params["num_carry"]

    with_remat = stacked(passes.optimize(graph))
    monkeypatch.setattr("fnflow.backends.cpu.scan_remat.remat_scan_residuals", lambda g: g)
    # s * (1 - s) of three sigmoids and 1 - t * t of two tanh: recomputed by the backward loop
    assert stacked(passes.optimize(graph)) - with_remat == 5
    monkeypatch.undo()
    for a, b in zip(fnflow.jit(grad)(wx, wh, xs), grad(wx, wh, xs)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------- the rewrites under other transforms


def nested_scans(w, xs):
    """A scan accumulating, per step, the sum a scan inside it accumulates from per-step products."""
    def outer(c, x):
        def inner(d, y):
            return d + (y * w).T @ (y * w), None

        d, _ = lax.scan(inner, fnp.zeros((3, 3), xs.dtype), x)
        return c + d, fnp.sum(d)

    c, ys = lax.scan(outer, fnp.zeros((3, 3), xs.dtype), xs)
    return fnp.sum(c * c) + fnp.sum(ys)


WX, WH, XS3 = rng.standard_normal((3, 8)) * 0.5, rng.standard_normal((2, 8)) * 0.5, rng.standard_normal((5, 4, 3))
W3, XS4 = rng.standard_normal(3), rng.standard_normal((4, 5, 2, 3))
LSTM_GRAD = fnflow.grad(lstm_loss, argnums=(0, 1))
COMPOSED = {
    "grad of a dot with the gradient (Hessian-vector)":
        lambda: fnflow.grad(lambda a: fnp.vdot(LSTM_GRAD(a, WH, XS3)[0], a))(WX),
    "vmap of grad (per example)":
        lambda: fnflow.vmap(lambda x: LSTM_GRAD(WX, WH, x[:, None, :]), in_axes=1)(XS3),
    "jvp of grad": lambda: fnflow.jvp(lambda a: LSTM_GRAD(a, WH, XS3)[1], (WX,), (np.ones_like(WX),)),
    "jacrev": lambda: fnflow.jacrev(lambda b: fnp.stack([lstm_loss(WX, b, XS3), lstm_loss(WX * 2, b, XS3)]))(WH),
    "grad of nested scans": lambda: fnflow.grad(nested_scans)(W3, XS4),
}


@pytest.mark.parametrize("name", sorted(COMPOSED))
def test_rewritten_programs_agree_with_eager_under_other_transforms(name):
    f = COMPOSED[name]
    want = fnflow.tree_util.tree_leaves(f())
    got = fnflow.tree_util.tree_leaves(fnflow.jit(f)())
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
