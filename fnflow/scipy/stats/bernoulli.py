"""Bernoulli distribution (success probability ``p``): ``logpmf``/``pmf``/``cdf`` as in JAX."""

from __future__ import annotations

import fnflow.numpy as fnp
from fnflow.scipy.stats import _dists

__all__ = ["cdf", "logpmf", "pmf"]

def logpmf(k, p, loc=0):
    """The log of the probability mass."""
    return _dists.bernoulli_logpmf(k, p, loc)


def cdf(k, p, loc=0):
    """The cumulative distribution function."""
    return _dists.bernoulli_cdf(k, p, loc)


def pmf(k, p, loc=0):
    """exp(logpmf): the probability mass."""
    return fnp.exp(logpmf(k, p, loc))
