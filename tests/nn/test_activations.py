"""fnflow.nn activations: values, derivatives (to second order), kinks, stability, vmap."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnflow as ff
import fnflow.nn as nn
import fnflow.numpy as fnp
from fnflow.testing import check_grads

SETTINGS = settings(derandomize=True, deadline=None, max_examples=6)
_erf = np.vectorize(math.erf)


def close(a, b, **kw):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), **kw)


def _sig(x):
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


def _elu(x, a=1.0):
    return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0)))


def _softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


# name -> (function, NumPy reference, kinks to keep away from)
ELEMENTWISE = {
    "relu": (nn.relu, lambda x: np.maximum(x, 0), (0.0,)),
    "relu6": (nn.relu6, lambda x: np.clip(x, 0, 6), (0.0, 6.0)),
    "sigmoid": (nn.sigmoid, _sig, ()),
    "log_sigmoid": (nn.log_sigmoid, lambda x: -_softplus(-x), ()),
    "softplus": (nn.softplus, _softplus, ()),
    "soft_sign": (nn.soft_sign, lambda x: x / (np.abs(x) + 1), (0.0,)),
    "silu": (nn.silu, lambda x: x * _sig(x), ()),
    "swish": (nn.swish, lambda x: x * _sig(x), ()),
    "gelu": (nn.gelu, lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))), ()),
    "gelu_tanh": (lambda x: nn.gelu(x, approximate=True),
                  lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))), ()),
    "elu": (nn.elu, _elu, (0.0,)),
    "elu_alpha": (lambda x: nn.elu(x, 0.5), lambda x: _elu(x, 0.5), (0.0,)),
    "selu": (nn.selu, lambda x: 1.0507009873554805 * _elu(x, 1.6732632423543772), (0.0,)),
    "celu": (lambda x: nn.celu(x, 2.0), lambda x: np.where(x > 0, x, 2.0 * np.expm1(np.minimum(x, 0) / 2.0)),
             (0.0,)),
    "leaky_relu": (nn.leaky_relu, lambda x: np.where(x >= 0, x, 0.01 * x), (0.0,)),
    "leaky_relu_03": (lambda x: nn.leaky_relu(x, 0.3), lambda x: np.where(x >= 0, x, 0.3 * x), (0.0,)),
    "hard_sigmoid": (nn.hard_sigmoid, lambda x: np.clip(x + 3, 0, 6) / 6, (-3.0, 3.0)),
    "hard_tanh": (nn.hard_tanh, lambda x: np.clip(x, -1, 1), (-1.0, 1.0)),
    "hard_swish": (nn.hard_swish, lambda x: x * np.clip(x + 3, 0, 6) / 6, (-3.0, 3.0)),
    "hard_silu": (nn.hard_silu, lambda x: x * np.clip(x + 3, 0, 6) / 6, (-3.0, 3.0)),
    "mish": (nn.mish, lambda x: x * np.tanh(_softplus(x)), ()),
    "tanh": (nn.tanh, np.tanh, ()),
}


@st.composite
def inputs(draw, kinks=(), lo=-8.0, hi=8.0):
    """float64 arrays of small shapes, kept 0.05 away from the kinks."""
    shape = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    x = np.random.RandomState(draw(st.integers(0, 2**31 - 1))).uniform(lo, hi, shape)
    for k in kinks:
        near = np.abs(x - k) < 0.05
        x = np.where(near, k + np.where(x < k, -0.05, 0.05), x)
    return x


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_values_match_reference(name):
    f, ref, _ = ELEMENTWISE[name]
    x = np.concatenate([np.linspace(-10, 10, 41), [-6.0, -3.0, -1.0, 0.0, 1.0, 3.0, 6.0]])
    close(f(x), ref(x), rtol=1e-12, atol=1e-12)
    x32 = x.astype(np.float32)
    out = f(x32)
    assert out.dtype == np.float32
    close(out, ref(x).astype(np.float32), rtol=2e-6, atol=2e-6)
    assert f(np.arange(3)).dtype == np.float32  # integers are promoted to the default float


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_grads_second_order(name):
    f, _, kinks = ELEMENTWISE[name]

    @SETTINGS
    @given(inputs(kinks))
    def check(x):
        check_grads(f, (x,), order=2)

    check()


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_vmap_matches_loop(name):
    f, _, _ = ELEMENTWISE[name]
    x = np.random.RandomState(0).uniform(-8, 8, (4, 3))
    close(ff.vmap(f)(x), np.stack([f(r) for r in x]))
    close(ff.vmap(ff.grad(lambda v: fnp.sum(f(v))))(x), np.stack([ff.grad(lambda v: fnp.sum(f(v)))(r) for r in x]))


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_scalars_keep_dtype_and_results_are_arrays(name):
    f, ref, _ = ELEMENTWISE[name]
    for x in (np.float64(0.7), np.array(-1.3), np.float32(2.5)):
        y = f(x)
        assert isinstance(y, ff.Array) and y.shape == () and y.dtype == np.asarray(x).dtype
        close(y, ref(np.asarray(x, np.float64)), rtol=1e-6)


def _d(f, x):
    return float(ff.grad(f)(np.float64(x)))


def test_derivatives_at_kinks_follow_jax():
    assert _d(nn.relu, 0.0) == 0.0
    assert _d(nn.relu6, 0.0) == 0.0 and _d(nn.relu6, 6.0) == 0.0
    assert _d(nn.leaky_relu, 0.0) == 1.0
    assert _d(lambda x: nn.elu(x, 0.5), 0.0) == 0.5
    assert _d(nn.celu, 0.0) == 1.0
    assert _d(nn.hard_tanh, 1.0) == 1.0 and _d(nn.hard_tanh, -1.0) == 1.0
    assert _d(nn.soft_sign, 0.0) == 1.0
    assert _d(nn.softplus, 0.0) == 0.5
    assert _d(lambda x: ff.grad(nn.relu)(x), 0.0) == 0.0


def test_stability_at_extremes():
    big = np.array([-1000.0, -100.0, 0.0, 100.0, 1000.0])
    close(nn.softplus(big), [0.0, 0.0, math.log(2), 100.0, 1000.0], atol=1e-40)
    assert float(nn.softplus(np.float32(1000.0))) == 1000.0
    assert float(nn.log_sigmoid(np.float64(-1000.0))) == -1000.0
    assert float(nn.log_sigmoid(np.float32(1000.0))) == 0.0
    close(nn.sigmoid(big), [0.0, _sig(-100.0), 0.5, 1.0, 1.0])
    for name, (f, _, _) in ELEMENTWISE.items():
        for dt in (np.float32, np.float64):
            x = big.astype(dt)
            y = f(x)
            g = ff.vmap(ff.grad(f))(x)
            g2 = ff.vmap(ff.grad(ff.grad(f)))(x)
            for v in (y, g, g2):
                assert not np.any(np.isnan(np.asarray(v))), (name, dt, v)
    close(ff.vmap(ff.grad(nn.softplus))(big), _sig(big))
    close(ff.vmap(ff.grad(nn.log_sigmoid))(big), _sig(-big))


# ------------------------------------------------------------------ softmax


def _np_softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_softmax_values_and_axes():
    x = np.random.RandomState(1).randn(2, 3, 4)
    for axis in (-1, 0, 1, (0, 2), None):
        close(nn.softmax(x, axis=axis), _np_softmax(x, axis=axis), rtol=1e-12)
        close(nn.log_softmax(x, axis=axis), np.log(_np_softmax(x, axis=axis)), rtol=1e-12)
        close(fnp.sum(nn.softmax(x, axis=axis), axis=axis), np.ones(()), rtol=1e-12)
    assert nn.softmax(x.astype(np.float32)).dtype == np.float32


def test_softmax_large_logits():
    x = np.array([1000.0, 0.0, -1000.0])
    close(nn.softmax(x), [1.0, 0.0, 0.0])
    close(nn.log_softmax(x), [0.0, -1000.0, -2000.0])
    x32 = np.array([[1e4, 1e4 - 1.0, -1e4]], np.float32)
    close(nn.softmax(x32), _np_softmax(x32.astype(np.float64)).astype(np.float32), rtol=1e-6)
    masked = np.array([0.0, -np.inf, 1.0])
    close(nn.softmax(masked), _np_softmax(masked))
    for f in (lambda v: nn.softmax(v)[0], lambda v: nn.log_softmax(v)[1]):
        for v in (x, masked):
            g = ff.grad(f)(v)
            assert not np.any(np.isnan(np.asarray(g)))
            h = ff.hessian(f)(v)
            assert not np.any(np.isnan(np.asarray(h)))
    close(ff.grad(lambda v: nn.log_softmax(v)[1])(x), [-1.0, 1.0, 0.0])


@SETTINGS
@given(inputs(lo=-3.0, hi=3.0))
def test_softmax_grads(x):
    if x.ndim == 0:
        x = x.reshape(1)
    check_grads(nn.softmax, (x,), order=2)
    check_grads(nn.log_softmax, (x,), order=2)
    check_grads(lambda v: nn.softmax(v, axis=0), (x,), order=2)
    check_grads(lambda v: nn.log_softmax(v, axis=None), (x,), order=2)
    check_grads(lambda v: nn.logsumexp(v, axis=-1), (x,), order=2)


def test_softmax_jacobian_closed_form():
    x = np.array([0.5, -1.0, 2.0])
    y = _np_softmax(x)
    want = np.diag(y) - np.outer(y, y)
    close(ff.jacfwd(nn.softmax)(x), want, rtol=1e-12)
    close(ff.jacrev(nn.softmax)(x), want, rtol=1e-12)
    close(ff.jacrev(nn.log_softmax)(x), np.eye(3) - y[None, :], rtol=1e-12)


def test_softmax_vmap_matches_loop():
    x = np.random.RandomState(2).randn(5, 4)
    close(ff.vmap(nn.softmax)(x), np.stack([nn.softmax(r) for r in x]))
    close(ff.vmap(nn.softmax, in_axes=1)(x), np.stack([nn.softmax(x[:, i]) for i in range(4)]))
    gl = ff.vmap(ff.grad(lambda r: nn.log_softmax(r)[0]))(x)
    close(gl, np.stack([ff.grad(lambda r: nn.log_softmax(r)[0])(r) for r in x]))
    gs = ff.vmap(ff.grad(lambda r: nn.softmax(r)[1]))(x)
    close(gs, np.stack([ff.grad(lambda r: nn.softmax(r)[1])(r) for r in x]))


# ------------------------------------------------------------------- misc


def test_one_hot():
    labels = np.array([0, 2, 1, 5, -1])
    out = nn.one_hot(labels, 3)
    assert out.dtype == np.float32 and out.shape == (5, 3)
    want = np.zeros((5, 3))
    want[[0, 1, 2], [0, 2, 1]] = 1  # out-of-range labels give all zeros
    close(out, want)
    close(nn.one_hot(labels, 3, axis=0), want.T)
    lab2 = np.array([[0, 1], [2, 0]])
    out = nn.one_hot(lab2, 3, dtype=np.int32, axis=1)
    assert out.dtype == np.int32 and out.shape == (2, 3, 2)
    close(out, np.moveaxis(np.eye(3, dtype=np.int32)[lab2], -1, 1))
    close(ff.vmap(lambda v: nn.one_hot(v, 4))(lab2), np.eye(4)[lab2])


def test_standardize():
    x = np.random.RandomState(3).randn(3, 5) * 4 + 2
    want = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    close(nn.standardize(x), want, rtol=1e-12)
    close(nn.normalize(x, axis=0), (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-12)
    close(nn.standardize(x, mean=1.0, variance=4.0, epsilon=0.0), (x - 1) / 2)
    check_grads(nn.standardize, (x,), order=2)


def test_glu_and_logsumexp_reexport():
    x = np.random.RandomState(4).randn(2, 6)
    close(nn.glu(x), x[:, :3] * _sig(x[:, 3:]))
    close(nn.glu(x, axis=0), x[:1] * _sig(x[1:]))
    with pytest.raises(ValueError, match="even"):
        nn.glu(np.ones(3))
    check_grads(nn.glu, (x,), order=2)
    assert nn.logsumexp is fnp.logsumexp
    assert nn.activations.relu is nn.relu
    assert set(nn.activations.__all__) <= set(dir(nn))


def test_gelu_forms_differ_slightly():
    x = np.linspace(-4, 4, 33)
    exact, approx = np.asarray(nn.gelu(x)), np.asarray(nn.gelu(x, approximate=True))
    assert np.max(np.abs(exact - approx)) < 1e-3
    assert np.max(np.abs(exact - approx)) > 1e-5
