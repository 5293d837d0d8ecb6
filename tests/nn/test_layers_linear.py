"""Dense/Linear: Keras shapes and defaults, values vs NumPy, the layer contract."""

import numpy as np
import pytest
from layer_harness import run_layer_test

import fnflow.nn as nn
import fnflow.random as fr

RNG = np.random.RandomState(0)


def test_dense_contract(tmp_path):
    layer = nn.Dense.init(fr.key(0), 3, 4, activation="tanh")
    x = RNG.randn(2, 3).astype(np.float32)
    run_layer_test(layer, x, weight_shapes={"kernel": (3, 4), "bias": (4,)}, output_shape=(2, 4), grad_order=2,
                   tmp_path=tmp_path)


def test_dense_values_and_defaults():
    layer = nn.Dense.init(fr.key(1), 5, 3, activation="relu")
    assert nn.Dense is nn.Linear
    k = np.asarray(layer.kernel)
    limit = np.sqrt(6 / (5 + 3))  # glorot uniform
    assert np.all(np.abs(k) <= limit) and np.abs(k).max() > limit / 2
    np.testing.assert_array_equal(layer.bias, np.zeros(3, np.float32))
    b = RNG.randn(3).astype(np.float32)
    layer = nn.tree_at(lambda m: m.bias, layer, b)
    x = RNG.randn(4, 2, 5).astype(np.float32)  # any leading axes
    want = np.maximum(x @ k + b, 0)
    np.testing.assert_allclose(layer(x), want, rtol=1e-6, atol=1e-6)
    assert layer.in_features == 5 and layer.units == 3


def test_dense_options():
    layer = nn.Dense.init(fr.key(2), 3, 2, use_bias=False, kernel_initializer="ones", activation=np.negative)
    assert layer.bias is None
    np.testing.assert_allclose(layer(np.ones((1, 3), np.float32)), -3 * np.ones((1, 2)))
    run_layer_test(layer, RNG.randn(2, 3).astype(np.float32), weight_shapes={"kernel": (3, 2)}, output_shape=(2, 2))
    assert nn.Dense.init(fr.key(0), 2, 2, dtype=np.float64).kernel.dtype == np.float64


def test_dense_bad_activation():
    with pytest.raises(ValueError, match="unknown activation"):
        nn.Dense.init(fr.key(0), 2, 2, activation="nope")
    lin = nn.Dense.init(fr.key(0), 2, 2, activation="linear")
    x = np.ones((1, 2), np.float32)
    np.testing.assert_allclose(lin(x), x @ np.asarray(lin.kernel))
