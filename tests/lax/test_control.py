"""lax control flow: values, derivatives (jvp / vjp / grad, second order), vmap, graphs and errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fnflow
import fnflow.numpy as fnp
from fnflow import lax
from fnflow.testing import check_grads

rng = np.random.default_rng(0)


def close(a, b, tol=1e-6):
    if isinstance(b, list) and isinstance(a, np.ndarray):  # a list of expected rows for one array
        b = np.stack([np.asarray(v) for v in b])
    la, lb = fnflow.tree.leaves(a), fnflow.tree.leaves(b)
    assert len(la) == len(lb), (a, b)
    for x, y in zip(la, lb):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=tol, atol=tol)


# ----------------------------------------------------------- a recurrent cell


def rnn_scan(w, h0, xs):
    def cell(h, x):
        h = fnp.tanh(h * w + x)
        return h, fnp.sin(h) * x

    return lax.scan(cell, h0, xs)


def rnn_loop(w, h0, xs):
    h, ys = h0, []
    for i in range(xs.shape[0]):
        h = fnp.tanh(h * w + xs[i])
        ys.append(fnp.sin(h) * xs[i])
    return h, fnp.stack(ys)


def rnn_loss(f):
    def loss(w, h0, xs):
        h, ys = f(w, h0, xs)
        return fnp.sum(h ** 2) + fnp.sum(ys)

    return loss


W, H0, XS = rng.normal(size=3), rng.normal(size=3), rng.normal(size=(6, 3))


# --------------------------------------------------------------------- values


def test_scan_values_match_python_loop():
    close(rnn_scan(W, H0, XS), rnn_loop(W, H0, XS), 1e-12)


def test_scan_pytrees_reverse_and_length():
    def body(c, x):
        a, b = c["a"], c["b"]
        return {"a": a + x[0], "b": b * 2}, (a, [x[1] * b])

    xs = (np.arange(4.0), np.arange(4.0) + 10)
    carry, (ya, [yb]) = lax.scan(body, {"a": 0.0, "b": 1.0}, xs)
    assert float(carry["a"]) == 6.0 and float(carry["b"]) == 16.0
    close(ya, [0, 0, 1, 3])
    close(yb, [10, 22, 48, 104])
    # reverse: runs from the last slice, ys[i] still belongs to xs[i]
    c, ys = lax.scan(lambda c, x: (c + x, c), 0.0, np.arange(4.0), reverse=True)
    assert float(c) == 6.0
    close(ys, [6, 5, 3, 0])
    # no xs: length
    c, ys = lax.scan(lambda c, _: (c * 2, c), 1, None, length=5)
    assert int(c) == 32 and ys.dtype == np.int32
    close(ys, [1, 2, 4, 8, 16])
    # zero length
    c, ys = lax.scan(lambda c, x: (c + x, c * x), np.float32(1), np.zeros((0,), np.float32))
    assert float(c) == 1.0 and ys.shape == (0,)


def test_map():
    close(lax.map(lambda x: x * 2 + 1, np.arange(5.0)), np.arange(5.0) * 2 + 1)


def test_cond_and_switch_values():
    assert float(lax.cond(True, lambda x: x + 1, lambda x: x - 1, 3.0)) == 4.0
    assert float(lax.cond(np.float32(0), lambda x: x + 1, lambda x: x - 1, 3.0)) == 2.0
    out = lax.cond(False, lambda a, b: (a, {"s": a + b}), lambda a, b: (b, {"s": a - b}), 1.0, 2.0)
    assert float(out[0]) == 2.0 and float(out[1]["s"]) == -1.0
    fs = [lambda x: x, lambda x: 2 * x, lambda x: -x]
    for i, expect in [(-3, 5), (0, 5), (1, 10), (2, -5), (9, -5)]:  # the index is clamped
        assert float(lax.switch(i, fs, 5.0)) == expect
    # a Python scalar output takes the dtype of the other branch
    out = lax.cond(True, lambda x: 0.0, lambda x: x, np.array(2.0))
    assert out.dtype == np.float64


def test_while_and_fori_values():
    assert int(lax.while_loop(lambda c: c < 100, lambda c: c * 3, 1)) == 243
    c = lax.while_loop(lambda c: c[0] < 4, lambda c: (c[0] + 1, c[1] + c[0]), (0, 0.0))
    assert int(c[0]) == 4 and float(c[1]) == 6.0
    assert float(lax.fori_loop(0, 5, lambda i, c: c * 2 + i, 1.0)) == 58.0  # ((((1*2+0)*2+1)*2+2)*2+3)*2+4
    total = 1.0
    for i in range(2, 7):
        total = total * 1.5 + i
    close(lax.fori_loop(2, 7, lambda i, c: c * 1.5 + i, 1.0), total)
    close(lax.fori_loop(np.int32(2), 7, lambda i, c: c * 1.5 + i, 1.0), total)
    assert float(lax.fori_loop(5, 2, lambda i, c: c + 1, 0.0)) == 0.0


@given(st.integers(0, 6), st.integers(0, 2))
def test_scan_matches_loop_property(n, k):
    xs = np.linspace(-1, 1, n * 2).reshape(n, 2)
    h0 = np.full(2, 0.1 * k)
    if n == 0:
        out = rnn_scan(W[:2], h0, xs)
        close(out[0], h0)
        assert out[1].shape == (0, 2)
    else:
        close(rnn_scan(W[:2], h0, xs), rnn_loop(W[:2], h0, xs), 1e-12)


# ---------------------------------------------------------------- derivatives


def test_scan_grad_matches_unrolled_and_finite_differences():
    for argnum in (0, 1, 2):
        close(fnflow.grad(rnn_loss(rnn_scan), argnum)(W, H0, XS),
              fnflow.grad(rnn_loss(rnn_loop), argnum)(W, H0, XS), 1e-10)
    check_grads(rnn_scan, (W, H0, XS), order=1)


def test_scan_jvp_and_vjp():
    tangents = (np.ones(3), rng.normal(size=3), rng.normal(size=(6, 3)))
    close(fnflow.jvp(rnn_scan, (W, H0, XS), tangents), fnflow.jvp(rnn_loop, (W, H0, XS), tangents), 1e-10)
    out, pull = fnflow.vjp(rnn_scan, W, H0, XS)
    _, pull_ref = fnflow.vjp(rnn_loop, W, H0, XS)
    ct = (rng.normal(size=3), rng.normal(size=(6, 3)))
    close(pull(ct), pull_ref(ct), 1e-10)


def test_scan_second_derivatives():
    check_grads(rnn_scan, (W, H0, XS[:3]), order=2)
    loss = rnn_loss(rnn_scan)
    close(fnflow.hessian(loss)(W, H0, XS), fnflow.hessian(rnn_loss(rnn_loop))(W, H0, XS), 1e-9)
    # reverse-over-reverse
    gg = fnflow.grad(lambda w: fnp.sum(fnflow.grad(loss)(w, H0, XS) ** 2))
    gg_ref = fnflow.grad(lambda w: fnp.sum(fnflow.grad(rnn_loss(rnn_loop))(w, H0, XS) ** 2))
    close(gg(W), gg_ref(W), 1e-9)


def test_scan_reverse_and_integer_carry_grad():
    def f(x):
        def body(c, xi):
            i, acc = c
            return (i + 1, acc * xi + i), acc

        (_, acc), ys = lax.scan(body, (0, 1.0), x, reverse=True)
        return acc + fnp.sum(ys)

    def f_ref(x):
        i, acc, tot = 0, 1.0, 0.0
        for k in reversed(range(x.shape[0])):
            tot = tot + acc
            acc = acc * x[k] + i
            i += 1
        return acc + tot

    x = rng.normal(size=5)
    close(f(x), f_ref(x), 1e-12)
    close(fnflow.grad(f)(x), fnflow.grad(f_ref)(x), 1e-10)
    check_grads(f, (x,), order=2)


def test_scan_closure_over_traced_values_and_nested():
    def f(w, xs):
        def outer(c, x):
            inner_c, _ = lax.scan(lambda d, y: (fnp.sin(d * w) + y, None), c, x)
            return inner_c * w, fnp.sum(inner_c)

        return lax.scan(outer, np.ones(2), xs)

    def f_ref(w, xs):
        c, ys = np.ones(2), []
        for i in range(xs.shape[0]):
            d = c
            for j in range(xs.shape[1]):
                d = fnp.sin(d * w) + xs[i, j]
            c = d * w
            ys.append(fnp.sum(d))
        return c, fnp.stack(ys)

    w, xs = np.array([0.7, -0.4]), rng.normal(size=(3, 4, 2))
    close(f(w, xs), f_ref(w, xs), 1e-12)
    close(fnflow.jacrev(f)(w, xs), fnflow.jacfwd(f_ref)(w, xs), 1e-10)
    check_grads(f, (w, xs), order=1)


def cond_fn(x, p):
    return lax.cond(p > 0, lambda x: fnp.sin(x) * p, lambda x: fnp.cos(x) + x * p, x)


def cond_ref(x, p):
    return fnp.sin(x) * p if p > 0 else fnp.cos(x) + x * p


def test_cond_derivatives():
    x = np.array([0.3, -0.5])
    for p in (1.5, -0.5):
        close(cond_fn(x, p), cond_ref(x, p))
        close(fnflow.jacrev(cond_fn, (0, 1))(x, p), fnflow.jacrev(cond_ref, (0, 1))(x, p), 1e-12)
        close(fnflow.jvp(cond_fn, (x, p), (np.ones(2), 1.0)), fnflow.jvp(cond_ref, (x, p), (np.ones(2), 1.0)), 1e-12)
        check_grads(cond_fn, (x, p), order=2)


def test_switch_derivatives_with_captured_values():
    def f(x, a):
        branches = [lambda x: x * a, lambda x: fnp.exp(x) - a, lambda x: x * x]
        return lax.switch(fnp.argmax(x).astype(np.int32), branches, x)

    for x in (np.array([3.0, 0.1, 0.2]), np.array([0.1, 3.0, 0.2]), np.array([0.1, 0.2, 3.0])):
        check_grads(f, (x, 0.7), order=2)


def test_fori_loop_is_reverse_differentiable():
    def f(x):
        return lax.fori_loop(0, 5, lambda i, c: fnp.sin(c) * x + i, x)

    def f_ref(x):
        c = x
        for i in range(5):
            c = fnp.sin(c) * x + i
        return c

    x = np.array([0.3, 0.9])
    close(f(x), f_ref(x), 1e-12)
    close(fnflow.jacrev(f)(x), fnflow.jacfwd(f_ref)(x), 1e-10)
    check_grads(f, (x,), order=2)


def test_while_loop_forward_mode_and_reverse_error():
    def f(x):
        return lax.while_loop(lambda c: c[0] < 4, lambda c: (c[0] + 1, fnp.sin(c[1]) * x), (0, x))[1]

    def f_ref(x):
        c = x
        for _ in range(4):
            c = fnp.sin(c) * x
        return c

    x = np.array([0.4, 1.2])
    close(f(x), f_ref(x), 1e-12)
    close(fnflow.jacfwd(f)(x), fnflow.jacfwd(f_ref)(x), 1e-12)
    check_grads(f, (x,), order=2, modes=("fwd",))
    with pytest.raises(TypeError, match=r"while_loop.*scan.*fori_loop"):
        fnflow.grad(lambda x: fnp.sum(f(x)))(x)
    # a loop whose carry does not depend on the differentiated value is fine in reverse mode
    g = fnflow.grad(lambda x: fnp.sum(x) * lax.while_loop(lambda c: c < 10, lambda c: c + 3, 0))(x)
    close(g, [12.0, 12.0])


# ----------------------------------------------------------------------- vmap


def test_vmap_scan_batched_xs_carry_and_consts():
    ws, h0s, xss = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), rng.normal(size=(4, 6, 3))
    expect = [rnn_loop(ws[i], h0s[i], xss[i]) for i in range(4)]
    for axes in [(0, 0, 0), (None, 0, None), (0, None, None), (None, None, 0), (None, 0, 1)]:
        args = [a[0] if ax is None else a for a, ax in zip((ws, h0s, xss), axes)]
        if axes[2] == 1:
            args[2] = np.swapaxes(xss, 0, 1)
        out = fnflow.vmap(rnn_scan, axes)(*args)
        for i in range(4):
            a = [arg if ax is None else (arg[:, i] if ax == 1 else arg[i]) for arg, ax in zip(args, axes)]
            close((out[0][i], out[1][i]), rnn_loop(*a), 1e-12)
    del expect


def test_vmap_scan_carry_becomes_batched():
    # the carry starts unbatched and becomes batched through a batched const
    f = lambda w: lax.scan(lambda c, x: (c * w + x, c), 1.0, np.arange(3.0))
    out = fnflow.vmap(f)(np.array([1.0, 2.0]))
    for i, w in enumerate([1.0, 2.0]):
        close((out[0][i], out[1][i]), f(w))


def test_vmap_cond_batched_predicate_and_operands():
    x = np.array([0.3, -0.5])
    ps = np.array([1.5, -0.5, 2.0])
    close(fnflow.vmap(cond_fn, (None, 0))(x, ps), [cond_ref(x, p) for p in ps])
    xs = rng.normal(size=(3, 2))
    close(fnflow.vmap(cond_fn)(xs, ps), [cond_ref(xs[i], ps[i]) for i in range(3)])
    close(fnflow.vmap(cond_fn, (0, None))(xs, -1.0), [cond_ref(xs[i], -1.0) for i in range(3)])
    sw = lambda i, x: lax.switch(i, [lambda x: x, lambda x: 2 * x, lambda x: -x], x)
    close(fnflow.vmap(sw)(np.array([0, 1, 2, 7, -1]), np.ones(5)), [1, 2, -1, -1, 1])
    # gradients through the select that a batched predicate becomes
    g = fnflow.vmap(fnflow.grad(lambda x, p: fnp.sum(cond_fn(x, p))), (None, 0))(x, ps)
    close(g, [fnflow.grad(lambda x: fnp.sum(cond_ref(x, p)))(x) for p in ps])


def test_vmap_while_batched_predicate_and_carry():
    f = lambda n, x: lax.while_loop(lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] * x), (0, 1.0))[1]
    ns, xs = np.array([1, 3, 0, 5]), np.array([2.0, 2.0, 7.0, 3.0])
    close(fnflow.vmap(f)(ns, xs), xs ** ns)
    close(fnflow.vmap(f, (None, 0))(3, xs), xs ** 3)
    close(fnflow.vmap(f, (0, None))(ns, 2.0), 2.0 ** ns)
    close(fnflow.vmap(lambda x: lax.fori_loop(0, 3, lambda i, c: c * x + i, x))(xs),
          [((x * x) * x + 1) * x + 2 for x in xs])


def test_vmap_of_grad_of_scan_and_grad_of_vmap():
    xss = rng.normal(size=(4, 6, 3))
    loss = rnn_loss(rnn_scan)
    g = fnflow.vmap(fnflow.grad(loss), (None, None, 0))(W, H0, xss)
    close(g, [fnflow.grad(rnn_loss(rnn_loop))(W, H0, xss[i]) for i in range(4)], 1e-10)
    gv = fnflow.grad(lambda w: fnp.sum(fnflow.vmap(loss, (None, None, 0))(w, H0, xss)))(W)
    close(gv, sum(fnflow.grad(rnn_loss(rnn_loop))(W, H0, xss[i]) for i in range(4)), 1e-10)


# ---------------------------------------------------------------- graphs / jit


def test_make_graph_has_one_scan_with_nested_body():
    g = fnflow.make_graph(lambda w, h, xs: rnn_scan(w, h, xs))(W, H0, XS)
    scans = [e for e in g.eqns if e.prim.name == "scan"]
    assert len(scans) == 1 and len(g.eqns) == 1
    body = scans[0].params["body"]
    assert isinstance(body, fnflow.Graph) and {e.prim.name for e in body.eqns} >= {"tanh", "sin"}
    text = str(g)
    assert "scan[" in text and "length=6" in text and "\n        { lambda" in text and "tanh" in text


def test_graph_size_does_not_depend_on_length():
    def f(x, n):
        return lax.fori_loop(0, n, lambda i, c: fnp.sin(c) + i, x)

    sizes = []
    for n in (10, 1000):
        g = fnflow.make_graph(f, static_argnums=1)(np.ones(3), n)
        (eqn,) = g.eqns
        sizes.append((len(g.eqns), len(eqn.params["body"].eqns), eqn.params["length"]))
    assert sizes[0][:2] == sizes[1][:2] and [s[2] for s in sizes] == [10, 1000]
    gw = fnflow.make_graph(lambda n, x: lax.fori_loop(0, n, lambda i, c: c * x, x))(5, np.ones(2))
    assert [e.prim.name for e in gw.eqns] == ["while"]


def test_cond_and_while_graph_params():
    g = fnflow.make_graph(lambda x: lax.cond(fnp.sum(x) > 0, lambda x: x * 2, lambda x: -x, x))(np.ones(2))
    (eqn,) = [e for e in g.eqns if e.prim.name == "cond"]
    assert len(eqn.params["branches"]) == 2 and eqn.invars[0].aval.dtype == np.int32
    g = fnflow.make_graph(lambda x: lax.while_loop(lambda c: fnp.sum(c) < 10, lambda c: c * 2, x))(np.ones(2))
    (eqn,) = g.eqns
    assert set(eqn.params) == {"cond_graph", "body_graph", "cond_nconsts", "body_nconsts"}


def test_linear_graph_of_grad_has_linear_scan():
    g = fnflow.make_graph(fnflow.grad(rnn_loss(rnn_scan)))(W, H0, XS)
    names = [e.prim.name for e in g.eqns]
    assert names.count("scan") == 2  # the primal scan with residuals, then the transposed linear scan
    rev = [e for e in g.eqns if e.prim.name == "scan"][1]
    assert rev.params["reverse"] is True


def test_jit_of_control_flow_agrees_with_eager():
    loss = rnn_loss(rnn_scan)
    close(fnflow.jit(loss)(W, H0, XS), loss(W, H0, XS), 1e-10)
    close(fnflow.jit(fnflow.grad(loss))(W, H0, XS), fnflow.grad(loss)(W, H0, XS), 1e-10)
    close(fnflow.grad(fnflow.jit(loss))(W, H0, XS), fnflow.grad(loss)(W, H0, XS), 1e-10)
    x = np.array([0.3, -0.5])
    close(fnflow.jit(cond_fn)(x, -2.0), cond_ref(x, -2.0), 1e-12)
    f = lambda n, x: lax.while_loop(lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] * x), (0, 1.0))[1]
    close(fnflow.jit(f)(4, 2.0), 16.0)


# --------------------------------------------------------------------- errors


def test_scan_carry_errors_name_the_leaf():
    with pytest.raises(TypeError, match=r"carry\['b'\].*f32\[2\].*f32\[\]"):
        lax.scan(lambda c, x: ({"a": c["a"], "b": fnp.ones(2)}, None), {"a": 0.0, "b": np.float32(1)},
                 np.arange(3.0))
    with pytest.raises(TypeError, match=r"carry\[1\].*f32\[\].*i32\[\]"):
        lax.scan(lambda c, x: ((c[0], c[1] + 0.5), None), (0.0, np.int32(1)), np.arange(3.0, dtype=np.float32))
    with pytest.raises(TypeError, match="structure"):
        lax.scan(lambda c, x: ((c, c), None), 0.0, np.arange(3.0))
    with pytest.raises(TypeError, match="pair"):
        lax.scan(lambda c, x: c, 0.0, np.arange(3.0))
    with pytest.raises(ValueError, match="same size"):
        lax.scan(lambda c, x: (c, None), 0.0, (np.ones(3), np.ones(4)))
    with pytest.raises(ValueError, match="length"):
        lax.scan(lambda c, x: (c, None), 0.0, None)


def test_cond_and_while_errors():
    with pytest.raises(TypeError, match=r"true_fun is f32\[2\] but the output of false_fun is f32\[3\]"):
        lax.cond(True, lambda x: x, lambda x: fnp.ones(3), np.ones(2, np.float32))
    with pytest.raises(TypeError, match="structure"):
        lax.cond(True, lambda x: (x, x), lambda x: x, 1.0)
    with pytest.raises(TypeError, match="scalar"):
        lax.cond(np.array([True, False]), lambda x: x, lambda x: x, 1.0)
    with pytest.raises(TypeError, match="boolean scalar"):
        lax.while_loop(lambda c: c, lambda c: c - 1, 3.0)
    with pytest.raises(TypeError, match=r"init_val\[1\].*f32\[2\].*f32\[\]"):
        lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, fnp.ones(2)), (0, np.float32(1)))
    with pytest.raises(TypeError, match="integer"):
        lax.switch(1.5, [lambda x: x], 1.0)


def test_primitive_level_carry_check():
    from fnflow.core.abstract import ShapedArray
    from fnflow.core.graph import trace_to_graph
    from fnflow.ops.control import scan_p

    body = trace_to_graph(lambda c, x: [fnp.reshape(c, (1,)), x], [ShapedArray((), np.float32)] * 2)
    with pytest.raises(TypeError, match=r"carry\[0\].*f32\[\].*f32\[1\]"):
        scan_p.abstract_eval(ShapedArray((), np.float32), ShapedArray((3,), np.float32), body=body, num_consts=0,
                             num_carry=1, length=3, reverse=False)


def test_edge_cases_constant_outputs_linearize_and_nesting():
    f = lambda c0, xs: lax.scan(lambda c, x: (c, (x, 0.0, c * 2)), c0, xs)
    c, (a, z, d) = f(1.0, np.arange(3.0))
    close((c, a, z, d), (1.0, np.arange(3.0), np.zeros(3), np.full(3, 2.0)))
    check_grads(f, (np.array(1.0), np.arange(3.0)), order=2)
    out = fnflow.vmap(f)(np.arange(2.0), np.ones((2, 3)))
    close(out[1][2], [[0.0] * 3, [2.0] * 3])
    y, lin = fnflow.linearize(lambda x: lax.scan(lambda c, _: (c * x, c), x, None, length=3)[0], 2.0)
    assert float(y) == 16.0 and float(lin(1.0)) == 32.0
    g = lambda x, n: lax.cond(x > 0, lambda x, n: (x * x, n, 1.0), lambda x, n: (-x, n + 1, 2.0), x, n)
    assert float(fnflow.grad(lambda x: g(x, 3)[0])(2.0)) == 4.0
    close(fnflow.vmap(g)(np.array([1.0, -1.0]), np.array([3, 4])), (np.ones(2), np.array([3, 5]), np.array([1.0, 2.0])))
    w = lambda n, x: lax.while_loop(lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] * x), (0, 1.0))[1]
    close(fnflow.jacfwd(lambda x: fnflow.vmap(w)(np.array([1, 2, 3]), x))(np.array([2.0, 3.0, 4.0])),
          np.diag([1.0, 6.0, 48.0]))
    inner = lambda x: lax.scan(lambda c, y: (c + y, c), 0.0, x)[0]
    close(fnflow.vmap(fnflow.vmap(inner))(np.ones((2, 3, 4))), np.full((2, 3), 4.0))


def test_loop_invariant_work_is_not_stacked():
    # cos(w) depends only on a captured value: it is computed once outside the body, not per step
    h = lambda w, xs: lax.scan(lambda c, x: (c * fnp.cos(w) + x, None), 0.0, xs)[0]
    check_grads(h, (np.array(0.3), np.arange(4.0)), order=2)
    g = fnflow.make_graph(fnflow.grad(h))(np.array(0.3), np.arange(4.0))
    for e in g.eqns:
        if e.prim.name == "scan":
            assert all(e.prim.name != "cos" for e in e.params["body"].eqns)
            assert all(v.aval.shape in ((), (4,)) for v in e.outvars)
