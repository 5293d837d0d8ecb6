"""Student's t distribution with ``df`` degrees of freedom: ``logpdf``/``pdf``, as ``jax.scipy.stats.t``."""

from __future__ import annotations

import fnflow.numpy as fnp
from fnflow.scipy.stats import _dists

__all__ = ["logpdf", "pdf"]

def logpdf(x, df, loc=0, scale=1):
    """The log of the density."""
    return _dists.t_logpdf(x, df, loc, scale)


def pdf(x, df, loc=0, scale=1):
    """exp(logpdf): the density."""
    return fnp.exp(logpdf(x, df, loc, scale))
