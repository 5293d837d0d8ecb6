"""Special functions with ``jax.scipy.special`` names.

Functions that are accurate as compositions of fnflow ops are written that way
(``xlogy``, ``entr``, ``logit``, ``betaln``, ``ndtr``, ``log_ndtr``, ...), so
``jit``/``grad``/``vmap`` come for free; the rest are primitives in
``fnflow.ops.special``. Integer inputs promote to the default float; complex
inputs raise ``TypeError``.
"""

from __future__ import annotations

import math

import numpy as np

import fnflow.numpy as fnp
from fnflow.core.abstract import get_aval
from fnflow.nn.activations import log_softmax, softmax
from fnflow.numpy import logsumexp
from fnflow.ops import special as S
from fnflow.ops._util import asvalue, like, real_floats
from fnflow.ops.elementwise import convert_element_type, logistic
from fnflow.ops.elementwise import erf as _erf

__all__ = ["betaln", "digamma", "entr", "erf", "erfc", "erfinv", "expit", "gammainc", "gammaincc", "gammaln",
           "log_ndtr", "log_softmax", "logit", "logsumexp", "ndtr", "ndtri", "polygamma", "softmax", "xlog1py",
           "xlogy", "zeta"]

gammaln = S.lgamma
digamma = S.digamma
erfc = S.erfc
erfinv = S.erfinv
ndtri = S.ndtri




def erf(x):
    """Error function 2/sqrt(pi) * integral_0^x exp(-t^2) dt."""
    (x,) = real_floats(x, name="erf")
    return _erf(x)


def expit(x):
    """Logistic sigmoid 1 / (1 + exp(-x))."""
    (x,) = real_floats(x, name="expit")
    return logistic(x)


def logit(p):
    """log(p / (1 - p)); ``-inf``/``inf`` at 0/1."""
    (p,) = real_floats(p, name="logit")
    return fnp.log(p) - fnp.log1p(-p)


def xlogy(x, y):
    """x * log(y), with 0 where x == 0 (also when y == 0)."""
    x, y = real_floats(x, y, name="xlogy")
    zero = x == 0
    safe_y = fnp.where(zero, like(y, 1), y)
    return fnp.where(zero, like(x, 0), x * fnp.log(safe_y))


def xlog1py(x, y):
    """x * log1p(y), with 0 where x == 0 (also when y == -1)."""
    x, y = real_floats(x, y, name="xlog1py")
    zero = x == 0
    safe_y = fnp.where(zero, like(y, 0), y)
    return fnp.where(zero, like(x, 0), x * fnp.log1p(safe_y))


def entr(x):
    """Elementwise entropy: -x log x for x > 0, 0 at 0, ``-inf`` for x < 0."""
    (x,) = real_floats(x, name="entr")
    pos = x > 0
    safe = fnp.where(pos, x, like(x, 1))
    return fnp.where(pos, -safe * fnp.log(safe), fnp.where(x == 0, like(x, 0), like(x, -np.inf)))


def betaln(a, b):
    """log|B(a, b)| = gammaln(a) + gammaln(b) - gammaln(a + b)."""
    a, b = real_floats(a, b, name="betaln")
    return gammaln(a) + gammaln(b) - gammaln(a + b)


def ndtr(x):
    """Standard normal CDF, 0.5 * erfc(-x / sqrt(2)) (accurate in both tails)."""
    (x,) = real_floats(x, name="ndtr")
    return like(x, 0.5) * erfc(x * like(x, -1 / math.sqrt(2)))


# log Phi(x) for x below the cut: -x^2/2 - log(-x) - log(2 pi)/2 + log(sum_k (-1)^k (2k-1)!! / x^(2k))
_ASYMPTOTIC_TERMS = 10


def log_ndtr(x):
    """log of the standard normal CDF, accurate far into both tails (``log_ndtr(-100) ~ -5005.5``)."""
    (x,) = real_floats(x, name="log_ndtr")
    cut = -20.0 if get_aval(x).dtype == np.float64 else -10.0
    hi = 0.0
    lower = x < cut
    upper = x > hi
    # middle: log(Phi(x)); upper tail: log1p(-Phi(-x)); lower tail: asymptotic series
    xm = fnp.clip(x, cut, hi)
    mid = fnp.log(ndtr(xm))
    xu = fnp.where(upper, x, like(x, hi))
    up = fnp.log1p(-ndtr(-xu))
    xl = fnp.where(lower, x, like(x, cut))
    w = 1 / (xl * xl)
    series, term = like(x, 1), like(x, 1)
    for k in range(1, _ASYMPTOTIC_TERMS + 1):
        term = term * (-(2 * k - 1)) * w
        series = series + term
    low = -0.5 * xl * xl - fnp.log(-xl) - like(x, 0.5 * math.log(2 * math.pi)) + fnp.log(series)
    return fnp.where(lower, low, fnp.where(upper, up, mid))


def polygamma(n, x):
    """The n-th derivative of digamma: (-1)^(n+1) n! zeta(n + 1, x) for n >= 1; digamma for n = 0.

    ``n`` must have an integer dtype (a Python int, or an integer array), as in JAX.
    """
    if isinstance(n, (int, np.integer)) and not isinstance(n, bool):
        if n < 0:
            raise ValueError(f"polygamma: n must be non-negative, got {n}")
        (x,) = real_floats(x, name="polygamma")
        if n == 0:
            return digamma(x)
        sign_fact = (-1.0) ** (n + 1) * math.factorial(n)
        return like(x, sign_fact) * S.zeta(like(x, n + 1), x)
    n = asvalue(n)
    if get_aval(n).dtype.kind not in "iu":
        raise ValueError(f"polygamma: n must have an integer dtype, got {get_aval(n).str_short()}")
    (x,) = real_floats(x, name="polygamma")
    nf, x = fnp.broadcast_arrays(convert_element_type(n, get_aval(x).dtype), x)
    fact = fnp.round(fnp.exp(gammaln(nf + 1)))
    sign = fnp.where(fnp.remainder(nf, 2) == 0, like(x, -1), like(x, 1))
    zero = nf == 0
    z = S.zeta(fnp.where(zero, like(x, 2), nf + 1), x)
    return fnp.where(zero, digamma(x), sign * fact * z)


def zeta(x, q=None):
    """Hurwitz zeta function sum_k (k + q)^-x; the Riemann zeta function when ``q`` is None.

    Differentiable in ``q`` only (the derivative in ``x`` raises ``NotImplementedError``).
    """
    if q is None:
        q = 1
    return S.zeta(x, q)


def gammainc(a, x):
    """Regularised lower incomplete gamma function P(a, x); differentiable in ``a`` (first order) and ``x``."""
    return S.igamma(a, x)


def gammaincc(a, x):
    """Regularised upper incomplete gamma function Q(a, x) = 1 - P(a, x), accurate where P is close to 1."""
    return S.igammac(a, x)
