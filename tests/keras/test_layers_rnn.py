"""SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed: Keras weight layouts, numerics vs NumPy loops."""

import numpy as np
import pytest

import fnflow_keras as keras
from fnflow_keras import layers
from tests.keras.layer_test import run_layer_test


def sig(z):
    return 1 / (1 + np.exp(-z))


def np_lstm(x, k, rk, b):
    u = rk.shape[0]
    h = np.zeros((x.shape[0], u))
    c = np.zeros_like(h)
    hs = []
    for t in range(x.shape[1]):
        z = x[:, t] @ k + h @ rk + b
        i, f, g, o = sig(z[:, :u]), sig(z[:, u:2 * u]), np.tanh(z[:, 2 * u:3 * u]), sig(z[:, 3 * u:])
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs, 1), h, c


def np_gru(x, k, rk, b):
    u = rk.shape[0]
    h = np.zeros((x.shape[0], u))
    hs = []
    for t in range(x.shape[1]):
        xw = x[:, t] @ k + b[0]
        inner = h @ rk + b[1]
        z = sig(xw[:, :u] + inner[:, :u])
        r = sig(xw[:, u:2 * u] + inner[:, u:2 * u])
        hh = np.tanh(xw[:, 2 * u:] + r * inner[:, 2 * u:])
        h = z * h + (1 - z) * hh
        hs.append(h)
    return np.stack(hs, 1), h


def np_simple(x, k, rk, b):
    h = np.zeros((x.shape[0], rk.shape[0]))
    hs = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ k + h @ rk + b)
        hs.append(h)
    return np.stack(hs, 1), h


@pytest.fixture
def x():
    return np.random.default_rng(0).standard_normal((2, 5, 3)).astype("float32")


def test_lstm_weights_and_numerics(x):
    layer = layers.LSTM(4, return_sequences=True, return_state=True)
    seq, h, c = layer(x)
    k, rk, b = layer.get_weights()
    assert (k.shape, rk.shape, b.shape) == ((3, 16), (4, 16), (16,))
    np.testing.assert_array_equal(b, np.r_[np.zeros(4), np.ones(4), np.zeros(8)])  # unit_forget_bias
    b = np.random.default_rng(1).standard_normal(16).astype("float32")
    layer.set_weights([k, rk, b])
    seq, h, c = layer(x)
    rs, rh, rc = np_lstm(x.astype(np.float64), k, rk, b)
    np.testing.assert_allclose(np.asarray(seq), rs, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(h), rh, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(c), rc, rtol=1e-4, atol=1e-5)
    assert [v.path for v in layer.weights] == ["lstm/lstm_cell/kernel", "lstm/lstm_cell/recurrent_kernel",
                                               "lstm/lstm_cell/bias"]


def test_gru_reset_after_numerics(x):
    layer = layers.GRU(4, return_sequences=True)
    layer(x)
    k, rk, b = layer.get_weights()
    assert b.shape == (2, 12)
    b = np.random.default_rng(2).standard_normal((2, 12)).astype("float32")
    layer.set_weights([k, rk, b])
    rs, _ = np_gru(x.astype(np.float64), k, rk, b)
    np.testing.assert_allclose(np.asarray(layer(x)), rs, rtol=1e-4, atol=1e-5)


def test_simple_rnn_and_go_backwards(x):
    layer = layers.SimpleRNN(3, go_backwards=True)
    y = layer(x)
    k, rk, b = layer.get_weights()
    _, h = np_simple(x[:, ::-1].astype(np.float64), k, rk, b)
    np.testing.assert_allclose(np.asarray(y), h, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls,kwargs,out,shapes", [
    (layers.SimpleRNN, {"units": 3}, (2, 3), [(3, 3), (3, 3), (3,)]),
    (layers.LSTM, {"units": 2, "return_sequences": True}, (2, 5, 2), [(3, 8), (2, 8), (8,)]),
    (layers.GRU, {"units": 2}, (2, 2), [(3, 6), (2, 6), (2, 6)]),
])
def test_rnn_contract(cls, kwargs, out, shapes, x):
    run_layer_test(cls, kwargs, (2, 5, 3), input_data=x, expected_output_shape=out,
                   expected_num_trainable_weights=3, expected_weight_shapes=shapes,
                   expected_weight_names=["kernel", "recurrent_kernel", "bias"])


def test_bidirectional_and_time_distributed(x):
    bi = layers.Bidirectional(layers.LSTM(4, return_sequences=True))
    y = bi(x)
    assert y.shape == (2, 5, 8) and len(bi.weights) == 6
    fk, frk, fb, bk, brk, bb = bi.get_weights()
    rs, _, _ = np_lstm(x.astype(np.float64), fk, frk, fb)
    rb, _, _ = np_lstm(x[:, ::-1].astype(np.float64), bk, brk, bb)
    np.testing.assert_allclose(np.asarray(y)[..., :4], rs, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(y)[..., 4:], rb[:, ::-1], rtol=1e-4, atol=1e-5)
    td = layers.TimeDistributed(layers.Dense(2))
    z = td(x)
    w, b = td.get_weights()
    np.testing.assert_allclose(np.asarray(z), x @ w + b, rtol=1e-5, atol=1e-6)
    inp = keras.Input((5, 3))
    assert layers.TimeDistributed(layers.Dense(7))(inp).shape == (None, 5, 7)
    assert layers.Bidirectional(layers.GRU(2))(inp).shape == (None, 4)
