"""Gamma distribution with shape ``a``: ``logpdf``/``pdf``/``cdf``/``sf``, as ``jax.scipy.stats.gamma``."""

from __future__ import annotations

import fnflow.numpy as fnp
from fnflow.scipy.stats import _dists

__all__ = ["cdf", "logpdf", "pdf", "sf"]

def logpdf(x, a, loc=0, scale=1):
    """The log of the density."""
    return _dists.gamma_logpdf(x, a, loc, scale)


def cdf(x, a, loc=0, scale=1):
    """The cumulative distribution function."""
    return _dists.gamma_cdf(x, a, loc, scale)


def sf(x, a, loc=0, scale=1):
    """The survival function 1 - cdf."""
    return _dists.gamma_sf(x, a, loc, scale)


def pdf(x, a, loc=0, scale=1):
    """exp(logpdf): the density."""
    return fnp.exp(logpdf(x, a, loc, scale))
