"""Probability distributions with ``jax.scipy.stats`` names: each is a module of functions.

``norm`` has ``pdf``/``logpdf``/``cdf``/``logcdf``/``sf``/``logsf``/``ppf``/``isf``;
``gamma``, ``beta``, ``t``, ``laplace``, ``cauchy``, ``logistic``, ``expon``,
``uniform`` have ``logpdf``/``pdf`` (and ``cdf`` where cheap); ``poisson`` and
``bernoulli`` have ``logpmf``/``pmf``/``cdf``; ``multivariate_normal`` has
``logpdf``/``pdf``. ``loc``/``scale`` work as in JAX.
"""

from fnflow.scipy.stats import (
    bernoulli,
    beta,
    cauchy,
    expon,
    gamma,
    laplace,
    logistic,
    multivariate_normal,
    norm,
    poisson,
    t,
    uniform,
)

__all__ = ["bernoulli", "beta", "cauchy", "expon", "gamma", "laplace", "logistic", "multivariate_normal", "norm",
           "poisson", "t", "uniform"]
