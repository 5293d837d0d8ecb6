"""The graph IR: make_graph's printed form, tracing transformed functions, evaluating graphs."""

import numpy as np

import fnflow
import fnflow.numpy as fnp
from fnflow.core.abstract import ShapedArray
from fnflow.core.graph import eval_graph, trace_to_graph


def small(x, w):
    return fnp.sum(fnp.tanh(x @ w) * 2.0, axis=0)


X = np.ones((2, 3), np.float32)
W = np.full((3, 4), 0.1, np.float32)


def test_printed_graph_exact():
    g = fnflow.make_graph(small)(X, W)
    assert str(g) == (
        "{ lambda ; a:f32[2,3] b:f32[3,4]. let\n"
        "    c:f32[2,4] = dot_general[dimension_numbers=(((1,), (0,)), ((), ()))] a b\n"
        "    d:f32[2,4] = tanh c\n"
        "    e:f32[2,4] = mul d 2.0:f32[]\n"
        "    f:f32[4] = reduce_sum[axes=(0,)] e\n"
        "  in (f) }")
    assert repr(g) == str(g)


def test_graph_metadata_and_evaluation():
    g = fnflow.make_graph(small)(X, W)
    assert [str(a) for a in g.in_avals] == ["f32[2,3]", "f32[3,4]"]
    assert [str(a) for a in g.out_avals] == ["f32[4]"]
    assert str(g.in_tree) == "PyTreeDef((*, *))" and str(g.out_tree) == "PyTreeDef(*)"
    (out,) = g(X, W)
    np.testing.assert_allclose(out, np.asarray(small(X, W)), rtol=1e-6)
    assert out.dtype == np.float32


def test_make_graph_accepts_shape_structs_and_pytrees():
    g = fnflow.make_graph(lambda p: {"y": p["a"] + p["b"]})(
        {"a": fnflow.ShapeDtypeStruct((3,), np.float64), "b": np.ones(3)})
    assert str(g) == ("{ lambda ; a:f64[3] b:f64[3]. let\n"
                      "    c:f64[3] = add a b\n"
                      "  in (c) }")
    assert str(g.out_tree) == "PyTreeDef({'y': *})"


def test_captured_constants_become_constvars():
    c = np.arange(3.0)
    g = fnflow.make_graph(lambda x: x * c)(np.ones(3))
    assert str(g).splitlines()[0] == "{ lambda a:f64[3] ; b:f64[3]. let"
    np.testing.assert_array_equal(g.consts[0], c)
    np.testing.assert_allclose(g(np.full(3, 2.0))[0], 2 * c)


def test_graph_of_grad_and_vmap():
    gg = fnflow.make_graph(fnflow.grad(lambda x, w: fnp.sum(small(x, w))))(X, W)
    text = str(gg)
    assert "dot_general" in text and "tanh" in text
    assert text.splitlines()[-1].startswith("  in (")
    assert [str(a) for a in gg.out_avals] == ["f32[2,3]"]
    np.testing.assert_allclose(gg(X, W)[0], fnflow.grad(lambda x, w: fnp.sum(small(x, w)))(X, W), rtol=1e-6)
    gv = fnflow.make_graph(fnflow.vmap(small, in_axes=(0, None)))(np.ones((5, 2, 3), np.float32), W)
    assert [str(a) for a in gv.out_avals] == ["f32[5,4]"]
    assert "reduce_sum[axes=(1,)]" in str(gv)
    xs = np.random.default_rng(0).normal(size=(5, 2, 3)).astype(np.float32)
    np.testing.assert_allclose(gv(xs, W)[0], fnflow.vmap(small, in_axes=(0, None))(xs, W), rtol=1e-6)


def test_transforms_of_a_graph_evaluation():
    g = fnflow.make_graph(lambda x: fnp.sin(x) * x)(np.ones(3))
    run = lambda x: fnp.sum(eval_graph(g, x)[0])
    x = np.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(fnflow.grad(run)(x), np.cos(x) * x + np.sin(x))
    batched = fnflow.vmap(lambda x: eval_graph(g, x)[0])(np.ones((2, 3)))
    np.testing.assert_allclose(batched, np.sin(1.0) * np.ones((2, 3)))


def test_trace_to_graph_directly():
    g = trace_to_graph(lambda a, b: [a * b, a - b], [ShapedArray((2,), np.float32)] * 2)
    assert len(g.eqns) == 2 and [e.prim.name for e in g.eqns] == ["mul", "sub"]
    outs = g(np.array([1.0, 2.0], np.float32), np.array([3.0, 4.0], np.float32))
    np.testing.assert_allclose(outs[0], [3.0, 8.0])
    np.testing.assert_allclose(outs[1], [-2.0, -2.0])


def test_graph_of_nested_transforms_traces():
    f = lambda x: fnp.sum(fnp.tanh(x) ** 3)
    g = fnflow.make_graph(fnflow.vmap(fnflow.grad(fnflow.grad(lambda s: f(s)))))(np.ones(4))
    assert [str(a) for a in g.out_avals] == ["f64[4]"]
    x = np.array([0.1, -0.5, 1.0, 2.0])
    t = np.tanh(x)
    expected = 6 * t * (1 - t ** 2) ** 2 - 6 * t ** 3 * (1 - t ** 2)  # d2/dx2 tanh^3
    np.testing.assert_allclose(g(x)[0], expected, rtol=1e-6)
