"""Flatten and Reshape keep the batch axis."""

import numpy as np
from layer_harness import run_layer_test

import fnflow.nn as nn


def test_flatten(tmp_path):
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(nn.Flatten()(x), x.reshape(2, 12))
    np.testing.assert_array_equal(nn.Flatten()(np.arange(3.0)), np.arange(3.0).reshape(3, 1))
    run_layer_test(nn.Flatten(), x, weight_shapes={}, output_shape=(2, 12), grad_order=2, tmp_path=tmp_path)


def test_reshape():
    x = np.arange(24, dtype=np.float32).reshape(2, 12)
    layer = nn.Reshape((3, -1))
    assert layer.target_shape == (3, -1)
    np.testing.assert_array_equal(layer(x), x.reshape(2, 3, 4))
    run_layer_test(layer, x, weight_shapes={}, output_shape=(2, 3, 4))
