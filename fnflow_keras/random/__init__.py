"""keras.random: samplers with Keras's signatures over :mod:`fnflow.random`.

``seed`` may be an int (a fixed key: the same numbers every call), a
:class:`SeedGenerator` (a new key every call), or None (the global generator,
seeded by ``keras.utils.set_random_seed``). Inside a
:class:`~fnflow_keras.variables.StatelessScope` that carries an ``rng_key``, a
SeedGenerator or None draws its key from the scope instead, so pure functions
built from layers take their randomness from an explicit key.
"""

from __future__ import annotations

import random as _pyrandom

import numpy as np

import fnflow
import fnflow.numpy as fnp
import fnflow.random as fr
from fnflow_keras import backend


def make_default_seed() -> int:
    """A seed drawn from Python's global ``random`` (so ``set_random_seed`` fixes it)."""
    return _pyrandom.randint(1, int(1e9))


class SeedGenerator:
    """A stateful source of keys: ``next()`` returns ``fold_in(key(seed), n)`` for n = 0, 1, 2 ..."""

    def __init__(self, seed=None, name=None, **kwargs):
        if seed is None:
            seed = make_default_seed()
        if not isinstance(seed, (int, np.integer)):
            raise ValueError(f"SeedGenerator: seed must be an int, got {seed!r}")
        self._initial_seed = int(seed)
        self.name = name or "seed_generator"
        self._count = 0
        self._base = fr.key(int(seed))

    def next(self, ordered=True):
        from fnflow_keras.variables import get_stateless_scope

        scope = get_stateless_scope()
        if scope is not None and scope.rng_key is not None:
            return scope.next_key()
        key = fr.fold_in(self._base, self._count)
        self._count += 1
        return key

    def get_config(self):
        return {"seed": self._initial_seed}


_global = {"gen": None}


def global_seed_generator() -> SeedGenerator:
    if _global["gen"] is None:
        _global["gen"] = SeedGenerator(make_default_seed(), name="global_seed_generator")
    return _global["gen"]


def _reset_global(seed):
    _global["gen"] = SeedGenerator(seed, name="global_seed_generator")


def draw_key(seed=None):
    """An fnflow key for a Keras ``seed`` argument (int, SeedGenerator, fnflow key array or None)."""
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if seed is None:
        return global_seed_generator().next()
    if isinstance(seed, (int, np.integer)):
        return fr.key(int(seed))
    if hasattr(seed, "shape") and tuple(seed.shape) == (2,):
        return seed
    raise ValueError(f"keras.random: seed must be an int, a SeedGenerator, a key or None, got {seed!r}")


def _dtype(dtype):
    return backend.standardize_dtype(dtype)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal samples ``mean + stddev * N(0, 1)``."""
    return fr.normal(draw_key(seed), tuple(shape), _dtype(dtype)) * stddev + mean


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Uniform samples in ``[minval, maxval)``."""
    return fr.uniform(draw_key(seed), tuple(shape), _dtype(dtype), minval, maxval)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal samples truncated to two standard deviations."""
    return fr.truncated_normal(draw_key(seed), -2.0, 2.0, tuple(shape), _dtype(dtype)) * stddev + mean


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers in ``[minval, maxval)``."""
    return fr.randint(draw_key(seed), tuple(shape), minval, maxval, dtype)


def categorical(logits, num_samples, dtype="int32", seed=None):
    """``num_samples`` class indices per row of ``logits`` (shape ``(batch, num_samples)``)."""
    logits = fnp.asarray(logits)
    out = fr.categorical(draw_key(seed), logits[:, None, :], axis=-1, shape=(logits.shape[0], num_samples))
    return out.astype(dtype)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zero each element with probability ``rate`` and scale the rest by ``1 / (1 - rate)``."""
    inputs = fnp.asarray(inputs)
    if rate <= 0:
        return inputs
    shape = tuple(inputs.shape) if noise_shape is None else tuple(
        d if d is not None else s for d, s in zip(noise_shape, inputs.shape))
    keep = fr.uniform(draw_key(seed), shape, np.float32) >= rate
    return fnp.where(keep, inputs / (1.0 - rate), fnp.zeros_like(inputs))


def shuffle(x, axis=0, seed=None):
    """``x`` with its slices along ``axis`` in a random order."""
    return fr.permutation(draw_key(seed), fnp.asarray(x), axis=axis)


def gamma(shape, alpha, dtype=None, seed=None):
    """Gamma(alpha, 1) samples of ``shape`` (``alpha`` broadcasts to ``shape``)."""
    return fr.gamma(draw_key(seed), fnp.asarray(alpha), shape=tuple(shape), dtype=_dtype(dtype))


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Binomial(counts, probabilities) samples of ``shape``, as floats (``floatx`` by default)."""
    return fr.binomial(draw_key(seed), fnp.asarray(counts), fnp.asarray(probabilities), shape=tuple(shape),
                       dtype=_dtype(dtype))


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Beta(alpha, beta) samples of ``shape``."""
    return fr.beta(draw_key(seed), fnp.asarray(alpha), fnp.asarray(beta), shape=tuple(shape), dtype=_dtype(dtype))


__all__ = ["SeedGenerator", "normal", "uniform", "truncated_normal", "randint", "categorical", "dropout", "shuffle",
           "gamma", "binomial", "beta", "draw_key", "make_default_seed", "global_seed_generator"]
_ = fnflow
