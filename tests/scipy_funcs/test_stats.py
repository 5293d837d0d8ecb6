"""fnflow.scipy.stats: densities against closed forms computed with math, loc/scale, support edges, grads, jit, vmap."""

import math

import numpy as np
import pytest

import fnflow
import fnflow.scipy.stats as st
from fnflow.testing import check_grads

X = np.linspace(-3.0, 3.0, 13)


def _norm_logpdf(x, m, s):
    return -0.5 * ((x - m) / s) ** 2 - math.log(s) - 0.5 * math.log(2 * math.pi)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_norm(dtype):
    x, m, s = X.astype(dtype), 0.5, 2.0
    tol = 1e-6 if dtype == np.float32 else 1e-14
    want = np.array([_norm_logpdf(v, m, s) for v in X])
    assert st.norm.logpdf(x, m, s).dtype == dtype
    np.testing.assert_allclose(st.norm.logpdf(x, m, s), want, rtol=tol)
    np.testing.assert_allclose(st.norm.pdf(x, m, s), np.exp(want), rtol=3 * tol)
    cdf = np.array([0.5 * math.erfc(-(v - m) / s / math.sqrt(2)) for v in X])
    np.testing.assert_allclose(st.norm.cdf(x, m, s), cdf, rtol=3 * tol)
    np.testing.assert_allclose(st.norm.sf(x, m, s), 1 - cdf, rtol=3 * tol)
    np.testing.assert_allclose(st.norm.logcdf(x, m, s), np.log(cdf), rtol=3 * tol)
    np.testing.assert_allclose(st.norm.logsf(x, m, s), np.log1p(-cdf), rtol=3 * tol)
    q = np.array([0.01, 0.3, 0.5, 0.8], dtype)
    np.testing.assert_allclose(st.norm.cdf(st.norm.ppf(q, m, s), m, s), q, rtol=3 * tol)
    np.testing.assert_allclose(st.norm.isf(q, m, s), st.norm.ppf(1 - q, m, s), rtol=10 * tol)
    assert float(st.norm.logcdf(-40.0)) < -800 and np.isfinite(float(st.norm.logsf(np.float64(40.0))))


def test_continuous_logpdfs_against_closed_forms():
    x = X
    lg = math.lgamma
    a, b, df, loc, scale = 2.5, 0.7, 3.5, 0.2, 1.5

    def ref(f):
        return np.array([f(v) for v in x])

    def gam(v):
        y = (v - loc) / scale
        return (a - 1) * math.log(y) - y - lg(a) - math.log(scale) if y > 0 else -np.inf

    def bet(v):
        y = (v + 3) / 6
        if not 0 < y < 1:
            return -np.inf
        return (a - 1) * math.log(y) + (b - 1) * math.log1p(-y) - (lg(a) + lg(b) - lg(a + b)) - math.log(6)

    def stu(v):
        z = (v - loc) / scale
        return (lg((df + 1) / 2) - lg(df / 2) - 0.5 * math.log(df * math.pi) - math.log(scale)
                - (df + 1) / 2 * math.log1p(z * z / df))

    cases = [
        (st.gamma.logpdf(x, a, loc, scale), ref(gam)),
        (st.beta.logpdf(x[1:-1], a, b, -3.0, 6.0), ref(bet)[1:-1]),
        (st.t.logpdf(x, df, loc, scale), ref(stu)),
        (st.laplace.logpdf(x, loc, scale), ref(lambda v: -abs(v - loc) / scale - math.log(2 * scale))),
        (st.cauchy.logpdf(x, loc, scale), ref(lambda v: -math.log(math.pi * scale * (1 + ((v - loc) / scale) ** 2)))),
        (st.logistic.logpdf(x, loc, scale),
         ref(lambda v: -(v - loc) / scale - 2 * math.log1p(math.exp(-(v - loc) / scale)) - math.log(scale))),
        (st.expon.logpdf(x, loc, scale), ref(lambda v: -(v - loc) / scale - math.log(scale) if v >= loc else -np.inf)),
        (st.uniform.logpdf(x, loc, scale), ref(lambda v: -math.log(scale) if loc <= v <= loc + scale else -np.inf)),
    ]
    for got, want in cases:
        np.testing.assert_allclose(got, want, rtol=1e-13)
    np.testing.assert_allclose(st.gamma.pdf(x, a, loc, scale), np.exp(ref(gam)), rtol=1e-13)


def test_cdfs():
    x, loc, scale = X, 0.2, 1.5
    z = (x - loc) / scale
    np.testing.assert_allclose(st.laplace.cdf(x, loc, scale), np.where(z < 0, 0.5 * np.exp(z), 1 - 0.5 * np.exp(-z)))
    np.testing.assert_allclose(st.cauchy.cdf(x, loc, scale), 0.5 + np.arctan(z) / np.pi)
    np.testing.assert_allclose(st.logistic.cdf(x, loc, scale), 1 / (1 + np.exp(-z)))
    np.testing.assert_allclose(st.expon.cdf(x, loc, scale), np.where(z > 0, 1 - np.exp(-z), 0.0), atol=1e-16)
    np.testing.assert_allclose(st.uniform.cdf(x, loc, scale), np.clip(z, 0, 1))
    # gamma with integer a = 2: P(2, y) = 1 - (1 + y) e^-y
    y = np.maximum(z, 0)
    np.testing.assert_allclose(st.gamma.cdf(x, 2.0, loc, scale), 1 - (1 + y) * np.exp(-y), atol=1e-15)
    np.testing.assert_allclose(st.gamma.sf(x, 2.0, loc, scale), (1 + y) * np.exp(-y), rtol=1e-14)


def test_discrete():
    k = np.array([-1.0, 0.0, 1.0, 2.0, 5.0, 1.5])
    mu = 2.5
    want = [-np.inf] + [v * math.log(mu) - mu - math.lgamma(v + 1) for v in (0.0, 1.0, 2.0, 5.0)] + [-np.inf]
    np.testing.assert_allclose(st.poisson.logpmf(k, mu), want, rtol=1e-14)
    np.testing.assert_allclose(st.poisson.pmf(k, mu), np.exp(want), rtol=1e-14)
    cdf = [0.0] + [sum(math.exp(-mu) * mu ** j / math.factorial(j) for j in range(int(v) + 1)) for v in k[1:]]
    np.testing.assert_allclose(st.poisson.cdf(k, mu), cdf, rtol=1e-13)
    kb = np.array([-1.0, 0.0, 1.0, 2.0, 0.5])
    np.testing.assert_allclose(st.bernoulli.logpmf(kb, 0.3), [-np.inf, math.log(0.7), math.log(0.3), -np.inf, -np.inf])
    np.testing.assert_allclose(st.bernoulli.pmf(kb, 0.3), [0.0, 0.7, 0.3, 0.0, 0.0])
    np.testing.assert_allclose(st.bernoulli.cdf(kb, 0.3), [0.0, 0.7, 1.0, 1.0, 0.7])
    np.testing.assert_allclose(st.poisson.logpmf(np.array([0, 3], np.int32), 2.0),
                               [-2.0, 3 * math.log(2) - 2 - math.log(6)], rtol=1e-6)


def test_multivariate_normal():
    rng = np.random.default_rng(0)
    mean = np.array([0.5, -1.0, 2.0])
    cov = np.array([[2.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 0.5]])
    x = rng.normal(size=(4, 3))
    d = x - mean
    inv = np.linalg.inv(cov)
    want = -0.5 * (3 * math.log(2 * math.pi) + math.log(np.linalg.det(cov)) + np.einsum("bi,ij,bj->b", d, inv, d))
    np.testing.assert_allclose(st.multivariate_normal.logpdf(x, mean, cov), want, rtol=1e-13)
    np.testing.assert_allclose(st.multivariate_normal.logpdf(x[0], mean, cov), want[0], rtol=1e-13)
    np.testing.assert_allclose(st.multivariate_normal.pdf(x, mean, cov), np.exp(want), rtol=1e-13)
    var = np.array([1.0, 2.0, 3.0])
    want_diag = -0.5 * (3 * math.log(2 * math.pi) + np.log(var).sum() + (d * d / var).sum(-1))
    np.testing.assert_allclose(st.multivariate_normal.logpdf(x, mean, var), want_diag, rtol=1e-13)
    check_grads(lambda m, c: st.multivariate_normal.logpdf(x, m, c @ c.T + np.eye(3)), (mean, np.eye(3) * 0.5),
                order=1)


def test_gradients():
    x = np.array([0.3, 1.2, 2.5])
    check_grads(st.norm.logpdf, (x, np.float64(0.5), np.float64(2.0)), order=2)
    check_grads(st.norm.logcdf, (x, np.float64(0.5), np.float64(2.0)), order=2)
    check_grads(st.norm.ppf, (np.array([0.2, 0.6]), np.float64(0.5), np.float64(2.0)), order=2)
    check_grads(lambda x, a: st.gamma.logpdf(x, a, 0.0, 1.5), (x, np.float64(2.5)), order=2)
    check_grads(lambda x, a: st.gamma.cdf(x, a), (x, np.float64(2.5)), order=1)
    check_grads(lambda x, a, b: st.beta.logpdf(x, a, b), (x / 3, np.float64(2.5), np.float64(0.7)), order=2)
    check_grads(lambda x, df: st.t.logpdf(x, df, 0.1, 2.0), (x, np.float64(3.5)), order=2)
    check_grads(st.cauchy.logpdf, (x, np.float64(0.5), np.float64(2.0)), order=2)
    check_grads(st.logistic.logpdf, (x, np.float64(0.5), np.float64(2.0)), order=2)
    check_grads(lambda mu: st.poisson.logpmf(np.array([0.0, 1.0, 4.0]), mu), (np.float64(2.5),), order=2)
    check_grads(lambda p: st.bernoulli.logpmf(np.array([0.0, 1.0]), p), (np.float64(0.3),), order=2)


def test_jit_and_vmap():
    def f(x, s):
        return (st.norm.logpdf(x, 0.1, s) + st.norm.logcdf(x) + st.gamma.logpdf(x + 4, 2.0, 0.0, s)
                + st.t.logpdf(x, 3.0, 0.0, s) + st.laplace.logpdf(x, 0.0, s) + st.expon.logpdf(x + 4, 0.0, s)
                + st.poisson.logpmf(fnflow.numpy.floor(x + 4), s) + st.uniform.logpdf(x, -5.0, 10.0))

    s = np.linspace(0.5, 2.0, X.size)
    eager = f(X, s)
    np.testing.assert_allclose(fnflow.jit(f)(X, s), eager, rtol=1e-13)
    np.testing.assert_allclose(fnflow.vmap(f)(X, s), [f(a, b) for a, b in zip(X, s)], rtol=1e-13)
