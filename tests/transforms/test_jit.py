"""jit: caching, static arguments, composition with every transform, config switches."""

import logging

import numpy as np
import pytest

import fnflow
import fnflow.numpy as fnp
from fnflow.testing import check_grads
from fnflow.transforms import jit as jit_mod


def f(x):
    return fnp.sum(fnp.tanh(x) * 2.0 + 1.0)


X = np.linspace(-1, 1, 5).astype(np.float32)


def test_jit_equals_eager_values_dtypes_shapes():
    def g(x, y):
        return {"a": x * y + 1, "b": fnp.exp(x).sum(), "c": (x > 0)}

    y = np.arange(5, dtype=np.float32)
    out, ref = fnflow.jit(g)(X, y), g(X, y)
    for k in ref:
        assert out[k].dtype == ref[k].dtype and out[k].shape == ref[k].shape
        np.testing.assert_allclose(out[k], ref[k], rtol=1e-6)
        assert not out[k].flags.writeable


def test_second_call_runs_no_python_and_compiles_nothing():
    calls = []

    def g(x):
        calls.append(1)
        return fnp.sin(x) * 3

    jg = fnflow.jit(g)
    jg(X)
    before = jit_mod.compile_count
    for _ in range(3):
        np.testing.assert_allclose(jg(X), np.sin(X) * 3, rtol=1e-6)
    assert len(calls) == 1 and jg.trace_count == 1 and jit_mod.compile_count == before
    jg(np.zeros(3, np.float32))  # new shape -> one new trace
    assert len(calls) == 2 and jg.trace_count == 2
    jg(np.zeros(3, np.float64))  # new dtype -> one new trace
    assert jg.trace_count == 3


def test_pytree_args_and_kwargs_are_part_of_the_key():
    jg = fnflow.jit(lambda p, *, scale: p["w"] * scale)
    np.testing.assert_allclose(jg({"w": X}, scale=np.float32(2)), X * 2)
    np.testing.assert_allclose(jg({"w": X}, scale=np.float32(3)), X * 3)
    assert jg.trace_count == 1


def test_static_arguments():
    calls = []

    def g(x, n, mode="sum"):
        calls.append((n, mode))
        y = x ** n
        return fnp.sum(y) if mode == "sum" else fnp.max(y)

    jg = fnflow.jit(g, static_argnums=1, static_argnames="mode")
    assert jg(X, 2) == pytest.approx(float(np.sum(X ** 2)), rel=1e-6)
    jg(X, 2)
    assert jg(X, 3, mode="max") == pytest.approx(float(np.max(X ** 3)), rel=1e-6)
    assert calls == [(2, "sum"), (3, "max")]


def test_unhashable_static_argument_is_rejected_by_name():
    jg = fnflow.jit(lambda x, shape: x.reshape(shape), static_argnames="shape")
    with pytest.raises(TypeError, match="static argument 'shape'.*hashable"):
        jg(X, shape=[5, 1])
    assert jg(X, shape=(5, 1)).shape == (5, 1)


def test_composition_with_grad_vmap_jvp():
    g = fnflow.grad(f)(X)
    np.testing.assert_allclose(fnflow.jit(fnflow.grad(f))(X), g, rtol=1e-6)
    np.testing.assert_allclose(fnflow.grad(fnflow.jit(f))(X), g, rtol=1e-6)
    np.testing.assert_allclose(fnflow.jit(fnflow.jit(fnflow.grad(f)))(X), g, rtol=1e-6)
    xs = np.stack([X, X * 2, -X])
    ref = np.stack([f(x) for x in xs])
    np.testing.assert_allclose(fnflow.vmap(fnflow.jit(f))(xs), ref, rtol=1e-6)
    np.testing.assert_allclose(fnflow.jit(fnflow.vmap(f))(xs), ref, rtol=1e-6)
    np.testing.assert_allclose(fnflow.vmap(fnflow.jit(fnflow.grad(f)))(xs),
                               np.stack([fnflow.grad(f)(x) for x in xs]), rtol=1e-6)
    t = np.ones_like(X)
    p, tan = fnflow.jvp(fnflow.jit(f), (X,), (t,))
    p2, tan2 = fnflow.jvp(f, (X,), (t,))
    np.testing.assert_allclose(tan, tan2, rtol=1e-5)


def test_grad_of_jit_runs_python_once_and_agrees_with_finite_differences():
    calls = []

    def g(x):
        calls.append(1)
        return fnp.sum(fnp.sin(x) * x)

    jg = fnflow.jit(g)
    x = np.linspace(0.1, 1, 4)
    check_grads(jg, (x,), order=2, modes=("fwd", "rev"))
    gj = fnflow.grad(jg)
    gj(x)
    n = len(calls)
    gj(x)
    gj(x)
    assert len(calls) == n  # neither forward nor backward retraced


def test_closure_over_outer_tracer():
    def outer(x):
        return fnflow.jit(lambda y: fnp.sum(x * y))(np.float64(3.0))

    np.testing.assert_allclose(fnflow.grad(outer)(2.0), 3.0)


def test_log_compiles_names_the_changed_part(caplog):
    jg = fnflow.jit(lambda x: x + 1)
    with fnflow.config.override(log_compiles=True), caplog.at_level(logging.WARNING, logger="fnflow"):
        jg(np.zeros(2, np.float32))
        jg(np.zeros(2, np.float32))
        jg(np.zeros(3, np.float32))
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 2
    assert "first call" in msgs[0] and "f32[2] -> f32[3]" in msgs[1]


def test_debug_nans_names_the_op():
    def g(x):
        y = x * 2
        return fnp.log(y - 10)

    with fnflow.config.override(debug_nans=True):
        with pytest.raises(FloatingPointError, match="'log'"):
            fnflow.jit(g)(np.ones(3, np.float32))


def test_disable_jit_runs_python_each_time():
    calls = []
    jg = fnflow.jit(lambda x: calls.append(1) or x * 2)
    with fnflow.config.override(disable_jit=True):
        jg(X)
        jg(X)
    assert len(calls) == 2


def test_debug_print_prints_at_run_time(capsys):
    def g(x):
        fnflow.debug.print("x={x}", x=x)
        return x + 1

    jg = fnflow.jit(g)
    jg(np.array([1.0, 2.0], np.float32))
    jg(np.array([3.0, 4.0], np.float32))
    out = capsys.readouterr().out.splitlines()
    assert out == ["x=[1. 2.]", "x=[3. 4.]"]


def test_make_graph_of_jitted_function():
    g = fnflow.jit(f).make_graph(X)
    text = str(g)
    assert "tanh" in text and "reduce_sum" in text and "f32[5]" in text


def test_jvp_through_jit_with_a_while_loop():
    from fnflow import lax

    f = fnflow.jit(lambda a: lax.while_loop(lambda s: s < 10.0, lambda s: s * a, 1.0))
    p, t = fnflow.jvp(f, (np.float32(2.0),), (np.float32(1.0),))
    assert float(p) == 16.0 and float(t) == 32.0  # s = a**4, ds/da = 4 a**3
    with pytest.raises(TypeError, match="while_loop is not supported"):
        fnflow.grad(f)(np.float32(2.0))


def test_debug_nans_names_the_function_on_the_fast_path():
    def my_fn(x):
        return fnp.log(x - 10)

    jf = fnflow.jit(my_fn)
    with fnflow.config.override(debug_nans=True):
        with pytest.raises(FloatingPointError, match="my_fn"):
            jf(np.ones(3, np.float32))
