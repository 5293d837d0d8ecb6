"""The CPU backend computes what eager evaluation computes: values, dtypes and shapes.

Each test compiles ``make_graph(f)(*args)`` and compares the executable's
outputs with ``f(*args)`` run eagerly. Shapes are small and kernels are shared
between tests (many ops go into one graph, so into one fused kernel) to keep
numba's compile time down; the disk cache makes later runs fast.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fnflow
import fnflow.nn
import fnflow.numpy as fnp
from fnflow import lax
from fnflow.backends.cpu import compile_graph
from fnflow.ops import elementwise as ew

rng = np.random.default_rng(0)
X = rng.standard_normal((3, 4)).astype(np.float32)
Y = rng.standard_normal((4,)).astype(np.float32)
POS = (rng.random((3, 4)) + 0.5).astype(np.float32)
UNIT = (rng.random((3, 4)) * 1.6 - 0.8).astype(np.float32)
I = rng.integers(-7, 8, (3, 4)).astype(np.int32)


def check(f, *args, rtol=2e-6, atol=1e-6):
    """Compile f's graph, run it, compare with eager f; returns the executable."""
    graph = fnflow.make_graph(f)(*args)
    exe = compile_graph(graph)
    got = exe(*args)
    want = fnflow.tree_util.tree_leaves(f(*args))
    assert len(got) == len(want)
    for g, w, aval in zip(got, want, graph.out_avals):
        w = np.asarray(w)
        assert isinstance(g, fnflow.Array)
        assert g.shape == w.shape, (g.shape, w.shape)
        # the graph's dtype; eager agrees except where an impl widens (reduce_sum of int32 gives int64)
        assert g.dtype == aval.dtype, (g.dtype, aval.dtype)
        assert g.dtype == w.dtype or (g.dtype.kind == w.dtype.kind and w.dtype.itemsize > g.dtype.itemsize)
        if w.dtype.kind in "biu":
            np.testing.assert_array_equal(g, w)
        else:
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, equal_nan=True)
    return exe


# ---------------------------------------------------------------- elementwise

UNARY = ["neg", "sign", "floor", "ceil", "round", "exp", "sin", "cos", "tan", "atan", "sinh", "cosh", "tanh",
         "asinh", "abs", "logistic", "erf", "expm1", "cbrt"]
UNARY_POS = ["log", "log1p", "sqrt"]
UNARY_UNIT = ["asin", "acos", "atanh"]


def _many(names):
    fns = [getattr(ew, n) for n in names]

    def f(x):
        outs = [fn(x) for fn in fns]
        total = outs[0]
        for o in outs[1:]:
            total = total + o
        return outs + [total]

    return f


@pytest.mark.parametrize("names,arg", [(UNARY, X), (UNARY_POS, POS), (UNARY_UNIT, UNIT)])
def test_unary_ops_fuse_into_one_kernel(names, arg):
    exe = check(_many(names), arg, rtol=1e-5)
    assert [s.kind for s in exe.plan] == ["kernel"]


def test_acosh_and_float64():
    check(lambda x: ew.acosh(x + 2.0), POS)
    check(lambda x: fnp.sin(x) ** 2 + fnp.exp(-x), X.astype(np.float64))


def test_binary_ops_with_broadcasting():
    def f(x, y):
        return [x + y, x - y, x * y, x / y, fnp.maximum(x, y), fnp.minimum(x, y), fnp.arctan2(x, y),
                ew.rem(x, y), fnp.power(fnp.abs(x), y), x * 2.0 + 1.0]

    check(f, X, Y, rtol=1e-5)
    check(lambda x, y: x[:, None, :] * y[None, :, None], X, X[0])  # (3,1,4) x (1,3,1)


def test_comparisons_select_and_logic():
    def f(x, y):
        return [x == y, x != y, x < y, x <= y, x > y, x >= y, fnp.where(x > 0, x, y),
                fnp.logical_and(x > 0, y < 0), fnp.logical_not(x > 0), fnp.logical_or(x > 0, y > 0)]

    check(f, X, Y)


def test_integer_ops():
    d = np.where(I == 0, 3, I).astype(np.int32)

    def f(a, b):
        return [a + b, a - b, a * b, a // b, a % b, ew.int_div(a, b), ew.rem(a, b), -a, fnp.abs(a), a & b,
                a | b, a ^ b, ~a, fnp.maximum(a, b), a << 2, a >> 1, fnp.sign(a)]

    check(f, I, d)


def test_convert_element_type():
    def f(x, i):
        return [x.astype(np.int32), i.astype(np.float32), (x > 0).astype(np.float32), x.astype(np.float64),
                i.astype(np.bool_), x.astype(np.bool_)]

    check(f, X * 10, I)


def test_literal_constant_and_input_outputs():
    c = np.arange(4, dtype=np.float32)
    check(lambda x: (x, x + c, c, fnp.zeros((2,))), X)


# ----------------------------------------------------------------- reductions


@pytest.mark.parametrize("axes", [None, 0, 1, (0, 2), (1, 2)])
def test_reductions_over_axes(axes):
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)

    def f(x):
        y = x * 2.0 - 1.0
        return [fnp.sum(y, axis=axes), fnp.max(y, axis=axes), fnp.min(y, axis=axes), fnp.prod(x, axis=axes),
                fnp.any(x > 1, axis=axes), fnp.all(x > -2, axis=axes)]

    check(f, a, rtol=1e-5)


def test_sum_after_elementwise_is_one_kernel():
    exe = check(lambda x: fnp.sum(fnp.tanh(x) * 2 + 1), np.linspace(0, 1, 10, dtype=np.float32))
    assert [s.kind for s in exe.plan] == ["kernel"]


def test_mean_softmax_logsumexp():
    check(lambda x: fnp.mean(x, axis=1), X)
    check(lambda x: fnflow.nn.softmax(x, axis=-1), X)
    check(lambda x: fnp.exp(x - x.max(axis=0, keepdims=True)).sum(axis=0), X)


def test_integer_and_zero_size_reductions():
    check(lambda i: (fnp.sum(i, axis=0), fnp.max(i, axis=1)), I)
    z = np.zeros((0, 3), np.float32)
    check(lambda x: (fnp.sum(x, axis=0), x + 1), z)


# ------------------------------------------------------------------ data movement


def test_shape_ops():
    def f(x):
        return [x.reshape(12) * 2, x.T + 1, x[1:, ::2] * 3, fnp.flip(x, 0) - x, fnp.broadcast_to(Y, (3, 4)) * x,
                fnp.expand_dims(x, 0) + 1, fnp.pad(x, ((1, 0), (0, 2))), fnp.concatenate([x, x * 2], axis=1),
                x.T, x.reshape(2, 6), x[:, 1]]

    check(f, X)


def test_reads_through_transpose_and_slice_fuse():
    sq = rng.standard_normal((4, 4)).astype(np.float32)
    # x[1:3, ::2].sum() is a reduction kernel; the rest, chains of views included, is one more
    exe = check(lambda x: fnp.tanh(x.T) + x[::-1] * x[1:3, ::2].sum() - fnp.broadcast_to(x[0], (4, 4)), sq)
    assert [s.kind for s in exe.plan] == ["kernel", "kernel"]
    exe = check(lambda x: x[::-1].T[1:, None, :] * 2 + fnp.flip(x[:, 0], 0), sq)
    assert [s.kind for s in exe.plan] == ["kernel"]


def test_cumulative_sort_argmax():
    check(lambda x: [fnp.cumsum(x, axis=1), fnp.cumprod(x, axis=0), fnp.sort(x, axis=1), fnp.argsort(x, axis=0),
                     fnp.argmax(x, axis=1), fnp.argmin(x, axis=0)], X, rtol=1e-5)


def test_gather_and_scatter():
    idx = np.array([2, 0, 1, 2], dtype=np.int32)
    check(lambda x, i: [x[:, i], fnp.take(x, i, axis=1), x[i[:2]]], X, idx)
    check(lambda x, i: fnp.asarray(x).at[1, i].add(1.0), X, idx)


# ------------------------------------------------------------------- matmul


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_variants(dtype):
    a = rng.standard_normal((3, 4)).astype(dtype)
    b = rng.standard_normal((4, 5)).astype(dtype)
    exe = check(lambda a, b: a @ b, a, b, rtol=1e-5)
    assert [s.kind for s in exe.plan] == ["blas"]
    check(lambda a, b: [a.T @ a, b @ b.T, a @ b[:, 0], a[0] @ b, fnp.einsum("ij,kj->ik", a, a)], a, b, rtol=1e-5)
    bb = rng.standard_normal((2, 3, 4)).astype(dtype)
    check(lambda x, y: [fnp.matmul(x, y), fnp.einsum("bij,bkj->bik", x, x)], bb, np.swapaxes(bb, 1, 2).copy(),
          rtol=1e-5)
    check(lambda x: fnp.matmul(np.ones((3, 3), dtype), x), a, rtol=1e-5)


def test_integer_matmul():
    check(lambda a, b: a @ b, I, I.T.copy())


def test_linalg_ops():
    a = rng.standard_normal((4, 4))
    spd = a @ a.T + 4 * np.eye(4)
    check(lambda m, v: [fnp.linalg.solve(m, v), fnp.linalg.cholesky(m), fnp.linalg.inv(m), fnp.linalg.det(m)],
          spd, np.ones(4), rtol=1e-10)


# -------------------------------------------------------------- control flow


def test_cond_and_switch():
    check(lambda x, y: lax.cond(y.sum() > 0, lambda a: a * 2, lambda a: a - 1, x), X, Y)
    check(lambda x, y: lax.cond(y.sum() < 0, lambda a: a * 2, lambda a: a - 1, x), X, Y)
    check(lambda x, i: lax.switch(i, [lambda a: a, lambda a: a * 2, lambda a: a * 3], x), X, np.int32(7))


@pytest.mark.parametrize("reverse", [False, True])
def test_scan(reverse):
    xs = rng.standard_normal((6, 4)).astype(np.float32)

    def f(c, xs):
        def body(c, x):
            c = c * 0.9 + fnp.tanh(x)
            return c, c.sum()

        return lax.scan(body, c, xs, reverse=reverse)

    exe = check(f, Y, xs)
    assert [s.kind for s in exe.plan] == ["control"]


def test_while_and_fori():
    check(lambda x: lax.while_loop(lambda c: c[0] < 10, lambda c: (c[0] + 1, c[1] * 1.1), (0, x)), X, rtol=1e-5)
    check(lambda x: lax.fori_loop(0, 5, lambda i, c: c + i, x), X)


def test_long_scan_compiles_like_a_short_one():
    f = lambda c: lax.fori_loop(0, 1000, lambda i, c: c * 0.999 + 0.001, c)  # noqa: E731
    exe = check(f, Y, rtol=1e-5)
    assert len(exe.plan) == 1


# ------------------------------------------------------------ transforms


def test_nested_jit_is_inlined():
    exe = check(lambda x: fnflow.jit(lambda a: fnp.tanh(a) * 2)(x) + 1, X)
    assert [s.kind for s in exe.plan] == ["kernel"]


def test_grad_graphs():
    w = rng.standard_normal((4, 3)).astype(np.float32)
    check(fnflow.grad(lambda x: fnp.sum(fnp.tanh(x) * 2 + 1)), Y)
    check(fnflow.grad(lambda w, x: fnp.mean(fnp.tanh(x @ w) ** 2)), w, X, rtol=1e-5)
    check(fnflow.grad(lambda x: fnp.sum(fnflow.nn.relu(x) ** 2)), X)
    check(fnflow.vmap(lambda a: a @ a), X)


def test_random_bits():
    import fnflow.random as fr

    check(lambda k: fr.normal(k, (5,)), fr.key(0), rtol=1e-5)


# ------------------------------------------------------------ property test

_SHAPES = [(), (1,), (4,), (3, 1), (1, 4), (3, 4), (2, 3, 4), (2, 1, 4)]


@given(st.sampled_from(_SHAPES), st.sampled_from(_SHAPES), st.sampled_from(["add", "mul", "max", "sub"]))
def test_broadcasting_property(s1, s2, op):
    try:
        np.broadcast_shapes(s1, s2)
    except ValueError:
        return
    a = np.linspace(-2, 2, int(np.prod(s1))).astype(np.float32).reshape(s1)
    b = np.linspace(1, 3, int(np.prod(s2))).astype(np.float32).reshape(s2)
    fn = getattr(ew, op)
    check(lambda x, y: (fnp.exp(fn(x, y)), fnp.sum(fn(x, y) * x)), a, b, rtol=1e-5)
