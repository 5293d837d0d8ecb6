"""Automatic differentiation: jvp, vjp, grad, linearize, Jacobians, custom rules, checkpoint."""

from functools import partial

import numpy as np
import pytest

import fnflow
import fnflow.numpy as fnp
from fnflow.testing import check_grads

rng = np.random.default_rng(0)


def f_scalar(x, y):
    return fnp.sum(fnp.sin(x) * y ** 2)


def test_jvp_matches_hand_derivative():
    x, t = np.array([0.1, 0.5, 1.0]), np.array([1.0, -2.0, 0.5])
    y, ty = fnflow.jvp(fnp.tanh, (x,), (t,))
    np.testing.assert_allclose(y, np.tanh(x))
    np.testing.assert_allclose(ty, (1 - np.tanh(x) ** 2) * t)


def test_jvp_pytrees_and_has_aux():
    p = {"a": np.ones(2), "b": (np.arange(2.0),)}
    t = {"a": np.ones(2), "b": (np.ones(2),)}
    out, tout, aux = fnflow.jvp(lambda p: ({"s": p["a"] * p["b"][0]}, "aux"), (p,), (t,), has_aux=True)
    np.testing.assert_allclose(out["s"], [0.0, 1.0])
    np.testing.assert_allclose(tout["s"], [1.0, 2.0])
    assert aux == "aux"


def test_vjp_pytree_cotangents():
    x = np.array([1.0, 2.0])
    out, pull = fnflow.vjp(lambda x: {"a": x ** 2, "b": fnp.sum(x)}, x)
    (g,) = pull({"a": np.ones(2), "b": np.float64(3.0)})
    np.testing.assert_allclose(g, 2 * x + 3)
    with pytest.raises(ValueError, match=r"key path <root>: dict with keys \['a', 'b'\] vs \['a'\]"):
        pull({"a": np.ones(2)})


def test_grad_argnums_int_tuple_and_kwargs():
    x, y = np.array([0.3, 0.7]), np.array([1.5, -1.0])
    gx = fnflow.grad(f_scalar)(x, y)
    np.testing.assert_allclose(gx, np.cos(x) * y ** 2)
    gx2, gy = fnflow.grad(f_scalar, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx2, gx)
    np.testing.assert_allclose(gy, 2 * np.sin(x) * y)
    (gy_only,) = fnflow.grad(f_scalar, argnums=(1,))(x, y)
    np.testing.assert_allclose(gy_only, gy)
    g_neg = fnflow.grad(f_scalar, argnums=-1)(x, y)
    np.testing.assert_allclose(g_neg, gy)

    def with_kw(x, *, scale=1.0):
        return fnp.sum(x ** 2) * scale

    np.testing.assert_allclose(fnflow.grad(with_kw)(x, scale=3.0), 6 * x)
    with pytest.raises(ValueError, match=r"argnums=2 but the function was called with 2"):
        fnflow.grad(f_scalar, argnums=2)(x, y)


def test_value_and_grad_has_aux_pytree_args():
    params = {"w": np.array([[1.0, 2.0], [3.0, 4.0]]), "b": np.array([0.5, -0.5])}
    x = np.array([1.0, -1.0])

    def loss(p, x):
        h = x @ p["w"] + p["b"]
        return fnp.sum(h ** 2), {"h": h}

    (val, aux), g = fnflow.value_and_grad(loss, has_aux=True)(params, x)
    h = x @ params["w"] + params["b"]
    np.testing.assert_allclose(val, np.sum(h ** 2))
    np.testing.assert_allclose(aux["h"], h)
    np.testing.assert_allclose(g["b"], 2 * h)
    np.testing.assert_allclose(g["w"], np.outer(x, 2 * h))
    g2, aux2 = fnflow.grad(loss, has_aux=True)(params, x)
    np.testing.assert_allclose(g2["w"], g["w"])


def test_grad_requires_scalar_output():
    with pytest.raises(TypeError, match=r"grad requires .* to return a real scalar, got f64\[2\]"):
        fnflow.grad(lambda x: x * 2)(np.ones(2))


def test_grad_wrt_integer_argument_is_an_error():
    with pytest.raises(TypeError, match=r"argument 0 has dtype int.*integer and boolean values have no gradient"):
        fnflow.grad(lambda x: fnp.sum(x * 2.0))(np.arange(3))


def test_integer_leaves_in_pytrees_get_none():
    p = {"w": np.array([1.0, 2.0]), "n": np.array([1, 2]), "flag": np.array(True)}
    g = fnflow.grad(lambda p: fnp.sum(p["w"] * p["n"]))(p)
    assert g["n"] is None and g["flag"] is None
    np.testing.assert_allclose(g["w"], [1.0, 2.0])


def test_weak_typing_keeps_float32():
    x = np.ones(3, np.float32)
    assert (fnp.asarray(x) * 2.0).dtype == np.float32
    g = fnflow.grad(lambda x: fnp.sum(x * 2.0 + 1.5 * x ** 2))(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 2.0 + 3.0 * x)
    v, t = fnflow.jvp(lambda x: x * 0.5, (x,), (x,))
    assert v.dtype == t.dtype == np.float32
    h = fnflow.hessian(lambda x: fnp.sum(x ** 3) * 0.5)(x)
    assert h.dtype == np.float32


def test_linearize_matches_jvp():
    x = np.array([0.2, 0.4])
    y, f_jvp = fnflow.linearize(lambda x: fnp.exp(x) * fnp.sin(x), x)
    t = np.array([1.0, 3.0])
    np.testing.assert_allclose(f_jvp(t), fnflow.jvp(lambda x: fnp.exp(x) * fnp.sin(x), (x,), (t,))[1])
    np.testing.assert_allclose(y, np.exp(x) * np.sin(x))


def test_jacobians_shapes_as_in_jax():
    x = rng.normal(size=(2, 3))
    f = lambda x: x @ x.T  # (2, 3) -> (2, 2)
    jf, jr = fnflow.jacfwd(f)(x), fnflow.jacrev(f)(x)
    assert jf.shape == jr.shape == (2, 2, 2, 3)
    np.testing.assert_allclose(jf, jr)
    # d(x x^T)_{ij} / dx_{kl} = delta_ik x_jl + delta_jk x_il
    eye = np.eye(2)
    expected = np.einsum("ik,jl->ijkl", eye, x) + np.einsum("jk,il->ijkl", eye, x)
    np.testing.assert_allclose(jf, expected)


def test_jacobians_of_pytrees():
    def f(p):
        return {"u": p["a"] * p["b"][0], "v": fnp.sum(p["a"])}

    p = {"a": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0, 5.0])}
    jf, jr = fnflow.jacfwd(f)(p), fnflow.jacrev(f)(p)
    for j in (jf, jr):
        assert j["u"]["a"].shape == (2, 2) and j["u"]["b"].shape == (2, 3) and j["v"]["a"].shape == (2,)
        np.testing.assert_allclose(j["u"]["a"], 3.0 * np.eye(2))
        np.testing.assert_allclose(j["u"]["b"], [[1.0, 0, 0], [2.0, 0, 0]])
        np.testing.assert_allclose(j["v"]["b"], np.zeros(3))
    j2 = fnflow.jacrev(lambda x, y: x * y, argnums=(0, 1))(np.ones(2), np.arange(2.0))
    assert isinstance(j2, tuple) and j2[0].shape == (2, 2)


def test_hessian_matches_hand_and_jacfwd_jacrev():
    x = np.array([0.5, -1.0, 2.0])
    f = lambda x: fnp.sum(x ** 3) + x[0] * x[1]
    h = fnflow.hessian(f)(x)
    expected = np.diag(6 * x)
    expected[0, 1] = expected[1, 0] = 1.0
    np.testing.assert_allclose(h, expected)
    np.testing.assert_allclose(fnflow.jacfwd(fnflow.jacrev(f))(x), h)
    np.testing.assert_allclose(fnflow.jacrev(fnflow.jacfwd(f))(x), h)
    np.testing.assert_allclose(fnflow.jacrev(fnflow.jacrev(f))(x), h)


def test_stop_gradient():
    x = np.array([1.0, 2.0])
    g = fnflow.grad(lambda x: fnp.sum(x * fnflow.stop_gradient(x)))(x)
    np.testing.assert_allclose(g, x)
    tree = fnflow.stop_gradient({"a": x, "n": np.arange(2)})
    np.testing.assert_array_equal(tree["n"], [0, 1])


# ----------------------------------------------------------------- custom rules


@fnflow.custom_jvp
def softplus(x):
    return fnp.log1p(fnp.exp(x))


@softplus.defjvp
def _softplus_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return softplus(x), t * (1.0 / (1.0 + fnp.exp(-x)))


def test_custom_jvp_grad_vmap_and_second_order():
    x = np.array([-1.0, 0.0, 2.0])
    sig = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(fnflow.grad(lambda x: fnp.sum(softplus(x)))(x), sig)
    np.testing.assert_allclose(fnflow.vmap(softplus)(x), np.log1p(np.exp(x)))
    np.testing.assert_allclose(fnflow.vmap(fnflow.grad(softplus))(x), sig)
    np.testing.assert_allclose(fnflow.grad(fnflow.grad(softplus))(0.5), 0.25 - np.tanh(0.25) ** 2 / 4, rtol=1e-6)
    check_grads(softplus, (x,), order=2)


def test_custom_jvp_rule_is_used_and_survives_vmap():
    @fnflow.custom_jvp
    def f(x):
        return fnp.sin(x)

    f.defjvp(lambda p, t: (f(p[0]), 10.0 * t[0]))  # deliberately not cos: proves the rule runs
    x = np.array([0.1, 0.2])
    np.testing.assert_allclose(fnflow.grad(lambda x: fnp.sum(f(x)))(x), [10.0, 10.0])
    np.testing.assert_allclose(fnflow.jvp(fnflow.vmap(f), (x,), (np.ones(2),))[1], [10.0, 10.0])
    np.testing.assert_allclose(fnflow.grad(lambda x: fnp.sum(fnflow.vmap(f)(x)))(x), [10.0, 10.0])


def test_custom_jvp_nondiff_argnums():
    @partial(fnflow.custom_jvp, nondiff_argnums=(0,))
    def apply(fn, x):
        return fn(x)

    @apply.defjvp
    def _(fn, primals, tangents):
        return apply(fn, primals[0]), 2.0 * tangents[0]

    np.testing.assert_allclose(fnflow.grad(lambda x: apply(fnp.sin, x))(1.0), 2.0)


@fnflow.custom_vjp
def clip_grad(x, y):
    return fnp.sin(x) * y


def _clip_fwd(x, y):
    return clip_grad(x, y), {"cos": fnp.cos(x), "pair": (fnp.sin(x), y)}  # residual pytree


def _clip_bwd(res, g):
    gx = fnp.clip(res["cos"] * res["pair"][1] * g, -0.5, 0.5)  # not the true gradient: clipped
    return gx, res["pair"][0] * g


clip_grad.defvjp(_clip_fwd, _clip_bwd)


def test_custom_vjp_residual_pytree_and_rule_is_used():
    x, y = np.array([0.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0])
    gx, gy = fnflow.grad(lambda x, y: fnp.sum(clip_grad(x, y)), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, np.clip(np.cos(x) * y, -0.5, 0.5))
    np.testing.assert_allclose(gy, np.sin(x))
    np.testing.assert_allclose(clip_grad(x, y), np.sin(x) * y)


def test_custom_vjp_under_vmap_keeps_the_rule():
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    expected = np.clip(np.cos(x) * y, -0.5, 0.5)
    per_ex = fnflow.vmap(fnflow.grad(lambda x, y: fnp.sum(clip_grad(x, y))))(x, y)
    np.testing.assert_allclose(per_ex, expected)
    outer = fnflow.grad(lambda x: fnp.sum(fnflow.vmap(clip_grad)(x, y)))(x)
    np.testing.assert_allclose(outer, expected)
    unbatched_y = fnflow.grad(lambda x: fnp.sum(fnflow.vmap(clip_grad, in_axes=(0, None))(x, y[0])))(x)
    np.testing.assert_allclose(unbatched_y, np.clip(np.cos(x) * y[0], -0.5, 0.5))
    gy = fnflow.grad(lambda yy: fnp.sum(fnflow.vmap(clip_grad, in_axes=(0, None))(x, yy)))(y[0])
    np.testing.assert_allclose(gy, np.sin(x).sum(0))


def test_custom_vjp_nondiff_argnums():
    @partial(fnflow.custom_vjp, nondiff_argnums=(1,))
    def power(x, n):
        return x ** n

    power.defvjp(lambda x, n: (x ** n, x), lambda n, x, g: (n * x ** (n - 1) * g,))
    np.testing.assert_allclose(fnflow.grad(lambda x: power(x, 3))(2.0), 12.0)
    np.testing.assert_allclose(fnflow.vmap(fnflow.grad(lambda x: power(x, 2)))(np.array([1.0, 2.0])), [2.0, 4.0])


def test_custom_vjp_forward_mode_is_a_clear_error():
    with pytest.raises(TypeError, match="forward-mode differentiation .* custom_vjp"):
        fnflow.jvp(lambda x: clip_grad(x, x), (np.ones(2),), (np.ones(2),))


# ----------------------------------------------------------------- checkpoint


def test_checkpoint_values_gradients_and_recompute():
    calls = []

    def block(w, x):
        calls.append(1)
        return fnp.tanh(x @ w)

    w, x = rng.normal(size=(3, 3)), rng.normal(size=(2, 3))
    loss = lambda w, x: fnp.sum(block(w, block(w, x)) ** 2)
    loss_ckpt = lambda w, x: fnp.sum(fnflow.checkpoint(block)(w, fnflow.checkpoint(block)(w, x)) ** 2)
    np.testing.assert_allclose(loss_ckpt(w, x), loss(w, x))
    calls.clear()
    g_plain = fnflow.grad(loss)(w, x)
    assert len(calls) == 2  # forward only
    calls.clear()
    g_ckpt = fnflow.grad(loss_ckpt)(w, x)
    assert len(calls) == 4  # forward, then each block again in the backward pass
    np.testing.assert_allclose(g_ckpt, g_plain, rtol=1e-12)
    g2 = fnflow.grad(fnflow.grad(lambda x: fnp.sum(fnflow.checkpoint(fnp.sin)(x))))
    np.testing.assert_allclose(fnflow.vmap(g2)(np.array([0.1, 0.2])), -np.sin([0.1, 0.2]))
    np.testing.assert_allclose(fnflow.jvp(fnflow.checkpoint(fnp.sin), (1.0,), (1.0,))[1], np.cos(1.0))


def test_eval_shape():
    out = fnflow.eval_shape(lambda x, y: {"m": x @ y, "s": fnp.sum(x)},
                            fnflow.ShapeDtypeStruct((2, 3), np.float32), np.ones((3, 5), np.float32))
    assert out["m"] == fnflow.ShapeDtypeStruct((2, 5), np.float32)
    assert out["s"].shape == () and out["s"].dtype == np.float32


def test_check_grads_on_composite_function():
    x, y = rng.normal(size=3), rng.normal(size=3)
    check_grads(f_scalar, (x, y), order=2)
    check_grads(lambda x: fnp.max(x * fnp.tanh(x)), (x,), order=1)


# ---------------------------------------------------------------- custom rules staged into graphs


def _rules_that_differ_from_the_derivative():
    """Functions whose rules deliberately disagree with their bodies, so a dropped rule is visible."""
    f = fnflow.custom_jvp(lambda x: fnp.sin(x))
    f.defjvp(lambda p, t: (fnp.sin(p[0]), 2.0 * t[0]))
    g = fnflow.custom_vjp(lambda x: fnp.sin(x))
    g.defvjp(lambda x: (fnp.sin(x), None), lambda r, ct: (3.0 * ct,))
    return f, g


@pytest.mark.parametrize("compose", ["grad", "grad(jit)", "jit(grad)", "grad(jit(jit))", "vmap(grad(jit))",
                                     "grad(sum(jit(vmap)))"])
def test_custom_rules_survive_staging(compose):
    import fnflow as ff

    f, g = _rules_that_differ_from_the_derivative()
    x = np.ones(3, np.float32)
    for fun, slope in ((f, 2.0), (g, 3.0)):
        if compose == "grad":
            got = ff.grad(fun)(1.0)
        elif compose == "grad(jit)":
            got = ff.grad(ff.jit(fun))(1.0)
        elif compose == "jit(grad)":
            got = ff.jit(ff.grad(fun))(1.0)
        elif compose == "grad(jit(jit))":
            got = ff.grad(ff.jit(ff.jit(fun)))(1.0)
        elif compose == "vmap(grad(jit))":
            got = ff.vmap(ff.grad(ff.jit(fun)))(x)
        else:
            got = ff.grad(lambda v: fnp.sum(ff.jit(ff.vmap(fun))(v)))(x)
        np.testing.assert_allclose(np.asarray(got), slope)  # the body's derivative would be cos(1) = 0.54


def test_staged_custom_call_shows_in_the_graph_and_evaluates_as_its_body():
    f, g = _rules_that_differ_from_the_derivative()
    text = str(fnflow.make_graph(f)(1.0))
    assert "custom_jvp_call[" in text and "sin a" in text
    assert "custom_vjp_call[" in str(fnflow.make_graph(g)(1.0))
    np.testing.assert_allclose(fnflow.jit(f)(0.5), np.sin(np.float32(0.5)), rtol=1e-6)
    np.testing.assert_allclose(fnflow.jit(g)(0.5), np.sin(np.float32(0.5)), rtol=1e-6)


def test_custom_function_closing_over_a_traced_value_keeps_its_rule():
    # closure-converted as in JAX: the rule (here 5 * w, not the body's w) is used for the argument;
    # differentiating with respect to the captured value raises
    def outer(x, w):
        f = fnflow.custom_jvp(lambda y: y * w)
        f.defjvp(lambda p, t: (p[0] * w, 5.0 * t[0] * w))
        return f(x)

    np.testing.assert_allclose(fnflow.jit(outer)(2.0, 3.0), 6.0)
    assert "custom_jvp_closed[" in str(fnflow.make_graph(outer)(2.0, 3.0))
    for g in (fnflow.grad(fnflow.jit(outer)), fnflow.jit(fnflow.grad(outer)), fnflow.grad(outer)):
        np.testing.assert_allclose(g(2.0, 3.0), 15.0)
    np.testing.assert_allclose(fnflow.vmap(fnflow.grad(fnflow.jit(outer)))(np.ones(3, np.float32),
                                                                            np.arange(3.0, dtype=np.float32)),
                               [0.0, 5.0, 10.0])
    with pytest.raises(TypeError, match="closes over"):
        fnflow.grad(fnflow.jit(outer), argnums=1)(2.0, 3.0)

    def outer_vjp(x, w):
        g = fnflow.custom_vjp(lambda y: y * w)
        g.defvjp(lambda y: (y * w, None), lambda r, ct: (7.0 * ct,))
        return g(x)

    np.testing.assert_allclose(fnflow.jit(outer_vjp)(2.0, 3.0), 6.0)
    with pytest.raises(TypeError, match="custom_vjp: a custom_vjp function that closes over a value traced"):
        fnflow.grad(fnflow.jit(outer_vjp))(2.0, 3.0)
