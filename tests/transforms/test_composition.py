"""The composition matrix: grad, jvp, vjp, vmap inside each other, agreeing with each other and with
finite differences, on a few nontrivial functions."""

import numpy as np
import pytest

import fnflow
import fnflow.numpy as fnp
from fnflow.testing import check_grads

rng = np.random.default_rng(2)
_W2 = rng.normal(size=(4, 2))
_B1 = rng.normal(size=4)


def mlp(x):
    """tanh MLP with matmul and broadcasting; x (6,) is reshaped to a (2, 3) batch."""
    w1 = fnp.reshape(fnp.concatenate([x, x * 0.5]), (3, 4))
    h = fnp.tanh(fnp.reshape(x, (2, 3)) @ w1 + _B1)
    return fnp.mean(fnp.tanh(h @ _W2) ** 2)


def with_max(x):
    """A reduction max (the argmax is unique at the test points)."""
    return fnp.max(x * fnp.sin(x)) + 0.5 * fnp.sum(x ** 2)


def with_if(x):
    """Python control flow on a concrete value: works under grad/jvp/vjp (not under vmap)."""
    if fnp.sum(x) > 0:
        return fnp.sum(fnp.exp(0.3 * x) * x)
    return fnp.sum(fnp.sin(x) ** 2)


CASES = [(mlp, True), (with_max, True), (with_if, False)]
IDS = ["mlp", "max", "if"]


def _point(f):
    x = rng.normal(size=6)
    if f is with_if:
        x = np.abs(x)  # takes the first branch
    return x


def _hess(f, x):
    """Reference Hessian by central differences of the gradient (float64)."""
    g = fnflow.grad(f)
    eps, n = 1e-5, x.size
    rows = [(np.asarray(g(x + eps * e)) - np.asarray(g(x - eps * e))) / (2 * eps) for e in np.eye(n)]
    return np.array(rows)


def close(a, b, tol=1e-7):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


@pytest.mark.parametrize("f,vmappable", CASES, ids=IDS)
def test_first_and_second_order_against_finite_differences(f, vmappable):
    check_grads(f, (_point(f),), order=2)


@pytest.mark.parametrize("f,vmappable", CASES, ids=IDS)
def test_second_order_pairs_agree(f, vmappable):
    x, v = _point(f), rng.normal(size=6)
    H = fnflow.hessian(f)(x)
    close(H, _hess(f, x), 1e-5)
    close(H, H.T, 1e-10)
    hv = H @ v
    close(fnflow.grad(lambda x: fnp.vdot(fnflow.grad(f)(x), v))(x), hv)  # grad o grad
    close(fnflow.jvp(fnflow.grad(f), (x,), (v,))[1], hv)  # jvp o grad
    close(fnflow.vjp(fnflow.grad(f), x)[1](v)[0], hv)  # vjp o grad
    close(fnflow.grad(lambda x: fnflow.jvp(f, (x,), (v,))[1])(x), hv)  # grad o jvp
    close(fnflow.vjp(lambda x: fnflow.jvp(f, (x,), (v,))[1], x)[1](1.0)[0], hv)  # vjp o jvp
    close(fnflow.jvp(lambda x: fnflow.vjp(f, x)[1](1.0)[0], (x,), (v,))[1], hv)  # jvp o vjp
    close(fnflow.jvp(lambda x: fnflow.jvp(f, (x,), (v,))[1], (x,), (v,))[1], v @ H @ v)  # jvp o jvp
    close(fnflow.jacfwd(fnflow.grad(f))(x), fnflow.jacrev(fnflow.grad(f))(x))
    close(fnflow.jacfwd(fnflow.jacrev(f))(x), H)
    close(fnflow.jacrev(fnflow.jacfwd(f))(x), H)


@pytest.mark.parametrize("f,vmappable", CASES, ids=IDS)
def test_value_and_grad_and_jacobians_of_gradient(f, vmappable):
    x = _point(f)
    val, g = fnflow.value_and_grad(f)(x)
    close(val, f(x), 1e-12)
    close(fnflow.jacfwd(f)(x), g)
    close(fnflow.jacrev(f)(x), g)
    close(fnflow.jvp(f, (x,), (np.eye(6)[2],))[1], g[2])


@pytest.mark.parametrize("f", [mlp, with_max], ids=IDS[:2])
def test_vmap_pairs_agree(f):
    xs, vs = rng.normal(size=(3, 6)), rng.normal(size=(3, 6))
    g_rows = np.stack([np.asarray(fnflow.grad(f)(x)) for x in xs])
    f_rows = np.array([float(f(x)) for x in xs])
    close(fnflow.vmap(f)(xs), f_rows, 1e-12)
    close(fnflow.vmap(fnflow.grad(f))(xs), g_rows)  # vmap o grad
    close(fnflow.grad(lambda xs: fnp.sum(fnflow.vmap(f)(xs)))(xs), g_rows)  # grad o vmap
    jv = np.sum(g_rows * vs, axis=1)
    close(fnflow.vmap(lambda x, v: fnflow.jvp(f, (x,), (v,))[1])(xs, vs), jv)  # vmap o jvp
    close(fnflow.jvp(fnflow.vmap(f), (xs,), (vs,))[1], jv)  # jvp o vmap
    close(fnflow.vmap(lambda x: fnflow.vjp(f, x)[1](1.0)[0])(xs), g_rows)  # vmap o vjp
    close(fnflow.vjp(fnflow.vmap(f), xs)[1](np.ones(3))[0], g_rows)  # vjp o vmap
    close(fnflow.vmap(fnflow.vmap(f))(xs[None]), f_rows[None], 1e-12)  # vmap o vmap


@pytest.mark.parametrize("f", [mlp, with_max], ids=IDS[:2])
def test_triples(f):
    xs, v = rng.normal(size=(2, 6)), rng.normal(size=6)
    hs = np.stack([np.asarray(fnflow.hessian(f)(x)) for x in xs])
    close(fnflow.vmap(fnflow.hessian(f))(xs), hs)  # vmap o jacfwd o jacrev
    close(fnflow.vmap(fnflow.jacfwd(fnflow.grad(f)))(xs), hs)
    hv = hs @ v
    close(fnflow.vmap(lambda x: fnflow.grad(lambda x: fnp.vdot(fnflow.grad(f)(x), v))(x))(xs), hv)  # vmap grad grad
    close(fnflow.vmap(lambda x: fnflow.jvp(fnflow.grad(f), (x,), (v,))[1])(xs), hv)  # vmap jvp grad
    # grad o vmap o grad: d/dxs sum_i <grad f(x_i), v> = H_i v
    close(fnflow.grad(lambda xs: fnp.sum(fnflow.vmap(fnflow.grad(f))(xs) @ v))(xs), hv)
    third = fnflow.grad(lambda x: fnflow.grad(lambda x: fnp.vdot(fnflow.grad(f)(x), v))(x) @ v)(xs[0])
    ref = (np.asarray(fnflow.hessian(f)(xs[0] + 1e-5 * v)) - np.asarray(fnflow.hessian(f)(xs[0] - 1e-5 * v))) / 2e-5
    close(third, ref @ v, 1e-5)  # grad o grad o grad


def test_python_if_takes_both_branches_under_grad():
    x = -np.abs(_point(mlp))
    close(fnflow.grad(with_if)(x), 2 * np.sin(x) * np.cos(x), 1e-12)
    x = np.abs(x)
    close(fnflow.grad(with_if)(x), np.exp(0.3 * x) * (1 + 0.3 * x), 1e-12)
