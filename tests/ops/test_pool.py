"""Window reductions (reduce_window_sum / reduce_window_max) and the pooling functions of
fnflow.nn.functional: values against a direct reference, Keras's "same" averaging rule, arg-max
tie breaking, derivatives (orders 1 and 2), vmap against loops, jit against eager, errors."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import fnflow as ff
from fnflow.nn import functional as F
from fnflow.ops import pool as P
from fnflow.ops.pool import reduce_window_max, reduce_window_sum, window_argmax
from fnflow.testing import check_grads

# ------------------------------------------------------------ reference


def ref_window(x, window, strides, padding, reducer, base_dilation=None):
    """Direct loops: every output element reduces its window of the dilated, padded operand."""
    x = np.asarray(x, np.float64)
    nd = x.ndim
    bd = base_dilation or (1,) * nd
    d = [(s - 1) * b + 1 for s, b in zip(x.shape, bd)]
    fill = 0.0 if reducer is np.sum else -np.inf
    xd = np.full(d, 0.0)
    xd[tuple(slice(None, None, b) for b in bd)] = x
    out_shape = [(lo + di + hi - w) // s + 1 for di, w, s, (lo, hi) in zip(d, window, strides, padding)]
    out = np.zeros(out_shape)
    for o in np.ndindex(*out_shape):
        vals = []
        for k in np.ndindex(*window):
            pos = [oi * s + ki - lo for oi, s, ki, (lo, _) in zip(o, strides, k, padding)]
            inside = all(0 <= p < di for p, di in zip(pos, d))
            vals.append(xd[tuple(pos)] if inside else fill)
        out[o] = reducer(vals)
    return out


def rng(seed=0):
    return np.random.default_rng(seed)


@st.composite
def window_configs(draw):
    nd = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(1, 5)) for _ in range(nd))
    window = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    strides = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    # padding smaller than the window: no window made of padding only
    padding = tuple((draw(st.integers(0, w - 1)), draw(st.integers(0, w - 1))) for w in window)
    assume(all(lo + s + hi >= w for s, w, (lo, hi) in zip(shape, window, padding)))
    return shape, window, strides, padding


@settings(max_examples=50)
@given(window_configs())
def test_values_match_direct_reference(cfg):
    shape, window, strides, padding = cfg
    x = rng(1).normal(size=shape)
    np.testing.assert_allclose(reduce_window_sum(x, window, strides, padding),
                               ref_window(x, window, strides, padding, np.sum), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(reduce_window_max(x, window, strides, padding),
                                  ref_window(x, window, strides, padding, np.max))


def test_sum_with_base_dilation_and_big_windows():
    x = rng(2).normal(size=(4, 5))
    got = reduce_window_sum(x, (3, 2), (1, 2), ((2, 1), (0, 1)), base_dilation=(2, 1))
    np.testing.assert_allclose(got, ref_window(x, (3, 2), (1, 2), ((2, 1), (0, 1)), np.sum, (2, 1)), rtol=1e-12)
    y = rng(3).normal(size=(2, 12, 11, 2))  # > 64 taps: one NumPy reduction over the window view
    np.testing.assert_allclose(reduce_window_sum(y, (1, 9, 8, 1), (1, 3, 3, 1)),
                               ref_window(y, (1, 9, 8, 1), (1, 3, 3, 1), ((0, 0),) * 4, np.sum), rtol=1e-12)
    np.testing.assert_array_equal(reduce_window_max(y, (1, 9, 8, 1), (1, 3, 3, 1)),
                                  ref_window(y, (1, 9, 8, 1), (1, 3, 3, 1), ((0, 0),) * 4, np.max))


def test_integer_max_pool_pads_with_the_lowest_value():
    x = -np.arange(1, 7, dtype=np.int32).reshape(1, 6, 1)
    out = F.max_pool1d(x.astype(np.float32), 4, 2, padding="same")
    np.testing.assert_array_equal(np.asarray(out).ravel(), [-1, -2, -4])
    got = reduce_window_max(x, (1, 4, 1), (1, 2, 1), "SAME")
    assert got.dtype == np.int32
    np.testing.assert_array_equal(np.asarray(got).ravel(), [-1, -2, -4])


# -------------------------------------------------------- Keras's rules


def test_avg_pool_same_divides_by_the_real_elements():
    x = np.ones((1, 5, 5, 1), np.float32)
    np.testing.assert_allclose(F.avg_pool2d(x, 3, 2, padding="same"), np.ones((1, 3, 3, 1)))
    x = np.arange(1.0, 6.0).reshape(1, 5, 1)
    # windows of 2 with stride 2, "same": [1 2] [3 4] [5 pad] -> 1.5 3.5 5
    np.testing.assert_allclose(np.asarray(F.avg_pool1d(x, 2, padding="same")).ravel(), [1.5, 3.5, 5.0])
    np.testing.assert_allclose(np.asarray(F.avg_pool1d(x, 2)).ravel(), [1.5, 3.5])
    y = rng(4).normal(size=(2, 6, 7, 3))
    pads = ((0, 0), (0, 1), (0, 1), (0, 0))
    want = (ref_window(y, (1, 3, 2, 1), (1, 2, 2, 1), pads, np.sum)
            / ref_window(np.ones(y.shape), (1, 3, 2, 1), (1, 2, 2, 1), pads, np.sum))
    np.testing.assert_allclose(F.avg_pool2d(y, (3, 2), 2, padding="same"), want, rtol=1e-12)


@pytest.mark.parametrize("size, pool, strides, padding, out", [
    (7, 2, None, "valid", 3), (7, 2, None, "same", 4), (7, 3, 1, "valid", 5), (7, 3, 1, "same", 7),
    (6, 3, 2, "same", 3), (5, 4, 3, "valid", 1)])
def test_pool_output_lengths_follow_keras(size, pool, strides, padding, out):
    x = rng(5).normal(size=(2, size, 3))
    assert F.max_pool1d(x, pool, strides, padding).shape == (2, out, 3)
    assert F.avg_pool1d(x, pool, strides, padding).shape == (2, out, 3)


def test_max_pool2d_channels_first_and_defaults():
    x = rng(6).normal(size=(2, 3, 6, 5))  # (N, C, H, W)
    y = F.max_pool2d(x, data_format="channels_first")
    want = np.transpose(np.asarray(F.max_pool2d(np.transpose(x, (0, 2, 3, 1)))), (0, 3, 1, 2))
    assert y.shape == (2, 3, 3, 2)
    np.testing.assert_array_equal(y, want)


def test_global_pools_and_upsampling():
    x = rng(7).normal(size=(2, 4, 5, 3))
    np.testing.assert_allclose(F.global_avg_pool(x), x.mean(axis=(1, 2)), rtol=1e-12)
    np.testing.assert_array_equal(F.global_max_pool(x), x.max(axis=(1, 2)))
    assert F.global_avg_pool(x, keepdims=True).shape == (2, 1, 1, 3)
    np.testing.assert_allclose(F.global_avg_pool(x, data_format="channels_first"), x.mean(axis=(2, 3)), rtol=1e-12)
    up = F.upsample_nearest2d(x, (2, 3))
    np.testing.assert_array_equal(up, np.repeat(np.repeat(x, 2, axis=1), 3, axis=2))
    upf = F.upsample_nearest2d(np.transpose(x, (0, 3, 1, 2)), 2, data_format="channels_first")
    np.testing.assert_array_equal(upf, np.transpose(np.repeat(np.repeat(x, 2, 1), 2, 2), (0, 3, 1, 2)))
    check_grads(lambda x: F.upsample_nearest2d(x, 2), (x,), order=2)
    check_grads(lambda x: F.global_max_pool(x) * F.global_avg_pool(x), (x,), order=2)


# ---------------------------------------------------------- derivatives

GRAD_CASES = [
    ((2, 5, 6, 3), (1, 2, 2, 1), (1, 2, 2, 1), "VALID"),
    ((2, 5, 6, 3), (1, 3, 3, 1), (1, 2, 2, 1), "SAME"),
    ((1, 7, 2), (1, 3, 1), (1, 1, 1), "SAME"),
    ((2, 6, 5, 2), (1, 3, 2, 1), (1, 1, 2, 1), ((0, 0), (1, 2), (1, 0), (0, 0))),
    ((3, 4), (2, 3), (2, 1), ((1, 1), (2, 2))),
]


@pytest.mark.parametrize("shape, window, strides, padding", GRAD_CASES)
def test_grads_orders_1_and_2(shape, window, strides, padding):
    x = rng(8).normal(size=shape)  # continuous random values: no ties
    check_grads(lambda x: reduce_window_sum(x, window, strides, padding), (x,), order=2)
    check_grads(lambda x: reduce_window_max(x, window, strides, padding), (x,), order=2)
    # a nonlinear function of the pool, so second derivatives are not all zero
    check_grads(lambda x: reduce_window_max(x, window, strides, padding) ** 2, (x,), order=2)


def test_functional_pool_grads():
    x = rng(9).normal(size=(2, 5, 5, 2))
    for fn in (F.max_pool2d, F.avg_pool2d):
        for padding in ("valid", "same"):
            check_grads(lambda x: fn(x, 2, 1, padding) ** 2, (x,), order=2)
    check_grads(lambda x: F.avg_pool1d(x[:, 0], 3, 2, "same"), (x,), order=2)


def test_max_pool_gradient_goes_to_the_first_maximum():
    x = np.array([[1.0, 3.0, 3.0, 0.0], [3.0, 2.0, 1.0, 1.0]]).reshape(1, 2, 4, 1)
    g = ff.grad(lambda x: F.max_pool2d(x, 2).sum())(x)
    want = np.array([[0, 1, 1, 0], [0, 0, 0, 0]]).reshape(1, 2, 4, 1)  # tie 3 at (0, 1) and (1, 0): first
    np.testing.assert_array_equal(g, want)
    idx = window_argmax(np.ones((1, 2, 4, 1)), (1, 2, 2, 1), (1, 2, 2, 1))
    np.testing.assert_array_equal(np.asarray(idx).ravel(), [0, 0])
    # overlapping windows accumulate at a shared maximum
    y = np.array([0.0, 5.0, 1.0, 2.0]).reshape(1, 4, 1)
    np.testing.assert_array_equal(np.asarray(ff.grad(lambda y: F.max_pool1d(y, 2, 1).sum())(y)).ravel(),
                                  [0, 2, 0, 1])


def test_max_pool_second_derivative_is_the_gather_transposed():
    x = rng(10).normal(size=(2, 4, 4, 2))
    f = lambda x: (F.max_pool2d(x, 2, 1, "same") ** 3).sum()  # noqa: E731
    h = ff.jacfwd(ff.grad(f))(x)  # Hessian: diagonal, 6 * pooled value (times multiplicity^2)
    assert h.shape == x.shape * 2
    check_grads(ff.grad(f), (x,), order=1)


# --------------------------------------------------------------- vmap


def test_vmap_matches_loops():
    xs = rng(11).normal(size=(3, 2, 5, 6, 2))
    for fn in (lambda x: F.max_pool2d(x, 2, 1, "same"), lambda x: F.avg_pool2d(x, 3, 2, "same"),
               lambda x: F.global_max_pool(x)):
        np.testing.assert_allclose(ff.vmap(fn)(xs), np.stack([fn(x) for x in xs]), rtol=1e-12)
        g = ff.grad(lambda x: (fn(x) ** 2).sum())
        np.testing.assert_allclose(ff.vmap(g, in_axes=2)(xs.transpose(1, 2, 0, 3, 4)),
                                   np.stack([g(x) for x in xs]), rtol=1e-12)


def test_vmap_of_second_order_and_of_the_transpose_ops():
    xs = rng(12).normal(size=(2, 1, 4, 4, 1))
    f = lambda x: (F.max_pool2d(x, 2, 1) ** 3).sum()  # noqa: E731
    hv = lambda x: ff.jvp(ff.grad(f), (x,), (np.ones_like(x),))[1]  # noqa: E731
    np.testing.assert_allclose(ff.vmap(hv)(xs), np.stack([hv(x) for x in xs]), rtol=1e-12)


# ------------------------------------------------------------- jit, graphs


def test_jit_agrees_with_eager():
    x = rng(13).normal(size=(2, 6, 6, 3)).astype(np.float32)

    def loss(x):
        return (F.max_pool2d(x, 2) ** 2).sum() + (F.avg_pool2d(x, 3, 2, "same") ** 2).sum()

    np.testing.assert_allclose(ff.jit(loss)(x), loss(x), rtol=1e-5)
    np.testing.assert_allclose(ff.jit(ff.grad(loss))(x), ff.grad(loss)(x), rtol=1e-5, atol=1e-6)
    names = [e.prim.name for e in ff.make_graph(ff.grad(loss))(x).eqns]
    # the gradient takes the maximum and its arg-max from one pass (never recomputes the maximum)
    assert {"window_max_argmax", "window_scatter_add", "reduce_window_sum"} <= set(names)
    assert "window_argmax" not in names and "reduce_window_max" not in names


def test_max_argmax_is_both_in_one_and_differentiates():
    x = rng(14).normal(size=(2, 5, 4, 3))
    w = dict(window_dimensions=(1, 2, 3, 1), window_strides=(1, 2, 1, 1), padding=((0, 0), (1, 0), (0, 1), (0, 0)))
    m, i = P.window_max_argmax_p.bind(x, **w)
    np.testing.assert_array_equal(m, P.reduce_window_max(x, **w))
    np.testing.assert_array_equal(i, P.window_argmax(x, **w))
    xs = rng(15).normal(size=(3,) + x.shape)
    mv, iv = ff.vmap(lambda a: tuple(P.window_max_argmax_p.bind(a, **w)))(xs)
    np.testing.assert_array_equal(iv, np.stack([P.window_argmax(a, **w) for a in xs]))
    check_grads(lambda a: P.reduce_window_max(a, **w), (x,), order=2)


# ------------------------------------------------- compiled CPU kernels == impl

# (shape, window, strides, padding): channels-last 2-d and 1-d windows the kernels take, and one they
# pass to the impl (a window over the batch axis)
KERNEL_CASES = [
    ((2, 6, 7, 3), (1, 2, 2, 1), (1, 2, 2, 1), ((0, 0),) * 4),
    ((2, 5, 5, 2), (1, 2, 2, 1), (1, 2, 2, 1), ((0, 0),) * 4),
    ((2, 6, 5, 3), (1, 3, 2, 1), (1, 1, 2, 1), ((0, 0), (1, 1), (0, 1), (0, 0))),
    ((1, 4, 4, 2), (1, 3, 3, 1), (1, 2, 2, 1), ((0, 0), (2, 2), (2, 2), (0, 0))),
    ((2, 7, 3), (1, 3, 1), (1, 2, 1), ((0, 0), (1, 1), (0, 0))),
    ((2, 4, 4, 3), (2, 2, 1, 1), (1, 1, 1, 1), ((0, 0),) * 4),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, window, strides, padding", KERNEL_CASES)
def test_cpu_kernels_match_impls(shape, window, strides, padding, dtype):
    from fnflow.backends.cpu.kernels import pool as K

    w = dict(window_dimensions=window, window_strides=strides, padding=padding)
    # ties (rounded values), -inf and NaN: the first maximum wins, a NaN window has arg-max 0
    x = np.round(rng(16).normal(size=shape) * 2).astype(dtype)
    x.flat[1], x.flat[5], x.flat[-1] = -np.inf, np.nan, np.nan
    m, i = K.window_max_argmax(x, **w)
    m0, i0 = P._max_argmax_impl(x, **w)
    np.testing.assert_array_equal(m, m0)
    np.testing.assert_array_equal(i, i0)
    assert m.dtype == dtype and m.shape == m0.shape
    ct = rng(17).normal(size=m.shape).astype(dtype)
    # overlapping windows add in another order
    np.testing.assert_allclose(K.window_scatter_add(ct, i0, shape, **w), P._scatter_impl(ct, i0, shape, **w),
                               rtol=1e-6, atol=1e-6)
    t = rng(18).normal(size=shape).astype(dtype)
    np.testing.assert_array_equal(K.window_gather(t, i0, **w), P._gather_impl(t, i0, **w))


def test_jit_uses_the_cpu_kernels_and_agrees_with_eager():
    x = rng(19).normal(size=(3, 8, 7, 4)).astype(np.float32)

    def loss(x):
        return (F.max_pool2d(x, 2) ** 2).sum() + (F.max_pool1d(x[:, 0], 3, 2, "same") ** 3).sum()

    assert P.reduce_window_max_p.lowerings["cpu"] is not None
    np.testing.assert_allclose(ff.jit(loss)(x), loss(x), rtol=1e-5)
    np.testing.assert_allclose(ff.jit(ff.grad(loss))(x), ff.grad(loss)(x), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- errors


def test_error_messages():
    with pytest.raises(ValueError, match=r"reduce_window_max: the window \(1, 5, 1\) is larger"):
        reduce_window_max(np.ones((1, 3, 1)), (1, 5, 1))
    with pytest.raises(ValueError, match="one entry per axis"):
        reduce_window_sum(np.ones((2, 3)), (2,))
    with pytest.raises(ValueError, match="positive"):
        reduce_window_sum(np.ones((2, 3)), (1, 1), (0, 1))
    with pytest.raises(ValueError, match="max_pool2d: expected a 4-d input"):
        F.max_pool2d(np.ones((3, 4, 4)))
    with pytest.raises(ValueError, match="avg_pool2d: padding must be one of"):
        F.avg_pool2d(np.ones((1, 4, 4, 1)), padding="full")
    with pytest.raises(ValueError, match="pool_size"):
        F.max_pool2d(np.ones((1, 4, 4, 1)), (2, 2, 2))
