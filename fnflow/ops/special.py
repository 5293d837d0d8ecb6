"""Special-function primitives: log-gamma, digamma, Hurwitz zeta, erfc, erfinv, ndtri, incomplete gamma.

Each impl computes in float64 with NumPy (or ``math`` per element) and rounds to
the operand dtype, so float32 results are within an ulp or two of the float64
value. JVP rules are written with fnflow ops, so higher derivatives work where
the derivative is itself one of these functions (``lgamma' = digamma``,
``digamma' = zeta(2, x)``, ``d/dq zeta(s, q) = -s zeta(s + 1, q)``). None of
them has a numba lowering: under ``jit`` the CPU backend calls the impl.
"""

from __future__ import annotations

import math

import numpy as np

from fnflow.core.abstract import is_float
from fnflow.core.primitive import Primitive
from fnflow.core.trace import bind
from fnflow.ops import elementwise as E
from fnflow.ops._util import elementwise_abstract, like, real_floats
from fnflow.transforms.ad import defjvp
from fnflow.transforms.batching import defbroadcasting, defvectorized

_f64 = np.float64
_SQRT2 = math.sqrt(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _check_real(name, *avals):
    for a in avals:
        if not is_float(a.dtype) or a.dtype.kind == "c":
            raise TypeError(f"{name} requires real floating-point operands, got "
                            f"{', '.join(b.str_short() for b in avals)}")


def _unary(name, fn64):
    """A float-only unary primitive whose impl runs ``fn64`` on float64 and rounds back."""
    p = Primitive(name)
    p.def_impl(lambda x: np.asarray(fn64(np.asarray(x, _f64)), dtype=x.dtype))

    def abstract(x):
        _check_real(name, x)
        return x

    p.def_abstract_eval(abstract)
    defvectorized(p)
    return p


def _binary(name, fn64):
    p = Primitive(name)
    p.def_impl(lambda x, y: np.asarray(fn64(np.asarray(x, _f64), np.asarray(y, _f64)), dtype=x.dtype))

    def abstract(x, y):
        _check_real(name, x, y)
        return elementwise_abstract(name, x, y)

    p.def_abstract_eval(abstract)
    defbroadcasting(p)
    return p


def _per_element(fn):
    vec = np.frompyfunc(fn, 1, 1)
    return lambda x: np.asarray(vec(x), dtype=_f64)


# ------------------------------------------------------------------ impls (float64)


def _lgamma1(x):
    try:
        return math.lgamma(x)
    except ValueError:  # poles 0, -1, -2, ...
        return math.inf


def _digamma64(x):
    x = np.asarray(x, _f64)
    pole = (x <= 0) & (x == np.floor(x))
    refl = x < 0.5
    y = np.where(refl, 1.0 - x, x)
    acc = np.zeros_like(y)
    for _ in range(10):  # shift up to y >= 10 where the asymptotic series is accurate
        small = y < 10
        acc = acc - np.where(small, 1.0 / np.where(small, y, 1.0), 0.0)
        y = np.where(small, y + 1.0, y)
    with np.errstate(all="ignore"):
        w = 1.0 / (y * y)
        tail = 1 / 132 - w * (691 / 32760 - w / 12)
        series = w * (1 / 12 - w * (1 / 120 - w * (1 / 252 - w * (1 / 240 - w * tail))))
        out = acc + np.log(y) - 0.5 / y - series
        # psi(x) = psi(1 - x) - pi / tan(pi x); tan has period 1, so reduce x exactly first
        r = x - np.round(x)
        out = np.where(refl, out - math.pi / np.tan(math.pi * r), out)
    out = np.where(pole | (x == -np.inf), np.nan, out)
    return out


# Bernoulli numbers B2, B4, ..., B18 for the Euler-Maclaurin tail of the Hurwitz zeta
_B2J = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798)


def _zeta64(s, q):
    s, q = np.broadcast_arrays(np.asarray(s, _f64), np.asarray(q, _f64))
    with np.errstate(all="ignore"):
        # sum the first terms directly until q + N >= 10 + s, then Euler-Maclaurin
        target = 10.0 + np.clip(s, 0, 60)
        n = np.where(np.isfinite(q), np.ceil(np.maximum(target - q, 0.0)), 0.0)
        n = np.where(np.isfinite(n), n, 0.0)
        total = np.zeros(s.shape, _f64)
        for k in range(int(n.max(initial=0.0))):
            m = k < n
            total = total + np.where(m, np.power(q + k, -s), 0.0)
        w = q + n
        total = total + np.power(w, 1.0 - s) / (s - 1.0) + 0.5 * np.power(w, -s)
        t = 0.5 * s * np.power(w, -s - 1.0)
        for j, b in enumerate(_B2J, start=1):
            total = total + b * t
            t = t * (s + 2 * j - 1) * (s + 2 * j) / ((2 * j + 1) * (2 * j + 2) * w * w)
        total = np.where(q == np.inf, 0.0, total)
        pole = (q <= 0) & (q == np.floor(q))
        total = np.where(pole, np.inf, total)
        total = np.where(s == 1, np.inf, total)
        total = np.where((s < 1) | np.isnan(s) | np.isnan(q), np.nan, total)
    return total


_erf64 = _per_element(math.erf)
_erfc64 = _per_element(math.erfc)


def _log_ndtr_mid64(x):
    return np.log(0.5 * _erfc64(-x / _SQRT2))


def _ndtri_tail64(q):
    """x with Phi(x) = q for 0 < q <= 0.25, by Newton on log Phi (relative accuracy in the tail)."""
    with np.errstate(all="ignore"):
        t = np.sqrt(-2.0 * np.log(q))
        x = -(t - (2.515517 + t * (0.802853 + t * 0.010328)) / (1 + t * (1.432788 + t * (0.189269 + t * 0.001308))))
        logq = np.log(q)
        for _ in range(4):
            lp = _log_ndtr_mid64(x)
            x = x - (lp - logq) / np.exp(-0.5 * x * x - _LOG_SQRT_2PI - lp)
    return x


def _erfinv_small64(y):
    """erfinv for |y| <= 0.5: series start, Newton on erf (relative accuracy near 0)."""
    c = math.sqrt(math.pi) / 2
    y2 = y * y
    x = c * y * (1 + y2 * (math.pi / 12 + y2 * 7 * math.pi ** 2 / 480))
    for _ in range(3):
        x = x - (_erf64(x) - y) / (np.exp(-x * x) / c)
    return x


def _erfinv64(y):
    y = np.asarray(y, _f64)
    a = np.abs(y)
    small = a <= 0.5
    out = np.empty_like(y)
    out[small] = _erfinv_small64(y[small])
    big = ~small & (a < 1)
    q = (1.0 - a[big]) / 2  # exact: Sterbenz
    out[big] = np.sign(y[big]) * (-_ndtri_tail64(q) / _SQRT2)
    out[a == 1] = np.sign(y[a == 1]) * np.inf
    out[(a > 1) | np.isnan(y)] = np.nan
    return out


def _ndtri64(p):
    p = np.asarray(p, _f64)
    out = np.full_like(p, np.nan)
    lo = (p > 0) & (p < 0.25)
    hi = (p > 0.75) & (p < 1)
    mid = (p >= 0.25) & (p <= 0.75)
    out[lo] = _ndtri_tail64(p[lo])
    out[hi] = -_ndtri_tail64(1.0 - p[hi])  # 1 - p is exact here
    out[mid] = _SQRT2 * _erfinv_small64(2.0 * p[mid] - 1.0)  # exact: Sterbenz
    out[p == 0] = -np.inf
    out[p == 1] = np.inf
    return out


def _lgamma64(x):
    return _per_element(_lgamma1)(x)


def _igamma_parts(a, x):
    """(P, Q) regularised incomplete gamma, float64, broadcast; series for x < a + 1, else continued fraction."""
    a, x = np.broadcast_arrays(np.asarray(a, _f64), np.asarray(x, _f64))
    a, x = a.ravel(), x.ravel()
    p = np.full(a.shape, np.nan)
    q = np.full(a.shape, np.nan)
    ok = (a >= 0) & (x >= 0) & ~np.isnan(a) & ~np.isnan(x)
    zx = ok & (x == 0) & (a > 0)
    p[zx], q[zx] = 0.0, 1.0
    za = ok & (a == 0) & (x > 0)
    p[za], q[za] = 1.0, 0.0
    ix = ok & (x == np.inf) & (a < np.inf)
    p[ix], q[ix] = 1.0, 0.0
    rest = ok & (x > 0) & (a > 0) & (x < np.inf) & (a < np.inf)
    ser = rest & (x < a + 1)
    cf = rest & ~ser
    with np.errstate(all="ignore"):
        if ser.any():
            aa, xx = a[ser], x[ser]
            term = np.ones_like(aa)
            total = np.ones_like(aa)
            den = aa.copy()
            for _ in range(2000):
                den = den + 1
                term = term * xx / den
                total = total + term
                if np.all(np.abs(term) <= np.abs(total) * 1e-17):
                    break
            v = np.exp(aa * np.log(xx) - xx - _lgamma64(aa + 1)) * total
            p[ser], q[ser] = v, 1.0 - v
        if cf.any():
            aa, xx = a[cf], x[cf]
            tiny = 1e-300
            b = xx + 1.0 - aa
            c = np.full_like(aa, 1.0 / tiny)
            d = 1.0 / b
            h = d.copy()
            for i in range(1, 2000):
                an = -i * (i - aa)
                b = b + 2.0
                d = an * d + b
                d = np.where(np.abs(d) < tiny, tiny, d)
                c = b + an / c
                c = np.where(np.abs(c) < tiny, tiny, c)
                d = 1.0 / d
                delta = d * c
                h = h * delta
                if np.all(np.abs(delta - 1.0) <= 1e-16):
                    break
            v = np.exp(aa * np.log(xx) - xx - _lgamma64(aa)) * h
            p[cf], q[cf] = 1.0 - v, v
    return p, q


def _igamma64(a, x):
    shape = np.broadcast_shapes(np.shape(a), np.shape(x))
    return _igamma_parts(a, x)[0].reshape(shape)


def _igammac64(a, x):
    shape = np.broadcast_shapes(np.shape(a), np.shape(x))
    return _igamma_parts(a, x)[1].reshape(shape)


def _igamma_grad_a64(a, x):
    """d/da P(a, x): the series for P differentiated term by term where x < a + 1, else the
    continued fraction for Q differentiated alongside its evaluation (dual numbers)."""
    a, x = np.broadcast_arrays(np.asarray(a, _f64), np.asarray(x, _f64))
    shape = a.shape
    a, x = a.ravel(), x.ravel()
    out = np.full(a.shape, np.nan)
    ok = (a > 0) & (x >= 0) & np.isfinite(a) & ~np.isnan(x)
    out[ok & ((x == 0) | (x == np.inf))] = 0.0
    m = ok & (x > 0) & (x < np.inf)
    ser, cf = m & (x < a + 1), m & (x >= a + 1)
    with np.errstate(all="ignore"):
        if ser.any():
            aa, xx = a[ser], x[ser]
            c = np.ones_like(aa)  # c_n = x^n / ((a+1)...(a+n))
            h = np.zeros_like(aa)  # h_n = d log c_n / da
            s, sd = np.ones_like(aa), np.zeros_like(aa)
            den = aa.copy()
            for _ in range(2000):
                den = den + 1
                c = c * xx / den
                h = h - 1.0 / den
                s, sd = s + c, sd + c * h
                if np.all((c <= s * 1e-17) & (np.abs(c * h) <= np.abs(sd) * 1e-17 + 1e-300)):
                    break
            logpre = aa * np.log(xx) - xx - _lgamma64(aa + 1)
            out[ser] = np.exp(logpre) * (s * (np.log(xx) - _digamma64(aa + 1)) + sd)
        if cf.any():
            aa, xx = a[cf], x[cf]
            tiny = 1e-300
            b, db = xx + 1.0 - aa, -1.0
            c, dc = np.full_like(aa, 1.0 / tiny), np.zeros_like(aa)
            d = 1.0 / b
            dd = 1.0 / (b * b)
            h, dh = d.copy(), dd.copy()
            for i in range(1, 2000):
                an, dan = -i * (i - aa), float(i)
                b = b + 2.0
                dd = dan * d + an * dd + db
                d = an * d + b
                d = np.where(np.abs(d) < tiny, tiny, d)
                dc = db + (dan * c - an * dc) / (c * c)
                c = b + an / c
                c = np.where(np.abs(c) < tiny, tiny, c)
                dd = -dd / (d * d)
                d = 1.0 / d
                delta, ddelta = d * c, dd * c + d * dc
                h, dh = h * delta, dh * delta + h * ddelta
                if np.all((np.abs(delta - 1.0) <= 1e-16) & (np.abs(h * ddelta) <= 1e-16 * np.abs(dh) + 1e-300)):
                    break
            logpre = aa * np.log(xx) - xx - _lgamma64(aa)
            out[cf] = -np.exp(logpre) * (h * (np.log(xx) - _digamma64(aa)) + dh)
    return out.reshape(shape)


# ------------------------------------------------------------------ primitives

lgamma_p = _unary("lgamma", _lgamma64)
digamma_p = _unary("digamma", _digamma64)
erfc_p = _unary("erfc", _erfc64)
erfinv_p = _unary("erfinv", _erfinv64)
ndtri_p = _unary("ndtri", _ndtri64)
zeta_p = _binary("zeta", _zeta64)
igamma_p = _binary("igamma", _igamma64)
igammac_p = _binary("igammac", _igammac64)
igamma_grad_a_p = _binary("igamma_grad_a", _igamma_grad_a64)




def _no_grad(op, arg):
    def rule(*_, **__):
        raise NotImplementedError(f"{op}: differentiation with respect to {arg} is not implemented")

    return rule


def _gamma_pdf(a, x):
    # x^(a-1) e^-x / Gamma(a): d/dx of the regularised lower incomplete gamma
    return E.exp(E.sub(E.sub(E.mul(E.sub(a, like(a, 1)), E.log(x)), x), lgamma(a)))


defjvp(lgamma_p, lambda t, ans, x: E.mul(t, digamma(x)))
defjvp(digamma_p, lambda t, ans, x: E.mul(t, zeta(like(x, 2), x)))
defjvp(erfc_p, lambda t, ans, x: E.mul(t, E.mul(like(x, -2 / math.sqrt(math.pi)), E.exp(E.neg(E.square(x))))))
defjvp(erfinv_p, lambda t, ans, x: E.mul(t, E.mul(like(x, math.sqrt(math.pi) / 2), E.exp(E.square(ans)))))
defjvp(ndtri_p, lambda t, ans, x: E.mul(t, E.mul(like(x, math.sqrt(2 * math.pi)), E.exp(E.mul(like(x, 0.5),
                                                                                          E.square(ans))))))
defjvp(zeta_p, _no_grad("zeta", "s (the first argument)"),
       lambda t, ans, s, q: E.mul(t, E.mul(E.neg(s), zeta(E.add(s, like(s, 1)), q))))
defjvp(igamma_p, lambda t, ans, a, x: E.mul(t, igamma_grad_a(a, x)),
       lambda t, ans, a, x: E.mul(t, _gamma_pdf(a, x)))
defjvp(igammac_p, lambda t, ans, a, x: E.neg(E.mul(t, igamma_grad_a(a, x))),
       lambda t, ans, a, x: E.neg(E.mul(t, _gamma_pdf(a, x))))
defjvp(igamma_grad_a_p, _no_grad("gammainc", "a, to second order"),
       lambda t, ans, a, x: E.mul(t, E.mul(_gamma_pdf(a, x), E.sub(E.log(x), digamma(a)))))


# ------------------------------------------------------------------ wrappers


def _real_float(x, name):
    return real_floats(x, name=name)[0]


def lgamma(x):
    """log|Gamma(x)|; ``inf`` at the poles 0, -1, -2, ..."""
    return bind(lgamma_p, _real_float(x, "gammaln"))


def digamma(x):
    """The digamma function psi(x) = d/dx log Gamma(x); ``nan`` at the poles 0, -1, -2, ..."""
    return bind(digamma_p, _real_float(x, "digamma"))


def erfc(x):
    """Complementary error function 1 - erf(x), accurate where erf(x) is close to 1."""
    return bind(erfc_p, _real_float(x, "erfc"))


def erfinv(x):
    """Inverse error function on [-1, 1] (``-inf``/``inf`` at -1/1, ``nan`` outside)."""
    return bind(erfinv_p, _real_float(x, "erfinv"))


def ndtri(p):
    """Inverse of the standard normal CDF (``-inf``/``inf`` at 0/1, ``nan`` outside [0, 1])."""
    return bind(ndtri_p, _real_float(p, "ndtri"))


def zeta(s, q):
    """Hurwitz zeta function sum_k (k + q)^-s (s > 1); differentiable in ``q`` only."""
    s, q = real_floats(s, q, name="zeta")
    return bind(zeta_p, s, q)


def igamma(a, x):
    """Regularised lower incomplete gamma function P(a, x)."""
    a, x = real_floats(a, x, name="gammainc")
    return bind(igamma_p, a, x)


def igammac(a, x):
    """Regularised upper incomplete gamma function Q(a, x) = 1 - P(a, x)."""
    a, x = real_floats(a, x, name="gammaincc")
    return bind(igammac_p, a, x)


def igamma_grad_a(a, x):
    """d/da of the regularised lower incomplete gamma function P(a, x)."""
    a, x = real_floats(a, x, name="gammainc")
    return bind(igamma_grad_a_p, a, x)
