"""The CPU backend's speed paths keep eager results: vectorizable float32 math, one-thread GEMMs, scan loops.

- ``vecmath``: float32 ``exp``/``tanh``/``logistic`` within 3 ulp of NumPy's
  over their whole range (denormals, overflow, infinities and NaN included);
- ``blas``: small and thin products run on one BLAS thread and give the same
  numbers; the thread count is put back afterwards, also when nested;
- ``scan``: the generated loop writes every stacked output, forward and
  reversed, with and without carries.
"""

import numpy as np
import pytest
from numba import njit

import fnflow
import fnflow.nn
import fnflow.numpy as fnp
from fnflow import lax
from fnflow.backends.cpu import blas, compile_graph, vecmath

rng = np.random.default_rng(0)


@njit(error_model="numpy")
def _apply(which, a, o):
    for i in range(a.shape[0]):
        if which == 0:
            o[i] = vecmath.exp_f32(a[i])
        elif which == 1:
            o[i] = vecmath.tanh_f32(a[i])
        else:
            o[i] = vecmath.logistic_f32(a[i])


def _ulps(a, b):
    """Distance in float32 units in the last place (same-sign ordering of the bit patterns)."""
    ia = a.astype(np.float32).view(np.int32).astype(np.int64)
    ib = b.astype(np.float32).view(np.int32).astype(np.int64)
    ia = np.where(ia < 0, -(ia & 0x7FFFFFFF), ia)
    ib = np.where(ib < 0, -(ib & 0x7FFFFFFF), ib)
    return np.abs(ia - ib)


def _logistic_ref(x):
    x = x.astype(np.float64)
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 1e-40, 88.72, 88.73, -87.3, -103.9, -104.0,
                    89.0, -150.0, 0.625, -0.625, 0.62499994, 9.0, -9.0, 44.0], np.float32)
GRID = np.concatenate([np.linspace(-110, 95, 400_001, dtype=np.float32),
                       np.linspace(-1, 1, 100_001, dtype=np.float32), SPECIAL])


@pytest.mark.parametrize("which, ref", [(0, np.exp), (1, np.tanh), (2, _logistic_ref)], ids=["exp", "tanh", "logistic"])
def test_vecmath_within_3_ulp_of_numpy(which, ref):
    got = np.empty_like(GRID)
    _apply(which, GRID, got)
    with np.errstate(all="ignore"):
        want = ref(GRID.astype(np.float64)).astype(np.float32)
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    finite = np.isfinite(want)
    assert same[~finite].all(), GRID[~finite & ~same]  # inf, -inf and NaN exactly where NumPy has them
    assert _ulps(got[finite], want[finite]).max() <= 3
    assert np.isnan(got[np.isnan(GRID)]).all()


def test_generated_kernels_use_vecmath_for_float32_only():
    x32 = rng.standard_normal((5, 7)).astype(np.float32)
    f = lambda x: fnp.exp(x) + fnp.tanh(x) * fnflow.nn.sigmoid(x)  # noqa: E731
    exe = compile_graph(fnflow.make_graph(f)(x32))
    src = exe.kernels[0].info.source
    assert "vm.exp_f32" in src and "vm.tanh_f32" in src and "vm.logistic_f32" in src
    np.testing.assert_allclose(exe(x32)[0], f(x32), rtol=1e-6)
    x64 = x32.astype(np.float64)
    exe64 = compile_graph(fnflow.make_graph(f)(x64))
    assert "vm." not in exe64.kernels[0].info.source
    np.testing.assert_allclose(exe64(x64)[0], f(x64), rtol=1e-12)


def test_single_thread_policy():
    assert blas.single_threaded(1, 64, 128, 512)  # an LSTM step's h @ W
    assert blas.single_threaded(1, 3200, 32, 512)  # thin: bound by writing the output
    assert not blas.single_threaded(1, 128, 784, 512)  # W1's first layer keeps both threads
    assert not blas.single_threaded(1, 2048, 2048, 2048)


@pytest.mark.skipif(not blas.available(), reason="NumPy's OpenBLAS not found")
def test_small_matmul_restores_the_thread_count():
    get, set_ = blas._functions()
    before = get()
    mm = blas.make_matmul_small()
    a, b = rng.standard_normal((8, 5)).astype(np.float32), rng.standard_normal((5, 3)).astype(np.float32)
    out = np.empty((8, 3), np.float32)
    mm(a, b, out)
    np.testing.assert_allclose(out, a @ b, rtol=1e-6)
    assert get() == before
    blas._enter(set_)  # nested: only the outermost exit restores
    mm(a, b, out)
    assert get() == 1
    blas._exit(set_)
    assert get() == before


@pytest.mark.skipif(not blas.available(), reason="NumPy's OpenBLAS not found")
def test_small_products_compile_to_the_one_thread_call():
    w = rng.standard_normal((6, 4)).astype(np.float32)
    x = rng.standard_normal((3, 6)).astype(np.float32)
    exe = compile_graph(fnflow.make_graph(lambda x, w: x @ w)(x, w))
    assert "_mm" in exe.source
    np.testing.assert_allclose(exe(x, w)[0], x @ w, rtol=1e-6)


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_writes_every_stacked_output(reverse):
    xs = rng.standard_normal((5, 3)).astype(np.float32)
    c0 = rng.standard_normal(3).astype(np.float32)

    def f(c, xs):
        def body(c, x):
            h = fnp.tanh(c * 0.5 + x)
            return h, (h * 2, fnp.sum(h), x + 1)

        return lax.scan(body, c, xs, reverse=reverse)

    exe = compile_graph(fnflow.make_graph(f)(c0, xs))
    got = exe(c0, xs)
    want = fnflow.tree_util.tree_leaves(f(c0, xs))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-7)
    again = exe(c0 + 1, xs)  # buffers kept across calls: a second call sees its own inputs
    for g, w in zip(again, fnflow.tree_util.tree_leaves(f(c0 + 1, xs))):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-7)


def test_scan_without_carry():
    xs = rng.standard_normal((4, 2)).astype(np.float32)
    f = lambda xs: lax.scan(lambda c, x: (c, fnp.exp(x)), (), xs)[1]  # noqa: E731
    got = compile_graph(fnflow.make_graph(f)(xs))(xs)
    np.testing.assert_allclose(got[0], np.exp(xs), rtol=1e-6)


@pytest.mark.skipif(not blas.available(), reason="NumPy's OpenBLAS not found")
def test_adaptive_functions_use_one_thread_only_when_busy(monkeypatch):
    get, _ = blas._functions()
    before = get()
    seen = []
    run = blas.adaptive(lambda: seen.append(get()))
    monkeypatch.setattr(blas, "busy", lambda: True)
    run()
    monkeypatch.setattr(blas, "busy", lambda: False)
    run()
    assert seen == [1, before] and get() == before


def test_out_params_compute_outputs_into_given_arrays():
    x = rng.standard_normal((4, 3)).astype(np.float32)
    graph = fnflow.make_graph(lambda x: (fnp.exp(x) * 2, x, fnp.sum(x)))(x)
    exe = compile_graph(graph, readonly_outputs=False, out_params=True)
    assert exe.direct_outputs == {0}  # an input passed through and a 0-d result are not written into
    out = np.zeros((4, 3), np.float32)
    got = exe(x, out)
    assert got[0] is out
    np.testing.assert_allclose(out, np.exp(x) * 2, rtol=1e-6)
    fresh = exe(x)  # without one: a new array
    assert fresh[0] is not out
    np.testing.assert_allclose(fresh[0], out)
