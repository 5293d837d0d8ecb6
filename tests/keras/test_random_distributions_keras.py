"""keras.random.gamma / binomial / beta with Keras's signatures (JAX backend conventions)."""

import math

import numpy as np
import pytest

import fnflow_keras as keras

N = 3000


def test_gamma_shape_dtype_seed_and_moments():
    x = keras.random.gamma((N,), alpha=3.0, seed=7)
    assert x.shape == (N,) and x.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(x), np.asarray(keras.random.gamma((N,), alpha=3.0, seed=7)))
    assert abs(float(np.mean(x)) - 3.0) < 5 * math.sqrt(3.0 / N)
    assert abs(float(np.var(x)) - 3.0) < 5 * 3.0 * math.sqrt((2 + 6 / 3.0) / N)
    assert keras.random.gamma((2, 3), alpha=[1.0, 2.0, 3.0], dtype="float64", seed=1).dtype == np.float64


def test_binomial_shape_dtype_and_moments():
    x = np.asarray(keras.random.binomial((N,), counts=20, probabilities=0.25, seed=3))
    assert x.dtype == np.float32 and np.all(x == np.round(x)) and np.all((x >= 0) & (x <= 20))
    var = 20 * 0.25 * 0.75
    assert abs(x.mean() - 5.0) < 5 * math.sqrt(var / N)
    y = keras.random.binomial((4, 2), counts=[10, 1000], probabilities=[0.5, 0.5], seed=3)
    assert y.shape == (4, 2)
    assert np.all(np.asarray(y)[:, 0] <= 10)


def test_beta_shape_range_and_mean():
    x = np.asarray(keras.random.beta((N,), alpha=2.0, beta=5.0, seed=11))
    assert x.dtype == np.float32 and np.all((x >= 0) & (x <= 1))
    mean, var = 2 / 7, 2 * 5 / (49 * 8)
    assert abs(x.mean() - mean) < 5 * math.sqrt(var / N)


def test_seed_generator_advances_and_global_seed():
    gen = keras.random.SeedGenerator(5)
    a = np.asarray(keras.random.gamma((4,), 2.0, seed=gen))
    b = np.asarray(keras.random.gamma((4,), 2.0, seed=gen))
    assert not np.array_equal(a, b)
    keras.utils.set_random_seed(3)
    c = np.asarray(keras.random.beta((4,), 1.0, 1.0))
    keras.utils.set_random_seed(3)
    np.testing.assert_array_equal(c, np.asarray(keras.random.beta((4,), 1.0, 1.0)))


def test_parameter_shape_error():
    with pytest.raises(ValueError, match=r"random\.gamma: shape=\(2,\) must contain"):
        keras.random.gamma((2,), alpha=[1.0, 2.0, 3.0], seed=1)
