"""The CPU backend's plan: fusion, graph passes, buffer planning, kernel reuse, outputs and inputs."""

import numpy as np
import pytest

import fnflow
import fnflow.numpy as fnp
from fnflow.backends.cpu import cache, compile_graph, passes

rng = np.random.default_rng(1)
X = rng.standard_normal((4, 4)).astype(np.float32)
W = rng.standard_normal((4, 4)).astype(np.float32)


def compiled(f, *args):
    return compile_graph(fnflow.make_graph(f)(*args))


def kinds(exe):
    return [s.kind for s in exe.plan]


def test_fused_chain_and_reduction_is_one_kernel():
    x = np.linspace(0, 1, 10, dtype=np.float32)
    exe = compiled(lambda x: fnp.sum(fnp.tanh(x) * 2 + 1), x)
    assert kinds(exe) == ["kernel"]
    assert exe.kernels[0].name == "tanh_mul_add_reduce_sum"
    assert "for i0" in exe.kernels[0].info.source
    np.testing.assert_allclose(exe(x)[0], np.sum(np.tanh(x) * 2 + 1), rtol=1e-6)
    assert "kernel" in str(exe)


def test_multi_output_kernel():
    # the intermediate exp(x) is needed outside: the same kernel writes it too
    exe = compiled(lambda x: (fnp.exp(x), fnp.sum(fnp.exp(x) * 2, axis=1)), X)
    assert kinds(exe) == ["kernel"]
    e, s = exe(X)
    np.testing.assert_allclose(e, np.exp(X), rtol=1e-6)
    np.testing.assert_allclose(s, np.sum(np.exp(X) * 2, axis=1), rtol=1e-6)


def test_dead_code_is_dropped():
    exe = compiled(lambda x: (fnp.sort(fnp.exp(x)), x * 2)[1], X)
    assert kinds(exe) == ["kernel"]
    assert "exp" not in exe.kernels[0].info.source


def test_common_subexpressions_are_merged():
    exe = compiled(lambda x: fnp.sort(x, axis=1) + fnp.sort(x, axis=1) * fnp.sin(x) + fnp.sin(x), X)
    assert kinds(exe) == ["impl", "kernel"]
    assert exe.kernels[0].info.source.count("np.sin") == 1
    s = np.sort(X, axis=1)
    np.testing.assert_allclose(exe(X)[0], s + s * np.sin(X) + np.sin(X), rtol=1e-6)


def test_constant_folding():
    c = np.arange(4, dtype=np.float32)
    traced = fnflow.make_graph(lambda x, c, s: x + fnp.exp(c) * 2 + fnp.sin(s))(X, c, np.float32(1.0))
    # the same graph with c and s as constants (as when a jitted function closes over traced values)
    g = fnflow.Graph(traced.invars[1:], traced.invars[:1], traced.outvars, traced.eqns, [c, np.float32(1.0)])
    assert {e.prim.name for e in g.eqns} >= {"exp", "sin"}
    folded = passes.fold_constants(g)
    assert {e.prim.name for e in folded.eqns} == {"add"}
    exe = compile_graph(g)
    assert kinds(exe) == ["kernel"]
    assert "exp" not in exe.kernels[0].info.source
    np.testing.assert_allclose(exe(X)[0], X + np.exp(c) * 2 + np.sin(np.float32(1.0)), rtol=1e-6)
    # a graph of constants only: no step at all
    exe = compiled(lambda x: fnp.ones((2, 3)) * 2 + fnp.arange(3), X)
    assert exe.plan == []
    np.testing.assert_array_equal(exe(X)[0], np.ones((2, 3)) * 2 + np.arange(3))


def test_buffers_are_reused():
    def f(x, w):
        a = x @ w
        b = a @ w
        c = b @ w
        d = c @ w
        return d @ w

    exe = compiled(f, X, W)
    assert kinds(exe) == ["blas"] * 5
    assert exe.num_intermediates == 5
    assert exe.num_buffers == 2  # ping-pong: each product goes where the one before last was
    np.testing.assert_allclose(exe(X, W)[0], X @ W @ W @ W @ W @ W, rtol=1e-4)


def test_elementwise_kernel_writes_in_place():
    exe = compiled(lambda x, w: fnp.exp(x @ w) @ w, X, W)
    assert kinds(exe) == ["blas", "kernel", "blas"]
    assert exe.num_buffers == 2  # exp overwrites the product it reads
    np.testing.assert_allclose(exe(X, W)[0], np.exp(X @ W) @ W, rtol=1e-5)


def test_inputs_are_never_written():
    x = X.copy()
    exe = compiled(lambda x: fnp.exp(x) + 1, x)
    exe(x)
    np.testing.assert_array_equal(x, X)


def test_outputs_are_read_only_and_fresh():
    exe = compiled(lambda x: (x * 2, x), X)
    a, same = exe(X)
    assert isinstance(a, fnflow.Array) and not a.flags.writeable
    assert not same.flags.writeable
    with pytest.raises((TypeError, ValueError)):
        a[0, 0] = 1.0
    b, _ = exe(X + 1)
    np.testing.assert_array_equal(a, X * 2)  # the second call did not reuse the first result
    np.testing.assert_array_equal(b, (X + 1) * 2)


def test_inputs_are_canonicalised_and_checked():
    exe = compiled(lambda x: fnp.tanh(x) * 3, X)
    want = np.tanh(X) * 3
    xt = np.ascontiguousarray(X.T).T  # a non-contiguous view with X's values
    ro = fnp.asarray(X)  # a read-only fnflow.Array
    for arg in (xt, ro, X.astype(np.float64), X.tolist()):
        np.testing.assert_allclose(exe(arg)[0], want, rtol=1e-6)
    with pytest.raises(TypeError, match="input 0"):
        exe(np.zeros((3, 4), np.float32))
    scalar = compiled(lambda s, x: x * s, np.float32(2), X)
    np.testing.assert_allclose(scalar(2.0, X)[0], X * 2)


def test_kernels_are_shared_between_graphs():
    f = lambda x: fnp.cos(x) * 2 - 1  # noqa: E731
    first = compiled(f, np.ones((2, 6), np.float32))
    before = cache.stats["compiled"] + cache.stats["disk"]
    hits = cache.stats["memory"]
    second = compiled(f, np.ones((5, 3), np.float32))  # another shape of the same rank: the same kernel
    assert cache.stats["compiled"] + cache.stats["disk"] == before
    assert cache.stats["memory"] == hits + 1
    assert first.kernels[0].info.source == second.kernels[0].info.source
    np.testing.assert_allclose(second(np.full((5, 3), 0.5, np.float32))[0], np.cos(np.full((5, 3), 0.5)) * 2 - 1,
                               rtol=1e-6)


def test_kernel_that_does_not_compile_falls_back_to_impl(monkeypatch):
    def broken(ks):
        raise RuntimeError("numba said no")

    monkeypatch.setattr(cache, "get_kernel", broken)
    exe = compiled(lambda x: fnp.sum(fnp.exp(x) * 2, axis=0), X)
    assert kinds(exe) == ["impl", "impl", "impl"]
    np.testing.assert_allclose(exe(X)[0], np.sum(np.exp(X) * 2, axis=0), rtol=1e-6)


def test_unsupported_dtype_is_not_fused():
    h = X.astype(np.float16)
    exe = compiled(lambda x: x * 2 + 1, h)
    assert set(kinds(exe)) == {"impl"}
    np.testing.assert_array_equal(exe(h)[0], h * 2 + 1)


def test_effectful_primitives_are_kept():
    import fnflow.debug

    def g(x):
        fnflow.debug.print("x={x}", x=x)
        fnflow.debug.print("x={x}", x=x)
        return x + 1

    exe = compiled(g, np.ones(2, np.float32))
    assert [s.name for s in exe.plan].count("debug_print") == 2


def test_inputs_of_numpy_calls_enter_as_plain_ndarrays():
    # an fnflow.Array operand would cost its __array_ufunc__ on every np.matmul; kernels take it as it is
    exe = compiled(lambda a, b, c: fnp.tanh(c) + a @ b, np.ones((2, 3), np.float32), np.ones((3, 2), np.float32),
                   np.ones((2, 2), np.float32))
    lines = exe.source.splitlines()
    assert "x0 = _asarray(x0" in exe.source and "x1 = _asarray(x1" in exe.source
    assert any(ln.strip().startswith("x2 = _asany(x2") for ln in lines)
    out = exe(fnp.ones((2, 3)), fnp.ones((3, 2)), fnp.zeros((2, 2)))[0]
    np.testing.assert_array_equal(out, np.full((2, 2), 3.0, np.float32))
