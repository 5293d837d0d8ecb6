"""The continuous and discrete distributions other than ``norm`` (``logpdf``/``pdf``/``cdf`` with JAX's signatures).

Every density is a composition of fnflow ops, so ``jit``, ``grad`` and ``vmap``
apply. Outside the support ``logpdf`` is ``-inf``; boundary conventions follow
``jax.scipy.stats`` (e.g. ``uniform`` includes both ends, ``expon.logpdf(0) = 0``).
"""

from __future__ import annotations

import math

import numpy as np

import fnflow.numpy as fnp
from fnflow.ops._util import like, real_floats
from fnflow.scipy import special


def _select_support(inside, value, x):
    return fnp.where(inside, value, like(x, -np.inf))


# ---------------------------------------------------------------- continuous


def gamma_logpdf(x, a, loc=0, scale=1):
    x, a, loc, scale = real_floats(x, a, loc, scale, name="gamma.logpdf")
    y = (x - loc) / scale
    inside = y >= 0
    ys = fnp.where(inside, y, like(y, 1))
    val = special.xlogy(a - 1, ys) - ys - special.gammaln(a) - fnp.log(scale)
    return _select_support(inside, val, x)


def gamma_cdf(x, a, loc=0, scale=1):
    x, a, loc, scale = real_floats(x, a, loc, scale, name="gamma.cdf")
    return special.gammainc(a, fnp.maximum((x - loc) / scale, like(x, 0)))


def gamma_sf(x, a, loc=0, scale=1):
    x, a, loc, scale = real_floats(x, a, loc, scale, name="gamma.sf")
    return special.gammaincc(a, fnp.maximum((x - loc) / scale, like(x, 0)))


def beta_logpdf(x, a, b, loc=0, scale=1):
    x, a, b, loc, scale = real_floats(x, a, b, loc, scale, name="beta.logpdf")
    y = (x - loc) / scale
    inside = (y >= 0) & (y <= 1)
    ys = fnp.where(inside, y, like(y, 0.5))
    val = special.xlogy(a - 1, ys) + special.xlog1py(b - 1, -ys) - special.betaln(a, b) - fnp.log(scale)
    return _select_support(inside, val, x)


def t_logpdf(x, df, loc=0, scale=1):
    x, df, loc, scale = real_floats(x, df, loc, scale, name="t.logpdf")
    z = (x - loc) / scale
    half = like(x, 0.5)
    return (special.gammaln(half * (df + 1)) - special.gammaln(half * df) - half * fnp.log(df * like(x, math.pi))
            - fnp.log(scale) - half * (df + 1) * fnp.log1p(z * z / df))


def laplace_logpdf(x, loc=0, scale=1):
    x, loc, scale = real_floats(x, loc, scale, name="laplace.logpdf")
    return -fnp.abs(x - loc) / scale - fnp.log(2 * scale)


def laplace_cdf(x, loc=0, scale=1):
    x, loc, scale = real_floats(x, loc, scale, name="laplace.cdf")
    z = (x - loc) / scale
    half = like(x, 0.5)
    return fnp.where(z < 0, half * fnp.exp(fnp.minimum(z, like(z, 0))),
                     1 - half * fnp.exp(-fnp.maximum(z, like(z, 0))))


def cauchy_logpdf(x, loc=0, scale=1):
    x, loc, scale = real_floats(x, loc, scale, name="cauchy.logpdf")
    z = (x - loc) / scale
    return -fnp.log1p(z * z) - fnp.log(like(x, math.pi) * scale)


def cauchy_cdf(x, loc=0, scale=1):
    x, loc, scale = real_floats(x, loc, scale, name="cauchy.cdf")
    return like(x, 0.5) + fnp.arctan((x - loc) / scale) / like(x, math.pi)


def logistic_logpdf(x, loc=0, scale=1):
    x, loc, scale = real_floats(x, loc, scale, name="logistic.logpdf")
    z = fnp.abs((x - loc) / scale)  # symmetric; |z| keeps exp from overflowing
    return -z - 2 * fnp.log1p(fnp.exp(-z)) - fnp.log(scale)


def logistic_cdf(x, loc=0, scale=1):
    x, loc, scale = real_floats(x, loc, scale, name="logistic.cdf")
    return special.expit((x - loc) / scale)


def expon_logpdf(x, loc=0, scale=1):
    x, loc, scale = real_floats(x, loc, scale, name="expon.logpdf")
    y = (x - loc) / scale
    return _select_support(y >= 0, -y - fnp.log(scale), x)


def expon_cdf(x, loc=0, scale=1):
    x, loc, scale = real_floats(x, loc, scale, name="expon.cdf")
    return -fnp.expm1(-fnp.maximum((x - loc) / scale, like(x, 0)))


def uniform_logpdf(x, loc=0, scale=1):
    x, loc, scale = real_floats(x, loc, scale, name="uniform.logpdf")
    inside = (x >= loc) & (x <= loc + scale)
    return _select_support(inside, fnp.broadcast_to(-fnp.log(scale), fnp.shape(inside)), x)


def uniform_cdf(x, loc=0, scale=1):
    x, loc, scale = real_floats(x, loc, scale, name="uniform.cdf")
    return fnp.clip((x - loc) / scale, 0, 1)


# ---------------------------------------------------------------- discrete


def poisson_logpmf(k, mu, loc=0):
    k, mu, loc = real_floats(k, mu, loc, name="poisson.logpmf")
    y = k - loc
    inside = (y >= 0) & (y == fnp.floor(y))
    ys = fnp.where(inside, y, like(y, 0))
    val = special.xlogy(ys, mu) - mu - special.gammaln(ys + 1)
    return _select_support(inside, val, k)


def poisson_cdf(k, mu, loc=0):
    k, mu, loc = real_floats(k, mu, loc, name="poisson.cdf")
    y = fnp.floor(k - loc)
    return fnp.where(y < 0, like(k, 0), special.gammaincc(fnp.maximum(y, like(y, 0)) + 1, mu))


def bernoulli_logpmf(k, p, loc=0):
    k, p, loc = real_floats(k, p, loc, name="bernoulli.logpmf")
    y = k - loc
    val = fnp.where(y == 1, special.xlogy(fnp.ones_like(p), p), special.xlog1py(fnp.ones_like(p), -p))
    return _select_support((y == 0) | (y == 1), val, k)


def bernoulli_cdf(k, p, loc=0):
    k, p, loc = real_floats(k, p, loc, name="bernoulli.cdf")
    y = k - loc
    return fnp.where(y < 0, like(k, 0), fnp.where(y < 1, 1 - p, like(k, 1)))
