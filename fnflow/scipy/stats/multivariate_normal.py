"""Multivariate normal distribution: ``logpdf``/``pdf``, as ``jax.scipy.stats.multivariate_normal``."""

from __future__ import annotations

import math

import fnflow.numpy as fnp
from fnflow.ops._util import real_floats

__all__ = ["logpdf", "pdf"]

def logpdf(x, mean, cov, allow_singular=None):
    """log density at ``x`` (shape ``(..., n)``) of N(mean, cov), via the Cholesky factor of ``cov``.

    ``cov`` may be a scalar or a 1-D variance vector (diagonal), or an ``(n, n)`` matrix, batched
    over leading axes like ``x``. ``allow_singular`` is accepted for JAX compatibility and must be None/False.
    """
    if allow_singular:
        raise NotImplementedError("multivariate_normal.logpdf: allow_singular=True is not supported")
    x, mean, cov = real_floats(x, mean, cov, name="multivariate_normal.logpdf")
    n = fnp.shape(x)[-1] if fnp.ndim(x) else 1
    d = x - mean
    if fnp.ndim(cov) <= 1:  # scalar or diagonal covariance
        var = fnp.broadcast_to(cov, fnp.shape(d)[-1:]) if fnp.ndim(d) else cov
        maha = fnp.sum(d * d / var, axis=-1) if fnp.ndim(d) else d * d / var
        logdet = fnp.sum(fnp.log(var), axis=-1) if fnp.ndim(d) else fnp.log(var)
        return -0.5 * (n * math.log(2 * math.pi) + logdet + maha)
    chol = fnp.linalg.cholesky(cov)
    batch = fnp.broadcast_shapes(fnp.shape(d)[:-1], fnp.shape(chol)[:-2])
    z = fnp.linalg.solve(fnp.broadcast_to(chol, batch + fnp.shape(chol)[-2:]),
                         fnp.broadcast_to(d, batch + fnp.shape(d)[-1:])[..., None])[..., 0]
    maha = fnp.sum(z * z, axis=-1)
    logdet = 2 * fnp.sum(fnp.log(fnp.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)
    return -0.5 * (n * math.log(2 * math.pi) + logdet + maha)


def pdf(x, mean, cov, allow_singular=None):
    """The density exp(logpdf)."""
    return fnp.exp(logpdf(x, mean, cov, allow_singular))
