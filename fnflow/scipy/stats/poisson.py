"""Poisson distribution with mean ``mu``: ``logpmf``/``pmf``/``cdf``, as ``jax.scipy.stats.poisson``."""

from __future__ import annotations

import fnflow.numpy as fnp
from fnflow.scipy.stats import _dists

__all__ = ["cdf", "logpmf", "pmf"]

def logpmf(k, mu, loc=0):
    """The log of the probability mass."""
    return _dists.poisson_logpmf(k, mu, loc)


def cdf(k, mu, loc=0):
    """The cumulative distribution function."""
    return _dists.poisson_cdf(k, mu, loc)


def pmf(k, mu, loc=0):
    """exp(logpmf): the probability mass."""
    return fnp.exp(logpmf(k, mu, loc))
