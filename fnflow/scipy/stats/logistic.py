"""Logistic distribution: ``logpdf``/``pdf``/``cdf``, as ``jax.scipy.stats.logistic``."""

from __future__ import annotations

import fnflow.numpy as fnp
from fnflow.scipy.stats import _dists

__all__ = ["cdf", "logpdf", "pdf"]

def logpdf(x, loc=0, scale=1):
    """The log of the density."""
    return _dists.logistic_logpdf(x, loc, scale)


def cdf(x, loc=0, scale=1):
    """The cumulative distribution function."""
    return _dists.logistic_cdf(x, loc, scale)


def pdf(x, loc=0, scale=1):
    """exp(logpdf): the density."""
    return fnp.exp(logpdf(x, loc, scale))
