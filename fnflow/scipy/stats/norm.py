"""Normal distribution with mean ``loc`` and standard deviation ``scale``."""

from __future__ import annotations

import math

import fnflow.numpy as fnp
from fnflow.ops._util import like, real_floats
from fnflow.scipy import special

__all__ = ["cdf", "isf", "logcdf", "logpdf", "logsf", "pdf", "ppf", "sf"]


_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def logpdf(x, loc=0, scale=1):
    """log of the normal density."""
    x, loc, scale = real_floats(x, loc, scale, name="norm.logpdf")
    z = (x - loc) / scale
    return -0.5 * z * z - fnp.log(scale) - like(x, _HALF_LOG_2PI)


def pdf(x, loc=0, scale=1):
    """Normal density."""
    return fnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """Normal CDF."""
    x, loc, scale = real_floats(x, loc, scale, name="norm.cdf")
    return special.ndtr((x - loc) / scale)


def logcdf(x, loc=0, scale=1):
    """log of the normal CDF, accurate in the lower tail."""
    x, loc, scale = real_floats(x, loc, scale, name="norm.logcdf")
    return special.log_ndtr((x - loc) / scale)


def sf(x, loc=0, scale=1):
    """Survival function 1 - cdf, accurate in the upper tail."""
    x, loc, scale = real_floats(x, loc, scale, name="norm.sf")
    return special.ndtr((loc - x) / scale)


def logsf(x, loc=0, scale=1):
    """log of the survival function."""
    x, loc, scale = real_floats(x, loc, scale, name="norm.logsf")
    return special.log_ndtr((loc - x) / scale)


def ppf(q, loc=0, scale=1):
    """Quantile function (inverse CDF)."""
    q, loc, scale = real_floats(q, loc, scale, name="norm.ppf")
    return loc + scale * special.ndtri(q)


def isf(q, loc=0, scale=1):
    """Inverse survival function."""
    q, loc, scale = real_floats(q, loc, scale, name="norm.isf")
    return loc - scale * special.ndtri(q)
