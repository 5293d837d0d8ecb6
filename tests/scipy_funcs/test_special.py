"""fnflow.scipy.special: values against high-precision references (mpmath, precomputed), gradients, jit, vmap."""

import math

import numpy as np
import pytest

import fnflow
import fnflow.scipy.special as fs
from fnflow.testing import check_grads

# references computed with mpmath at 50 (ndtri/erfinv: 400) digits
DIGAMMA = [
    (1e-300, -9.999999999999999e+299),
    (1e-08, -100000000.57721564),
    (0.1, -10.423754940411076),
    (0.5, -1.9635100260214235),
    (1.0, -0.5772156649015329),
    (1.5, 0.03648997397857652),
    (2.5, 0.7031566406452432),
    (7.3, 1.9178203356379862),
    (12.0, 2.442661679975812),
    (100.0, 4.600161852738087),
    (100000.0, 11.512920464961896),
    (-0.5, 0.03648997397857652),
    (-1.5, 0.7031566406452432),
    (-2.7, -1.1153471291406896),
    (-10.3, 4.662403493582087),
    (-100.2, 8.936181238479746),
]
ZETA = [
    (2.0, 0.1, 101.43329915079275),
    (2.0, 1.0, 1.6449340668482264),
    (3.0, 2.5, 0.1181020258208637),
    (4.5, 0.5, 22.810599146128396),
    (10.0, 10.0, 1.6926861254407484e-10),
    (2.0, -0.5, 8.934802200544679),
    (3.0, -2.3, -34.356896264635154),
    (5.0, 100.0, 2.5504166375049986e-09),
    (1.5, 0.001, 31625.386966911912),
]
ERFINV = [
    (-0.9999, -2.75106390571208),
    (-0.7, -0.7328690779592167),
    (-0.3, -0.2724627147267543),
    (-1e-10, -8.862269254527581e-11),
    (1e-300, 8.86226925452758e-301),
    (0.2, 0.1791434546212917),
    (0.5, 0.4769362762044699),
    (0.51, 0.4881220505159588),
    (0.9, 1.1630871536766743),
    (0.999999, 3.458910737275499),
    (0.999999999999999, 5.675915739744713),
]
NDTRI = [
    (1e-300, -37.0470962993612),
    (1e-100, -21.273453560965326),
    (1e-10, -6.361340902404057),
    (0.01, -2.326347874040841),
    (0.2, -0.8416212335729142),
    (0.25, -0.6744897501960817),
    (0.3, -0.5244005127080408),
    (0.7, 0.5244005127080407),
    (0.75, 0.6744897501960817),
    (0.8, 0.8416212335729144),
    (0.99, 2.3263478740408408),
    (0.999999999999, 7.0344869100478356),
]
GAMMAINC = [
    (0.1, 0.05, 0.7755386354510305, 0.22446136454896942, -2.0264226621003973),
    (0.5, 2.0, 0.9544997361036416, 0.04550026389635842, -0.13561933520399724),
    (1.0, 1.0, 0.6321205588285577, 0.36787944117144233, -0.4317297106348987),
    (2.0, 3.0, 0.8008517265285442, 0.19914827347145578, -0.19742541957920248),
    (5.0, 4.0, 0.37116306482012645, 0.6288369351798735, -0.18027006579680635),
    (10.0, 20.0, 0.9950045876916924, 0.004995412308307587, -0.004098523101719286),
    (30.0, 25.0, 0.18210391597745512, 0.8178960840225449, -0.049954877425834855),
    (100.0, 90.0, 0.15822098918643016, 0.8417790108135699, -0.02461191684397991),
    (0.5, 1e-05, 0.0035682363381804505, 0.9964317636618195, -0.041211059712823385),
    (3.0, 30.0, 0.9999999999549898, 4.501016648012124e-11, -1.131008131742054e-10),
    (0.001, 0.001, 0.9936876467088603, 0.00631235329113971, -6.2932038249004245),
]
LOG_NDTR = [
    (-100.0, -5005.524208694205),
    (-30.0, -454.3212439563432),
    (-21.0, -224.46571583141449),
    (-19.0, -184.36612866916096),
    (-5.0, -15.064998393988725),
    (0.0, -0.6931471805599453),
    (5.0, -2.866516129637636e-07),
    (7.0, -1.279812543886654e-12),
    (40.0, 0.0),
]


def _rel(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-300))


def _table(rows):
    return [np.array(c) for c in zip(*rows)]


@pytest.mark.parametrize("name,fn,rows,tol", [
    ("digamma", fs.digamma, DIGAMMA, 1e-14),
    ("erfinv", fs.erfinv, ERFINV, 1e-14),
    ("ndtri", fs.ndtri, NDTRI, 1e-14),
    ("log_ndtr", fs.log_ndtr, LOG_NDTR, 1e-14),
])
def test_unary_against_references_f64(name, fn, rows, tol):
    x, want = _table(rows)
    got = fn(x)
    assert got.dtype == np.float64
    assert _rel(got, want) < tol, name


def test_unary_float32_close_to_float64():
    x = np.array([0.1, 0.5, 1.5, 2.5, 7.3, 12.0, 100.0, -0.5, -2.7, -10.3])
    for fn in (fs.gammaln, fs.digamma, fs.erfc, fs.ndtr, fs.log_ndtr, fs.expit):
        got = fn(x.astype(np.float32))
        assert got.dtype == np.float32
        want = np.asarray(fn(x.astype(np.float32).astype(np.float64)))
        # ndtr(x) rounds x / sqrt(2) first: its condition number grows like x^2
        rtol = 3e-7 * (1 + x * x) if fn in (fs.ndtr, fs.log_ndtr) else 3e-7
        assert np.all(np.abs(got - want) <= rtol * np.abs(want) + 1e-37), fn.__name__
    p = np.array([1e-30, 1e-5, 0.1, 0.3, 0.5, 0.7, 0.99], np.float32)
    np.testing.assert_allclose(fs.ndtri(p), fs.ndtri(p.astype(np.float64)), rtol=3e-7)
    np.testing.assert_allclose(fs.erfinv(p), fs.erfinv(p.astype(np.float64)), rtol=3e-7)


def test_gammaln_erf_erfc_against_math():
    x = np.array([1e-300, 1e-8, 0.1, 0.5, 1.0, 2.5, 7.3, 171.5, 1e5, 1e300, -0.5, -1.5, -2.7, -10.3, -100.2])
    np.testing.assert_allclose(fs.gammaln(x), [math.lgamma(v) for v in x], rtol=1e-15)
    z = np.array([-30.0, -5.0, -1.0, 0.0, 1e-10, 0.5, 3.0, 10.0, 27.0])
    np.testing.assert_allclose(fs.erfc(z), [math.erfc(v) for v in z], rtol=1e-15)
    np.testing.assert_allclose(fs.erf(z), [math.erf(v) for v in z], rtol=1e-15)
    np.testing.assert_allclose(fs.ndtr(z), [0.5 * math.erfc(-v / math.sqrt(2)) for v in z], rtol=1e-14)


def test_poles_and_edges_match_jax():
    nan, inf = np.nan, np.inf
    np.testing.assert_array_equal(fs.gammaln(np.array([0.0, -1.0, -inf, inf, nan])), [inf, inf, inf, inf, nan])
    np.testing.assert_array_equal(fs.digamma(np.array([0.0, -1.0, -inf, inf, nan])), [nan, nan, nan, inf, nan])
    np.testing.assert_array_equal(fs.polygamma(1, np.array([0.0, -1.0])), [inf, inf])
    np.testing.assert_array_equal(fs.ndtri(np.array([0.0, 1.0, -0.1, 1.1, 0.5])), [-inf, inf, nan, nan, 0.0])
    np.testing.assert_array_equal(fs.erfinv(np.array([-1.0, 1.0, 1.5, 0.0])), [-inf, inf, nan, 0.0])
    np.testing.assert_array_equal(fs.zeta(np.array([2.0, 2.0, 1.0, 0.5]), np.array([0.0, -1.0, 1.0, 1.0])),
                                  [inf, inf, inf, nan])
    a, x = np.array([0.0, 1.0, -1.0, 1.0, 2.0]), np.array([1.0, 0.0, 1.0, -1.0, inf])
    np.testing.assert_array_equal(fs.gammainc(a, x), [1.0, 0.0, nan, nan, 1.0])
    np.testing.assert_array_equal(fs.logit(np.array([0.0, 1.0])), [-inf, inf])
    np.testing.assert_array_equal(fs.entr(np.array([0.0, -1.0])), [0.0, -inf])
    assert float(fs.xlogy(0.0, 0.0)) == 0.0 and float(fs.xlog1py(0.0, -1.0)) == 0.0


def test_zeta_and_polygamma():
    s, q, want = _table(ZETA)
    assert _rel(fs.zeta(s, q), want) < 1e-14
    assert abs(float(fs.zeta(np.float64(2.0))) - math.pi ** 2 / 6) < 1e-15
    # polygamma(n, x) = (-1)^(n+1) n! zeta(n+1, x); polygamma(1, 1) = pi^2/6
    x = np.array([0.5, 1.0, 2.5, -2.5, 10.0])
    assert _rel(fs.polygamma(1, x), fs.zeta(2.0 + 0 * x, x)) < 1e-15
    assert _rel(fs.polygamma(2, x), -2 * np.asarray(fs.zeta(3.0 + 0 * x, x))) < 1e-15
    n = np.array([0, 1, 2, 3, 4])
    got = fs.polygamma(n, x)
    want = [float(fs.digamma(x[0]))] + [float(fs.polygamma(int(k), x[i])) for i, k in enumerate(n[1:], 1)]
    np.testing.assert_allclose(got, want, rtol=1e-14)
    with pytest.raises(ValueError, match="integer"):
        fs.polygamma(np.array([1.0]), x[:1])


def test_gammainc_and_its_a_derivative():
    a, x, p, q, dpda = _table(GAMMAINC)
    assert _rel(fs.gammainc(a, x), p) < 1e-13
    assert _rel(fs.gammaincc(a, x), q) < 1e-13
    da = fnflow.vmap(fnflow.grad(fs.gammainc))(a, x)
    assert _rel(da, dpda) < 1e-12
    dx = fnflow.vmap(fnflow.grad(fs.gammainc, argnums=1))(a, x)
    np.testing.assert_allclose(dx, np.exp((a - 1) * np.log(x) - x - np.array([math.lgamma(v) for v in a])), rtol=1e-13)
    np.testing.assert_allclose(fnflow.vmap(fnflow.grad(fs.gammaincc))(a, x), -da, rtol=1e-15)


def test_elementwise_compositions():
    x = np.array([0.0, 0.3, 1.0, 2.0])
    y = np.array([0.0, 0.5, 2.0, 3.0])
    np.testing.assert_allclose(fs.xlogy(x, y), [0.0, 0.3 * math.log(0.5), math.log(2), 2 * math.log(3)])
    np.testing.assert_allclose(fs.xlog1py(x, y), [0.0, 0.3 * math.log1p(0.5), math.log(3), 2 * math.log(4)])
    np.testing.assert_allclose(fs.entr(np.array([0.5, 2.0])), [-0.5 * math.log(0.5), -2 * math.log(2)])
    np.testing.assert_allclose(fs.logit(fs.expit(np.array([-3.0, 0.0, 4.0]))), [-3.0, 0.0, 4.0], rtol=1e-14, atol=1e-15)
    a, b = np.array([0.5, 2.5, 10.0]), np.array([1.5, 3.5, 0.1])
    want = [math.lgamma(u) + math.lgamma(v) - math.lgamma(u + v) for u, v in zip(a, b)]
    np.testing.assert_allclose(fs.betaln(a, b), want, rtol=1e-14)
    z = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(fs.softmax(z), np.exp(z) / np.exp(z).sum())
    np.testing.assert_allclose(fs.log_softmax(z), z - np.log(np.exp(z).sum()))
    np.testing.assert_allclose(fs.logsumexp(z), np.log(np.exp(z).sum()))


def test_dtypes_and_errors():
    assert fs.gammaln(np.array([3], np.int32)).dtype == np.float32
    assert fs.digamma(np.array([3.0], np.float32)).dtype == np.float32
    assert fs.gammainc(np.float32(2.0), 3).dtype == np.float32
    for fn in (fs.gammaln, fs.digamma, fs.erfc, fs.erfinv, fs.ndtri, fs.logit, fs.ndtr):
        with pytest.raises(TypeError, match="complex"):
            fn(np.array([1j]))
    with pytest.raises(NotImplementedError, match="zeta"):
        fnflow.grad(fs.zeta)(3.0, 2.0)


def test_gradients_order_1_and_2():
    x = np.array([0.7, 2.5, -1.3])
    check_grads(fs.gammaln, (x,), order=2)
    check_grads(fs.digamma, (x,), order=2)
    check_grads(lambda v: fs.polygamma(2, v), (x,), order=2)
    check_grads(lambda q: fs.zeta(3.0, q), (np.array([0.5, 2.0]),), order=2)
    check_grads(fs.erfc, (np.array([-1.0, 0.2, 2.0]),), order=2)
    check_grads(fs.erfinv, (np.array([-0.9, 0.1, 0.6]),), order=2)
    check_grads(fs.ndtri, (np.array([0.2, 0.4, 0.7]),), order=2)
    check_grads(fs.log_ndtr, (np.array([-30.0, -5.0, 0.5, 8.0]),), order=2)
    check_grads(fs.xlogy, (np.array([0.5, 2.0]), np.array([1.5, 0.3])), order=2)
    check_grads(fs.entr, (np.array([0.5, 2.0]),), order=2)
    check_grads(fs.logit, (np.array([0.2, 0.7]),), order=2)
    check_grads(fs.betaln, (np.array([0.5, 3.0]), np.array([2.0, 1.5])), order=2)
    a, x = np.array([0.5, 2.0, 4.0]), np.array([0.3, 3.0, 10.0])
    check_grads(fs.gammainc, (a, x), order=1)
    check_grads(lambda x: fs.gammainc(a, x), (x,), order=2)
    check_grads(lambda x: fs.gammaincc(a, x), (x,), order=2)
    check_grads(lambda a: fs.gammaincc(a, x), (a,), order=1)


def test_jit_matches_eager_and_vmap_matches_loop():
    x = np.linspace(0.2, 0.9, 5)

    def f(v):
        return (fs.gammaln(v + 1) + fs.digamma(v) + fs.polygamma(1, v) + fs.erfc(v) + fs.erfinv(v)
                + fs.ndtri(v) + fs.log_ndtr(v) + fs.gammainc(2.0, v) + fs.gammaincc(v, 1.5) + fs.xlogy(v, v)
                + fs.entr(v) + fs.logit(v) + fs.betaln(v, 2.0) + fs.zeta(2.5, v))

    eager = f(x)
    np.testing.assert_allclose(fnflow.jit(f)(x), eager, rtol=1e-14)
    np.testing.assert_allclose(fnflow.vmap(f)(x), [f(v) for v in x], rtol=1e-14)
    g = fnflow.jit(fnflow.grad(lambda v: f(v).sum()))
    np.testing.assert_allclose(g(x), fnflow.grad(lambda v: f(v).sum())(x), rtol=1e-12)
