"""Plain NumPy functions and operators on tracers (``__array_ufunc__`` / ``__array_function__``)."""

import numpy as np
import pytest

import fnflow
from fnflow.testing import check_grads

rng = np.random.default_rng(3)
A = rng.normal(size=(2, 3))
B = rng.normal(size=(4,))


def numpy_loss(x):
    """Written only with NumPy: works on tracers through the protocols."""
    h = np.sin(x)  # ufunc
    s = np.sum(h * h, axis=0)  # array function with a keyword
    m = A @ x  # numpy_array @ tracer
    b = B + x  # numpy_array + tracer (broadcast)
    w = np.where(x > 0, x, 0.1 * x)  # where on a traced condition
    return np.mean(s) + np.sum(m) + np.mean(b) + np.sum(w ** 2) + np.max(np.tanh(x))


def reference(x):
    s = np.sum(np.sin(x) ** 2, axis=0)
    w = np.where(x > 0, x, 0.1 * x)
    return np.mean(s) + np.sum(A @ x) + np.mean(B + x) + np.sum(w ** 2) + np.max(np.tanh(x))


def test_values_under_grad_and_vmap():
    x = rng.normal(size=(3, 4))
    np.testing.assert_allclose(numpy_loss(x), reference(x))
    val, g = fnflow.value_and_grad(numpy_loss)(x)
    np.testing.assert_allclose(val, reference(x))
    xs = rng.normal(size=(2, 3, 4))
    np.testing.assert_allclose(fnflow.vmap(numpy_loss)(xs), [reference(x) for x in xs])
    np.testing.assert_allclose(fnflow.vmap(fnflow.grad(numpy_loss))(xs),
                               np.stack([np.asarray(fnflow.grad(numpy_loss)(x)) for x in xs]))


def test_gradients_against_finite_differences():
    x = rng.normal(size=(3, 4))
    x[np.abs(x) < 0.1] = 0.5  # keep away from the kink of where
    check_grads(numpy_loss, (x,), order=1)


@pytest.mark.parametrize("fn,grad_fn", [
    (lambda x: np.sum(np.sin(x)), np.cos),
    (lambda x: np.sum(np.mean(x, axis=0) * 3.0), lambda x: np.full_like(x, 3.0 / x.shape[0])),
    (lambda x: np.sum(np.where(x > 0, x ** 2, -x)), lambda x: np.where(x > 0, 2 * x, -1.0)),
    (lambda x: np.sum(np.ones((2, 3)) @ x), lambda x: np.full_like(x, 2.0)),
    (lambda x: np.sum(np.exp(x) + np.arange(3.0)), np.exp),
])
def test_single_protocols_under_grad(fn, grad_fn):
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(fnflow.grad(fn)(x), grad_fn(x))


def test_reverse_operators_and_reductions_of_ufuncs():
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(fnflow.grad(lambda x: np.add.reduce(np.array([2.0, 2.0, 2.0]) * x))(x), 2.0)
    np.testing.assert_allclose(fnflow.grad(lambda x: np.sum(np.cumsum(x)))(x), [3.0, 2.0, 1.0])
    np.testing.assert_allclose(fnflow.vmap(lambda r: np.dot(r, np.ones(3)))(np.ones((2, 3))), [3.0, 3.0])


def test_unsupported_numpy_functions_raise_type_error():
    with pytest.raises(TypeError, match=r"numpy\.polyder is not supported on traced values.*fnflow\.numpy"):
        fnflow.grad(lambda x: np.sum(np.polyder(x)))(np.ones(3))
    with pytest.raises(TypeError, match=r"numpy\.gcd\.__call__ is not supported on traced values"):
        fnflow.vmap(lambda x: np.gcd(x, 2))(np.ones((2, 3), np.int32))
    with pytest.raises(TypeError, match="cannot write into a traced array"):
        fnflow.grad(lambda x: np.sum(np.sin(x, out=np.empty(3))))(np.ones(3))
