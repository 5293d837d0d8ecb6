"""fnflow.random distributions (gamma, beta, poisson, binomial ...): purity, shapes, jit/vmap and statistics.

Distribution checks use fixed seeds and a few thousand samples: sample means and
variances against theory within 5 standard errors, Kolmogorov–Smirnov statistics
against CDFs written here with ``math`` (threshold 1.95 / sqrt(N): a p-value of
about 0.001), and chi-square statistics for the discrete ones.
"""

import math

import numpy as np
import pytest

import fnflow
import fnflow.numpy as fnp
import fnflow.random as fr

N = 4000
KEY = fr.key(1234)


# ----------------------------------------------------------------- reference CDFs and statistics


def gamma_cdf(a, x):
    """Regularised lower incomplete gamma P(a, x) by its power series (fine for the x seen here)."""
    if x <= 0:
        return 0.0
    term = 1.0 / a
    total = term
    n = 1
    while term > 1e-15 * total and n < 2000:
        term *= x / (a + n)
        total += term
        n += 1
    return min(1.0, math.exp(a * math.log(x) - x - math.lgamma(a)) * total)


def ks_stat(samples, cdf):
    x = np.sort(np.asarray(samples, np.float64))
    f = np.array([cdf(v) for v in x])
    n = len(x)
    i = np.arange(1, n + 1)
    return max(np.max(i / n - f), np.max(f - (i - 1) / n))


def assert_ks(samples, cdf):
    d = ks_stat(samples, cdf)
    assert d < 1.95 / math.sqrt(len(samples)), f"KS statistic {d:.4f} too large"


def assert_chisquare(samples, pmf, support):
    """Chi-square over the values in ``support`` (tails pooled into the end bins), expected counts >= 5."""
    samples = np.asarray(samples).astype(np.int64)
    n = len(samples)
    lo, hi = support
    probs = np.array([pmf(k) for k in range(lo, hi + 1)])
    probs[0] += sum(pmf(k) for k in range(0, lo))  # lower tail pooled into the first bin
    probs[-1] = 1.0 - probs[:-1].sum()  # upper tail pooled into the last
    counts = np.array([np.sum(samples == k) for k in range(lo, hi + 1)], np.float64)
    counts[0] += np.sum(samples < lo)
    counts[-1] += np.sum(samples > hi)
    expected = probs * n
    assert np.all(expected >= 5), expected
    stat = np.sum((counts - expected) ** 2 / expected)
    df = len(probs) - 1
    assert stat < df + 5 * math.sqrt(2 * df), f"chi-square {stat:.1f} with {df} degrees of freedom"


def assert_moments(x, mean, var, excess_kurtosis=0.0):
    x = np.asarray(x, np.float64)
    n = len(x)
    assert abs(x.mean() - mean) < 5 * math.sqrt(var / n), (x.mean(), mean)
    se_var = var * math.sqrt((2.0 + excess_kurtosis) / n)
    assert abs(x.var() - var) < 5 * se_var, (x.var(), var)


def poisson_pmf(lam):
    return lambda k: math.exp(-lam + k * math.log(lam) - math.lgamma(k + 1))


def binomial_pmf(n, p):
    return lambda k: math.comb(n, k) * p ** k * (1 - p) ** (n - k)


# ----------------------------------------------------------------- purity, dtypes, shapes

SAMPLERS = {
    "gamma": lambda k, dt: fr.gamma(k, 2.5, (7,), dt),
    "loggamma": lambda k, dt: fr.loggamma(k, 0.5, (7,), dt),
    "beta": lambda k, dt: fr.beta(k, 2.0, 3.0, (7,), dt),
    "dirichlet": lambda k, dt: fr.dirichlet(k, np.array([1.0, 2.0, 3.0]), (7,), dt),
    "chisquare": lambda k, dt: fr.chisquare(k, 3.0, (7,), dt),
    "t": lambda k, dt: fr.t(k, 4.0, (7,), dt),
    "binomial": lambda k, dt: fr.binomial(k, 20, 0.3, (7,), dt),
    "laplace": lambda k, dt: fr.laplace(k, (7,), dt),
    "logistic": lambda k, dt: fr.logistic(k, (7,), dt),
    "cauchy": lambda k, dt: fr.cauchy(k, (7,), dt),
    "generalized_normal": lambda k, dt: fr.generalized_normal(k, 1.5, (7,), dt),
    "ball": lambda k, dt: fr.ball(k, 3, 2, (7,), dt),
    "multivariate_normal": lambda k, dt: fr.multivariate_normal(k, np.zeros(2), np.eye(2), (7,), dt),
    "orthogonal": lambda k, dt: fr.orthogonal(k, 3, (7,), dt),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_pure_and_dtypes(name):
    f = SAMPLERS[name]
    a, b = f(KEY, None), f(KEY, None)
    assert a.dtype == np.float32 and np.array_equal(a, b)
    assert not np.array_equal(a, f(fr.key(5), None))
    assert np.all(np.isfinite(a))
    c = f(KEY, np.float64)
    assert c.dtype == np.float64 and c.shape == a.shape
    assert f(KEY, np.float16).dtype == np.float16


def test_integer_samplers_dtypes():
    p = fr.poisson(KEY, 3.0, (5,))
    assert p.dtype == np.int32 and p.shape == (5,)
    assert fr.poisson(KEY, 3.0, (5,), np.int64).dtype == np.int64
    r = fr.rademacher(KEY, (50,))
    assert r.dtype == np.int32 and set(np.unique(r).tolist()) == {-1, 1}
    assert fr.rademacher(KEY, (3,), np.float32).dtype == np.float32


def test_parameter_broadcasting():
    assert fr.gamma(KEY, np.array([1.0, 2.0, 3.0])).shape == (3,)
    assert fr.gamma(KEY, np.array([1.0, 2.0, 3.0]), (2, 3)).shape == (2, 3)
    assert fr.gamma(KEY, 2.0).shape == ()
    assert fr.beta(KEY, np.ones((2, 1)), np.ones(3)).shape == (2, 3)
    assert fr.poisson(KEY, np.array([0.5, 20.0]), (4, 2)).shape == (4, 2)
    assert fr.binomial(KEY, np.array([5.0, 100.0]), 0.5).shape == (2,)
    assert fr.t(KEY, np.array([2.0, 3.0])).shape == (2,)
    assert fr.dirichlet(KEY, np.ones((2, 4))).shape == (2, 4)
    assert fr.dirichlet(KEY, np.ones(4), (5, 2)).shape == (5, 2, 4)
    assert fr.multivariate_normal(KEY, np.zeros((3, 2)), np.eye(2)).shape == (3, 2)
    assert fr.multivariate_normal(KEY, np.zeros(2), np.eye(2), (4, 3)).shape == (4, 3, 2)
    assert fr.orthogonal(KEY, 4, (2,), m=3).shape == (2, 4, 3)
    assert fr.ball(KEY, 3, shape=(5,)).shape == (5, 3)
    assert fr.gamma(KEY, 1.0, (0, 3)).shape == (0, 3)
    # each element of a broadcast parameter gets its own draws
    g = fr.gamma(KEY, np.array([2.0, 2.0, 2.0]))
    assert len(set(np.asarray(g).tolist())) == 3


def test_argument_errors():
    with pytest.raises(ValueError, match=r"random\.gamma: shape=\(3, 2\) must contain the parameter shapes"):
        fr.gamma(KEY, np.ones(3), (3, 2))
    with pytest.raises(ValueError, match=r"random\.beta: parameter shapes do not broadcast"):
        fr.beta(KEY, np.ones(2), np.ones(3))
    with pytest.raises(TypeError, match=r"random\.gamma: dtype must be a float dtype"):
        fr.gamma(KEY, 1.0, dtype=np.int32)
    with pytest.raises(TypeError, match=r"random\.poisson: dtype must be an integer dtype"):
        fr.poisson(KEY, 1.0, dtype=np.float32)
    with pytest.raises(TypeError, match=r"random\.gamma: `a` must be real numbers"):
        fr.gamma(KEY, np.array([1 + 1j]))
    with pytest.raises(TypeError, match=r"random\.gamma: expected a single key"):
        fr.gamma(fr.split(KEY, 2), 1.0)
    with pytest.raises(ValueError, match=r"random\.dirichlet: `alpha` must have at least one axis"):
        fr.dirichlet(KEY, 1.0)
    with pytest.raises(ValueError, match=r"random\.multivariate_normal: expected mean of shape"):
        fr.multivariate_normal(KEY, np.zeros(2), np.eye(3))
    with pytest.raises(ValueError, match=r"random\.multivariate_normal: method must be"):
        fr.multivariate_normal(KEY, np.zeros(2), np.eye(2), method="qr")
    with pytest.raises(ValueError, match=r"random\.orthogonal: n must be a positive int"):
        fr.orthogonal(KEY, 0)
    with pytest.raises(ValueError, match=r"random\.ball: d must be a positive int"):
        fr.ball(KEY, 0)


def test_invalid_and_edge_parameter_values():
    g = np.asarray(fr.gamma(KEY, np.array([-1.0, 0.0, np.nan, np.inf, 1.0])))
    assert np.isnan(g[:3]).all() and g[3] == np.inf and np.isfinite(g[4])
    p = np.asarray(fr.poisson(KEY, np.array([-1.0, np.nan, 0.0, 0.0])))
    assert p.tolist() == [-1, -1, 0, 0]
    b = np.asarray(fr.binomial(KEY, np.array([10.0, 10.0, 0.0, 50.0, -1.0]), np.array([0.0, 1.0, 0.5, 1.0, 0.5])))
    assert b[:4].tolist() == [0.0, 10.0, 0.0, 50.0] and np.isnan(b[4])
    assert np.isnan(np.asarray(fr.binomial(KEY, 5.0, 1.5)))
    # tiny a: gamma underflows to 0 in float32, loggamma stays finite
    lg = fr.loggamma(KEY, 1e-3, (100,))
    assert np.all(np.isfinite(lg)) and np.all(np.asarray(fr.gamma(KEY, 1e-3, (100,))) >= 0)


# ----------------------------------------------------------------- jit and vmap

JITTED = {
    "gamma": lambda k, a: fr.gamma(k, a, (3, 4)),
    "beta": lambda k, a: fr.beta(k, a, 2.0 * a, (3, 4)),
    "poisson": lambda k, a: fr.poisson(k, 8.0 * a, (3, 4)),
    "binomial": lambda k, a: fr.binomial(k, 40.0, a / 8.0, (3, 4)),
    "t": lambda k, a: fr.t(k, a + 2.0, (3, 4)),
    "dirichlet": lambda k, a: fr.dirichlet(k, a, (3,)),
}
PARAM = np.array([0.3, 1.0, 2.5, 5.0], np.float32)  # poisson lam 2.4 .. 40, binomial n*p 1.5 .. 25: both methods


@pytest.mark.parametrize("name", sorted(JITTED))
def test_jit_equals_eager_and_vmap_equals_loop(name):
    f = JITTED[name]
    eager = f(KEY, PARAM)
    jitted = fnflow.jit(f)(KEY, PARAM)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(eager), rtol=1e-5)
    keys = fr.split(KEY, 3)
    batched = fnflow.vmap(f, in_axes=(0, None))(keys, PARAM)
    looped = np.stack([np.asarray(f(k, PARAM)) for k in keys])
    np.testing.assert_allclose(np.asarray(batched), looped, rtol=1e-5)


def test_vmap_over_parameters_and_keys():
    a = np.array([[0.5], [3.0]], np.float32)
    keys = fr.split(KEY, 2)
    out = fnflow.vmap(lambda k, x: fr.gamma(k, x, (5,)))(keys, a)
    assert out.shape == (2, 5)
    np.testing.assert_allclose(np.asarray(out[1]), np.asarray(fr.gamma(keys[1], a[1], (5,))), rtol=1e-5)


def test_vmap_over_discrete_parameters_matches_loop():
    lam = np.array([0.5, 30.0])
    out = fnflow.vmap(lambda x: fr.poisson(KEY, x, (6,)))(lam)
    np.testing.assert_array_equal(np.asarray(out), np.stack([np.asarray(fr.poisson(KEY, x, (6,))) for x in lam]))
    p = np.array([0.05, 0.6])
    out = fnflow.vmap(lambda x: fr.binomial(KEY, 100.0, x, (6,)))(p)
    np.testing.assert_array_equal(np.asarray(out), np.stack([np.asarray(fr.binomial(KEY, 100.0, x, (6,))) for x in p]))


def test_jit_with_traced_lam_uses_both_poisson_methods():
    lam = np.array([0.5, 30.0], np.float32)
    f = fnflow.jit(lambda k, lam: fr.poisson(k, lam, (2000, 2)))
    x = np.asarray(f(KEY, lam))
    np.testing.assert_array_equal(x, np.asarray(fr.poisson(KEY, lam, (2000, 2))))
    assert abs(x[:, 0].mean() - 0.5) < 5 * math.sqrt(0.5 / 2000)
    assert abs(x[:, 1].mean() - 30.0) < 5 * math.sqrt(30.0 / 2000)


# ----------------------------------------------------------------- distributions


@pytest.mark.parametrize("a", [0.3, 1.0, 5.0])
def test_gamma_distribution(a):
    x = np.asarray(fr.gamma(fr.fold_in(KEY, 1), a, (N,)))
    assert np.all(x >= 0)
    assert_moments(x, a, a, 6.0 / a)
    assert_ks(x, lambda v: gamma_cdf(a, v))


def test_loggamma_matches_gamma():
    np.testing.assert_allclose(np.exp(np.asarray(fr.loggamma(KEY, 0.7, (50,), np.float64))),
                               np.asarray(fr.gamma(KEY, 0.7, (50,), np.float64)), rtol=1e-12)


def test_gamma_float64_and_large_a():
    x = np.asarray(fr.gamma(fr.fold_in(KEY, 2), 200.0, (N,), np.float64))
    assert_moments(x, 200.0, 200.0, 6.0 / 200)


@pytest.mark.parametrize("a,b,cdf", [
    (2.0, 3.0, lambda x: 6 * x ** 2 - 8 * x ** 3 + 3 * x ** 4),
    (0.5, 0.5, lambda x: 2 / math.pi * math.asin(math.sqrt(min(max(x, 0.0), 1.0)))),
])
def test_beta_distribution(a, b, cdf):
    x = np.asarray(fr.beta(fr.fold_in(KEY, 3), a, b, (N,)))
    assert np.all((x >= 0) & (x <= 1))
    mean, var = a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))
    assert abs(x.mean() - mean) < 5 * math.sqrt(var / N)
    assert_ks(x, cdf)


def test_beta_tiny_parameters_stay_in_range():
    x = np.asarray(fr.beta(KEY, 1e-3, 1e-3, (200,)))
    assert np.all((x >= 0) & (x <= 1)) and np.all(np.isfinite(x))


def test_dirichlet_distribution():
    alpha = np.array([0.5, 2.0, 4.0])
    x = np.asarray(fr.dirichlet(fr.fold_in(KEY, 4), alpha, (N,)))
    np.testing.assert_allclose(x.sum(-1), 1.0, rtol=1e-5)
    s = alpha.sum()
    for i, a in enumerate(alpha):
        var = a * (s - a) / (s ** 2 * (s + 1))
        assert abs(x[:, i].mean() - a / s) < 5 * math.sqrt(var / N)
    # the first marginal is Beta(0.5, 6): a series for its CDF via the regularised incomplete beta
    assert_ks(x[:, 0], lambda v: beta_cdf_series(0.5, 6.0, v))


def beta_cdf_series(a, b, x):
    """I_x(a, b) = x^a / (a B(a, b)) * sum_n (1 - b)_n / n! * a / (a + n) * x^n (|x| < 1)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_b = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    term, total, n = 1.0, 1.0 / a, 0
    while True:
        term *= (n + 1 - b) / (n + 1) * x
        n += 1
        inc = term / (a + n)
        total += inc
        if abs(inc) < 1e-14 * abs(total) or n > 5000:
            break
    return math.exp(a * math.log(x) - log_b) * total


@pytest.mark.parametrize("lam,support", [(0.5, (0, 3)), (4.0, (0, 11)), (30.0, (16, 45))])
def test_poisson_distribution(lam, support):
    x = np.asarray(fr.poisson(fr.fold_in(KEY, 5), lam, (N,)))
    assert np.all(x >= 0)
    assert_moments(x, lam, lam, 1.0 / lam)
    assert_chisquare(x, poisson_pmf(lam), support)


def test_poisson_large_lam_float64_path():
    x = np.asarray(fr.poisson(fr.fold_in(KEY, 6), 1e5, (N,)))
    assert_moments(x, 1e5, 1e5)


@pytest.mark.parametrize("n,p,support", [(10, 0.3, (0, 7)), (200, 0.4, (64, 96)), (50, 0.9, (39, 50))])
def test_binomial_distribution(n, p, support):
    x = np.asarray(fr.binomial(fr.fold_in(KEY, 7), n, p, (N,)))
    assert x.dtype == np.float32 and np.all((x >= 0) & (x <= n)) and np.all(x == np.round(x))
    var = n * p * (1 - p)
    assert_moments(x, n * p, var, (1 - 6 * p * (1 - p)) / var)
    assert_chisquare(x, binomial_pmf(n, p), support)


@pytest.mark.parametrize("name,cdf,mean,var", [
    ("laplace", lambda x: 0.5 * math.exp(x) if x < 0 else 1 - 0.5 * math.exp(-x), 0.0, 2.0),
    ("logistic", lambda x: 1 / (1 + math.exp(-x)), 0.0, math.pi ** 2 / 3),
    ("cauchy", lambda x: 0.5 + math.atan(x) / math.pi, None, None),
])
def test_location_scale_distributions(name, cdf, mean, var):
    x = np.asarray(getattr(fr, name)(fr.fold_in(KEY, 8), (N,)))
    assert np.all(np.isfinite(x))
    if mean is not None:
        assert abs(x.mean() - mean) < 5 * math.sqrt(var / N)
    assert_ks(x, cdf)


def test_t_and_chisquare_distributions():
    x = np.asarray(fr.t(fr.fold_in(KEY, 9), 2.0, (N,)))
    assert_ks(x, lambda v: 0.5 + v / (2 * math.sqrt(2 + v * v)))
    y = np.asarray(fr.t(fr.fold_in(KEY, 10), 1.0, (N,)))
    assert_ks(y, lambda v: 0.5 + math.atan(v) / math.pi)
    c = np.asarray(fr.chisquare(fr.fold_in(KEY, 11), 4.0, (N,)))
    assert_ks(c, lambda v: 1 - math.exp(-v / 2) * (1 + v / 2) if v > 0 else 0.0)
    assert_moments(c, 4.0, 8.0, 3.0)


def test_rademacher_and_generalized_normal():
    r = np.asarray(fr.rademacher(fr.fold_in(KEY, 12), (N,)))
    assert abs(r.mean()) < 5 / math.sqrt(N)
    g = np.asarray(fr.generalized_normal(fr.fold_in(KEY, 13), 2.0, (N,)))  # density ~ exp(-x^2): N(0, 1/2)
    assert_ks(g, lambda v: 0.5 * (1 + math.erf(v)))
    g1 = np.asarray(fr.generalized_normal(fr.fold_in(KEY, 14), 1.0, (N,)))  # Laplace
    assert_moments(g1, 0.0, 2.0, 3.0)


def test_ball_radius_distribution():
    for p in (2, 1):
        x = np.asarray(fr.ball(fr.fold_in(KEY, 15), 2, p, (N,)))
        r = (np.abs(x) ** p).sum(-1) ** (1 / p)
        assert np.all(r <= 1 + 1e-6)
        assert_ks(r, lambda v: min(max(v, 0.0), 1.0) ** 2)  # uniform in a 2-d ball: P(r <= s) = s^2


def test_multivariate_normal_covariance_all_methods():
    mean = np.array([1.0, -2.0, 0.5])
    a = np.array([[2.0, 0.3, 0.0], [0.0, 1.0, -0.4], [0.1, 0.0, 0.7]])
    cov = a @ a.T
    for method in ("cholesky", "eigh", "svd"):
        x = np.asarray(fr.multivariate_normal(fr.fold_in(KEY, 16), mean, cov, (N,), np.float64, method=method))
        se = np.sqrt(np.diag(cov) / N)
        assert np.all(np.abs(x.mean(0) - mean) < 5 * se), method
        emp = np.cov(x.T)
        tol = 5 * np.sqrt((cov ** 2 + np.outer(np.diag(cov), np.diag(cov))) / N)
        assert np.all(np.abs(emp - cov) < tol), method


def test_orthogonal_is_orthogonal_and_haar():
    q = np.asarray(fr.orthogonal(fr.fold_in(KEY, 17), 3, (N,), np.float64))
    np.testing.assert_allclose(np.einsum("bji,bjk->bik", q, q), np.broadcast_to(np.eye(3), (N, 3, 3)), atol=1e-10)
    # Haar on O(3): each entry has mean 0 and variance 1/3; det is +1 or -1 with probability 1/2
    assert_moments(q[:, 0, 0], 0.0, 1 / 3, -6 / 5)
    assert abs(np.mean(np.linalg.det(q) > 0) - 0.5) < 5 * math.sqrt(0.25 / N)
    wide = np.asarray(fr.orthogonal(KEY, 2, (), np.float64, m=4))
    np.testing.assert_allclose(wide @ wide.T, np.eye(2), atol=1e-10)


# ----------------------------------------------------------------- gradients


GRAD_N = 20000


def _polygamma1(a):
    """The trigamma function by its series (float64): d/da E[log X] for X ~ Gamma(a)."""
    k = np.arange(200000.0)
    return float(np.sum(1.0 / (a + k) ** 2) + 1.0 / (a + 200000.0))


@pytest.mark.parametrize("a", [0.05, 0.3, 1.0, 5.0])
def test_gamma_samples_differentiate_implicitly_in_a(a):
    # with x held at its quantile, d/da E[f(x)] = E[f'(x) dx/da]: the moments' derivatives, within ~5 SE
    k = fr.fold_in(KEY, 30)

    def mean_of(f):
        return float(fnflow.grad(lambda a: fnp.mean(f(fr.gamma(k, a, (GRAD_N,), np.float64))))(np.float64(a)))

    assert abs(mean_of(lambda x: x) - 1.0) < 0.05  # E[x] = a
    assert abs(mean_of(lambda x: x * x) - (1.0 + 2.0 * a)) < 0.05 * (1.0 + 2.0 * a)  # E[x^2] = a + a^2
    d_log = float(fnflow.grad(lambda a: fnp.mean(fr.loggamma(k, a, (GRAD_N,), np.float64)))(np.float64(a)))
    assert abs(d_log / _polygamma1(a) - 1.0) < 0.03  # E[log x] = digamma(a)


def test_gamma_family_gradients_under_transforms():
    k = fr.fold_in(KEY, 31)
    # Beta(a, 3): E = a / (a + 3), d/da = 3 / (a + 3)^2
    d_beta = fnflow.grad(lambda a: fnp.mean(fr.beta(k, a, 3.0, (GRAD_N,), np.float64)))(np.float64(2.0))
    assert abs(float(d_beta) - 3 / 25) < 0.005
    # chi-square(df): E = df; Dirichlet: E[x_0] = alpha_0 / sum(alpha)
    d_chi = fnflow.grad(lambda d: fnp.mean(fr.chisquare(k, d, (GRAD_N,), np.float64)))(np.float64(4.0))
    assert abs(float(d_chi) - 1.0) < 0.05
    d_dir = fnflow.grad(lambda a: fnp.mean(fr.dirichlet(k, fnp.stack([a, 2.0]), (GRAD_N,), np.float64)[:, 0]))(
        np.float64(1.0))
    assert abs(float(d_dir) - 2 / 9) < 0.01
    # jit of grad and grad of jit give the eager gradient (float32 too)
    f = lambda a: fnp.sum(fr.gamma(k, a, (50,)))  # noqa: E731
    eager = float(fnflow.grad(f)(np.float32(2.0)))
    for g in (fnflow.jit(fnflow.grad(f)), fnflow.grad(fnflow.jit(f))):
        np.testing.assert_allclose(float(g(np.float32(2.0))), eager, rtol=1e-4)
    # the derivative is first order only (JAX's too): a second one raises, naming gammainc
    with pytest.raises(NotImplementedError, match="gammainc"):
        fnflow.grad(fnflow.grad(lambda a: fnp.sum(fr.gamma(k, a, (3,), np.float64))))(np.float64(2.0))


def test_binomial_gradient_raises_clearly():
    with pytest.raises(NotImplementedError, match=r"random\.binomial: "):
        fnflow.grad(lambda a: fnp.sum(fr.binomial(KEY, 10.0, a / 4.0)))(np.float64(2.0))


def test_gradients_through_samples_that_do_not_depend_on_a():
    # a constant parameter: the other inputs differentiate normally
    g = fnflow.grad(lambda x: fnp.sum(x * fr.gamma(KEY, 2.0, (3,), np.float64)))(np.ones(3))
    np.testing.assert_allclose(np.asarray(g), np.asarray(fr.gamma(KEY, 2.0, (3,), np.float64)))
    # stop_gradient on a makes its derivative zero on purpose
    g0 = fnflow.grad(lambda a: fnp.sum(fr.gamma(KEY, fnflow.stop_gradient(a), (3,), np.float64)))(np.float64(2.0))
    assert float(g0) == 0.0


def test_multivariate_normal_and_location_scale_gradients():
    z_key = fr.fold_in(KEY, 18)

    def f(mean, cov):
        x = fr.multivariate_normal(z_key, mean, cov, (4,), np.float64)
        return fnp.sum(x * np.arange(8.0).reshape(4, 2))

    mean = np.array([0.5, -1.0])
    cov = np.array([[2.0, 0.3], [0.3, 1.0]])
    gm, gc = fnflow.grad(f, argnums=(0, 1))(mean, cov)
    np.testing.assert_allclose(np.asarray(gm), np.arange(8.0).reshape(4, 2).sum(0))
    eps = 1e-6
    num = np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            d = np.zeros((2, 2))
            d[i, j] = d[j, i] = eps
            num[i, j] = (float(f(mean, cov + d)) - float(f(mean, cov - d))) / (2 * eps)
    # grad's entries are per matrix element; a symmetric perturbation moves (i, j) and (j, i)
    sym = np.asarray(gc) + np.asarray(gc).T - np.diag(np.diag(np.asarray(gc)))
    np.testing.assert_allclose(sym, num, rtol=1e-5, atol=1e-7)
    # location-scale: d/dscale of loc + scale * laplace is the laplace sample
    lap = fr.laplace(KEY, (3,), np.float64)
    g = fnflow.grad(lambda s: fnp.sum(1.0 + s * fr.laplace(KEY, (3,), np.float64)))(np.float64(2.0))
    np.testing.assert_allclose(float(g), float(np.sum(lap)))
