"""Conv1D/Conv2D layers: Keras's kernel layout and defaults, values vs a NumPy loop, padding modes, the contract."""

import numpy as np
import pytest

pytest.importorskip("fnflow.nn.functional", reason="fnflow.nn.functional (conv functions) is not written yet")

from layer_harness import run_layer_test  # noqa: E402

import fnflow.nn as nn  # noqa: E402
import fnflow.random as fr  # noqa: E402

RNG = np.random.RandomState(0)


def np_conv2d(x, k, b, stride=(1, 1), dil=(1, 1), pads=((0, 0), (0, 0))):
    x = np.pad(x, ((0, 0), *pads, (0, 0)))
    kh, kw, cin, cout = k.shape
    eh, ew = (kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1
    oh, ow = (x.shape[1] - eh) // stride[0] + 1, (x.shape[2] - ew) // stride[1] + 1
    y = np.zeros((x.shape[0], oh, ow, cout))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * stride[0]:i * stride[0] + eh:dil[0], j * stride[1]:j * stride[1] + ew:dil[1]]
            y[:, i, j] = np.einsum("bhwc,hwco->bo", patch, k)
    return y + (0 if b is None else b)


def test_conv2d_init_and_contract(tmp_path):
    layer = nn.Conv2D.init(fr.key(0), 3, 4, 3)
    limit = np.sqrt(6 / (9 * 3 + 9 * 4))
    assert np.abs(np.asarray(layer.kernel)).max() <= limit
    assert layer.strides == (1, 1) and layer.padding == "valid" and layer.filters == 4
    assert layer.kernel_size == (3, 3)
    x = RNG.randn(2, 5, 6, 3).astype(np.float32)
    run_layer_test(layer, x, weight_shapes={"kernel": (3, 3, 3, 4), "bias": (4,)}, output_shape=(2, 3, 4, 4),
                   grad_order=2, tmp_path=tmp_path)


@pytest.mark.parametrize("kw", [
    dict(strides=2, padding="valid"),
    dict(strides=(1, 2), padding="same"),
    dict(padding="same", dilation_rate=2),
    dict(padding=((1, 0), (2, 1))),
    dict(padding=1, strides=2),
])
def test_conv2d_values(kw):
    layer = nn.Conv2D.init(fr.key(1), 3, 2, (3, 2), activation="relu", dtype=np.float64, bias_initializer="ones", **kw)
    x = RNG.randn(2, 7, 6, 3)
    y = np.asarray(layer(x))
    s, d = layer.strides, layer.dilation_rate
    if layer.padding == "valid":
        pads = ((0, 0), (0, 0))
    elif layer.padding == "same":  # Keras/TF: total padding so that out = ceil(in / stride), extra at the end
        pads = []
        for n, k, st, dl in zip(x.shape[1:3], (3, 2), s, d):
            out = -(-n // st)
            total = max((out - 1) * st + (k - 1) * dl + 1 - n, 0)
            pads.append((total // 2, total - total // 2))
    else:
        pads = layer.padding
    want = np.maximum(np_conv2d(x, np.asarray(layer.kernel), np.asarray(layer.bias), s, d, pads), 0)
    np.testing.assert_allclose(y, want, rtol=1e-10, atol=1e-12)


def test_conv1d_and_causal(tmp_path):
    layer = nn.Conv1D.init(fr.key(2), 3, 4, 3, padding="causal", dilation_rate=2, dtype=np.float64)
    x = RNG.randn(2, 6, 3)
    y = np.asarray(layer(x))
    k = np.asarray(layer.kernel)
    want = np_conv2d(x[:, :, None], k[:, None], np.asarray(layer.bias), (1, 1), (2, 1), ((4, 0), (0, 0)))[:, :, 0]
    np.testing.assert_allclose(y, want, rtol=1e-10, atol=1e-12)
    run_layer_test(nn.Conv1D.init(fr.key(2), 3, 4, 2, strides=2), RNG.randn(2, 7, 3).astype(np.float32),
                   weight_shapes={"kernel": (2, 3, 4), "bias": (4,)}, output_shape=(2, 3, 4), tmp_path=tmp_path)


def test_conv_channels_first_and_groups():
    layer = nn.Conv2D.init(fr.key(3), 4, 6, 3, groups=2, data_format="channels_first", padding="same")
    assert layer.kernel.shape == (3, 3, 2, 6)
    x = RNG.randn(2, 4, 5, 5).astype(np.float32)
    y = np.asarray(layer(x))
    assert y.shape == (2, 6, 5, 5)
    last = nn.Conv2D(layer.kernel, layer.bias, padding="same", groups=2)
    np.testing.assert_allclose(y, np.moveaxis(np.asarray(last(np.moveaxis(x, 1, -1))), -1, 1), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="divisible"):
        nn.Conv2D.init(fr.key(0), 3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding"):
        nn.Conv2D.init(fr.key(0), 3, 4, 3, padding="full")


def test_convnet_in_sequential():
    import fnflow

    model = nn.Sequential([nn.Conv2D.init(fr.key(0), 1, 4, 3, activation="relu"), nn.MaxPool2D(),
                           nn.Flatten(), nn.Dropout(0.2), nn.Dense.init(fr.key(1), 36, 3)])
    x = RNG.randn(2, 8, 8, 1).astype(np.float32)
    y = model(x)
    assert y.shape == (2, 3)
    step = fnflow.jit(fnflow.grad(lambda m, x, k: (m(x, key=k, training=True) ** 2).sum()))
    g = step(model, x, fr.key(0))
    assert g.layers[0].kernel.shape == (3, 3, 1, 4) and float(np.abs(np.asarray(g.layers[0].kernel)).sum()) > 0
