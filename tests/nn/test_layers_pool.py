"""Pooling layers: values vs NumPy, Keras's defaults (strides = pool size), global pooling, the contract."""

import numpy as np
import pytest

pytest.importorskip("fnflow.nn.functional", reason="fnflow.nn.functional (pool functions) is not written yet")

from layer_harness import run_layer_test  # noqa: E402

import fnflow.nn as nn  # noqa: E402

RNG = np.random.RandomState(0)


def np_pool2d(x, size, stride, fn):
    oh, ow = (x.shape[1] - size[0]) // stride[0] + 1, (x.shape[2] - size[1]) // stride[1] + 1
    y = np.zeros((x.shape[0], oh, ow, x.shape[3]))
    for i in range(oh):
        for j in range(ow):
            y[:, i, j] = fn(x[:, i * stride[0]:i * stride[0] + size[0], j * stride[1]:j * stride[1] + size[1]],
                            axis=(1, 2))
    return y


@pytest.mark.parametrize("cls, fn", [(nn.MaxPool2D, np.max), (nn.AvgPool2D, np.mean)])
def test_pool2d(cls, fn, tmp_path):
    x = RNG.randn(2, 6, 7, 3)
    np.testing.assert_allclose(cls()(x), np_pool2d(x, (2, 2), (2, 2), fn), rtol=1e-12)
    np.testing.assert_allclose(cls((3, 2), (1, 2))(x), np_pool2d(x, (3, 2), (1, 2), fn), rtol=1e-12)
    assert cls(3, padding="same")(x).shape == (2, 2, 3, 3)
    run_layer_test(cls(2), x.astype(np.float32), weight_shapes={}, output_shape=(2, 3, 3, 3), tmp_path=tmp_path)


def test_pool1d_and_aliases():
    x = RNG.randn(2, 7, 3)
    np.testing.assert_allclose(nn.MaxPool1D(2)(x), np.max(x[:, :6].reshape(2, 3, 2, 3), axis=2), rtol=1e-12)
    np.testing.assert_allclose(nn.AvgPool1D(3, 2)(x), np.stack([x[:, i:i + 3].mean(1) for i in (0, 2, 4)], 1),
                               rtol=1e-12)
    assert nn.MaxPooling2D is nn.MaxPool2D and nn.AveragePooling1D is nn.AvgPool1D
    # Keras: "same" average pooling divides by the real (unpadded) elements
    np.testing.assert_allclose(nn.AvgPool1D(2, padding="same")(x)[:, -1], x[:, -1], rtol=1e-12)


def test_global_pooling():
    x = RNG.randn(2, 4, 5, 3)
    np.testing.assert_allclose(nn.GlobalAvgPool()(x), x.mean((1, 2)), rtol=1e-12)
    np.testing.assert_allclose(nn.GlobalMaxPool()(x), x.max((1, 2)), rtol=1e-12)
    assert nn.GlobalAvgPool(keepdims=True)(x).shape == (2, 1, 1, 3)
    np.testing.assert_allclose(nn.GlobalAvgPool(data_format="channels_first")(x), x.mean((2, 3)), rtol=1e-12)
    run_layer_test(nn.GlobalMaxPool(), x.astype(np.float32), weight_shapes={}, output_shape=(2, 3))
    run_layer_test(nn.GlobalAvgPool(), x[:, 0].astype(np.float32), weight_shapes={}, output_shape=(2, 3))
