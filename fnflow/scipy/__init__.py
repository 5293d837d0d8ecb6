"""SciPy-named special functions and distributions, as in ``jax.scipy``."""

from fnflow.scipy import special, stats  # noqa: F401

__all__ = ["special", "stats"]
