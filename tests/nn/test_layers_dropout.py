"""Dropout: mask statistics, inverted scaling, determinism per key, inference, errors."""

import numpy as np
import pytest
from layer_harness import run_layer_test

import fnflow
import fnflow.nn as nn
import fnflow.random as fr


def test_dropout_statistics_and_scaling():
    layer = nn.Dropout(0.3)
    x = np.ones((200, 100), np.float32)
    y = np.asarray(layer(x, key=fr.key(0), training=True))
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01  # 20000 draws: std of the mean ~0.003
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    assert y.dtype == np.float32
    assert abs(y.mean() - 1.0) < 0.02  # unbiased in expectation


def test_dropout_determinism_and_inference():
    layer = nn.Dropout(0.5)
    x = np.arange(1, 51, dtype=np.float32).reshape(5, 10)
    a = layer(x, key=fr.key(1), training=True)
    b = layer(x, key=fr.key(1), training=True)
    c = layer(x, key=fr.key(2), training=True)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert layer(x) is x and layer(x, training=False) is x
    assert nn.Dropout(0.0)(x, training=True) is x  # rate 0: no key needed
    np.testing.assert_array_equal(fnflow.jit(lambda k, x: layer(x, key=k, training=True))(fr.key(1), x), a)


def test_dropout_noise_shape():
    layer = nn.Dropout(0.5, noise_shape=(None, 1, 4))
    y = np.asarray(layer(np.ones((3, 5, 4), np.float32), key=fr.key(0), training=True))
    assert np.all(y == y[:, :1, :])  # one mask entry shared along axis 1
    with pytest.raises(ValueError, match="noise_shape"):
        nn.Dropout(0.5, noise_shape=(1, 4))(np.ones((3, 5, 4)), key=fr.key(0), training=True)


def test_dropout_errors():
    with pytest.raises(ValueError, match="key"):
        nn.Dropout(0.5)(np.ones(3), training=True)
    with pytest.raises(ValueError, match="rate"):
        nn.Dropout(1.0)
    with pytest.raises(ValueError, match="rate"):
        nn.Dropout(-0.1)


def test_dropout_contract(tmp_path):
    x = np.random.RandomState(0).randn(4, 6).astype(np.float32)
    layer = nn.Dropout(0.25)

    def call(lay, x):
        return lay(x, key=fr.key(3), training=True)

    out = run_layer_test(layer, x, call=call, weight_shapes={}, output_shape=(4, 6), grad_order=2,
                         tmp_path=tmp_path)
    # gradient of the input is the same mask, scaled
    g = fnflow.grad(lambda x: call(layer, x).sum())(x)
    np.testing.assert_allclose(np.asarray(g), (np.asarray(out) != 0) / 0.75, rtol=1e-6)
