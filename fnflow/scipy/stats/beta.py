"""Beta distribution with shapes ``a``, ``b``: ``logpdf``/``pdf``, as ``jax.scipy.stats.beta``."""

from __future__ import annotations

import fnflow.numpy as fnp
from fnflow.scipy.stats import _dists

__all__ = ["logpdf", "pdf"]

def logpdf(x, a, b, loc=0, scale=1):
    """The log of the density."""
    return _dists.beta_logpdf(x, a, b, loc, scale)


def pdf(x, a, b, loc=0, scale=1):
    """exp(logpdf): the density."""
    return fnp.exp(logpdf(x, a, b, loc, scale))
