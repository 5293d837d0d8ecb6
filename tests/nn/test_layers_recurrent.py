"""SimpleRNN / LSTM / GRU: Keras weight shapes, step formulas vs NumPy, sequence options, the contract."""

import numpy as np
import pytest
from layer_harness import run_layer_test

import fnflow
import fnflow.nn as nn
import fnflow.random as fr

RNG = np.random.RandomState(0)
B, T, F, U = 2, 4, 3, 5


def sig(z):
    return 1 / (1 + np.exp(-z))


def np_simple(x, k, rk, b, h):
    outs = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ k + h @ rk + b)
        outs.append(h)
    return np.stack(outs, 1), h


def np_lstm(x, k, rk, b, h, c):
    u = rk.shape[0]
    outs = []
    for t in range(x.shape[1]):
        z = x[:, t] @ k + h @ rk + b
        i, f, g, o = sig(z[:, :u]), sig(z[:, u:2 * u]), np.tanh(z[:, 2 * u:3 * u]), sig(z[:, 3 * u:])
        c = f * c + i * g
        h = o * np.tanh(c)
        outs.append(h)
    return np.stack(outs, 1), h, c


def np_gru(x, k, rk, b, h, reset_after):
    u = rk.shape[0]
    outs = []
    for t in range(x.shape[1]):
        xt = x[:, t]
        if reset_after:
            mx = xt @ k + b[0]
            mi = h @ rk + b[1]
            z = sig(mx[:, :u] + mi[:, :u])
            r = sig(mx[:, u:2 * u] + mi[:, u:2 * u])
            hh = np.tanh(mx[:, 2 * u:] + r * mi[:, 2 * u:])
        else:
            mx = xt @ k + b
            z = sig(mx[:, :u] + h @ rk[:, :u])
            r = sig(mx[:, u:2 * u] + h @ rk[:, u:2 * u])
            hh = np.tanh(mx[:, 2 * u:] + (r * h) @ rk[:, 2 * u:])
        h = z * h + (1 - z) * hh
        outs.append(h)
    return np.stack(outs, 1), h


def randomize(layer):
    """The layer with every parameter replaced by random float64 values (a nonzero bias too)."""
    return fnflow.tree_util.tree_map(lambda p: RNG.uniform(-0.6, 0.6, np.shape(p)), layer)


def x64():
    return RNG.randn(B, T, F)


def test_simple_rnn_init_and_values(tmp_path):
    layer = nn.SimpleRNN.init(fr.key(0), F, U)
    rk = np.asarray(layer.recurrent_kernel)
    np.testing.assert_allclose(rk.T @ rk, np.eye(U), atol=1e-5)  # orthogonal
    run_layer_test(layer, RNG.randn(B, T, F).astype(np.float32), output_shape=(B, U),
                   weight_shapes={"kernel": (F, U), "recurrent_kernel": (U, U), "bias": (U,)}, tmp_path=tmp_path)
    lay = randomize(nn.SimpleRNN.init(fr.key(0), F, U, return_sequences=True, return_state=True))
    x = x64()
    seq, h = lay(x)
    want_seq, want_h = np_simple(x, lay.kernel, lay.recurrent_kernel, lay.bias, np.zeros((B, U)))
    np.testing.assert_allclose(seq, want_seq, rtol=1e-10)
    np.testing.assert_allclose(h, want_h, rtol=1e-10)


def test_lstm_init_keras_defaults():
    layer = nn.LSTM.init(fr.key(0), F, U)
    b = np.asarray(layer.bias)
    np.testing.assert_array_equal(b, np.r_[np.zeros(U), np.ones(U), np.zeros(2 * U)])  # unit_forget_bias
    rk = np.asarray(layer.recurrent_kernel)
    assert rk.shape == (U, 4 * U)
    np.testing.assert_allclose(rk @ rk.T, np.eye(U), atol=1e-5)  # orthogonal rows
    no = nn.LSTM.init(fr.key(0), F, U, unit_forget_bias=False)
    np.testing.assert_array_equal(no.bias, np.zeros(4 * U))
    assert nn.LSTM.init(fr.key(0), F, U, use_bias=False).bias is None


def test_lstm_contract(tmp_path):
    layer = nn.LSTM.init(fr.key(1), F, U, return_sequences=True, return_state=True)
    run_layer_test(layer, RNG.randn(B, T, F).astype(np.float32), output_shape=((B, T, U), (B, U), (B, U)),
                   weight_shapes={"kernel": (F, 4 * U), "recurrent_kernel": (U, 4 * U), "bias": (4 * U,)},
                   tmp_path=tmp_path)


def test_lstm_values():
    lay = randomize(nn.LSTM.init(fr.key(0), F, U, return_sequences=True, return_state=True))
    x = x64()
    h0, c0 = RNG.randn(B, U), RNG.randn(B, U)
    seq, h, c = lay(x, initial_state=(h0, c0))
    ws, wh, wc = np_lstm(x, lay.kernel, lay.recurrent_kernel, lay.bias, h0, c0)
    for got, want in ((seq, ws), (h, wh), (c, wc)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    # one step of the cell is the step formula
    hc, (h1, c1) = lay.cell(x[:, 0], (h0, c0))
    _, wh1, wc1 = np_lstm(x[:, :1], lay.kernel, lay.recurrent_kernel, lay.bias, h0, c0)
    np.testing.assert_allclose(h1, wh1, rtol=1e-10)
    np.testing.assert_allclose(c1, wc1, rtol=1e-10)
    np.testing.assert_allclose(hc, wh1, rtol=1e-10)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_values(reset_after):
    lay = randomize(nn.GRU.init(fr.key(0), F, U, reset_after=reset_after, return_sequences=True,
                                return_state=True))
    assert lay.bias.shape == ((2, 3 * U) if reset_after else (3 * U,))
    x = x64()
    h0 = RNG.randn(B, U)
    seq, h = lay(x, initial_state=h0)
    ws, wh = np_gru(x, lay.kernel, lay.recurrent_kernel, lay.bias, h0, reset_after)
    np.testing.assert_allclose(seq, ws, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h, wh, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_contract(tmp_path, reset_after):
    layer = nn.GRU.init(fr.key(2), F, U, reset_after=reset_after)
    bshape = (2, 3 * U) if reset_after else (3 * U,)
    run_layer_test(layer, RNG.randn(B, T, F).astype(np.float32), output_shape=(B, U),
                   weight_shapes={"kernel": (F, 3 * U), "recurrent_kernel": (U, 3 * U), "bias": bshape},
                   tmp_path=tmp_path)


def test_go_backwards_and_last_output():
    fwd = randomize(nn.LSTM.init(fr.key(0), F, U, return_sequences=True))
    bwd = nn.LSTM(fwd.kernel, fwd.recurrent_kernel, fwd.bias, return_sequences=True, go_backwards=True)
    x = x64()
    # backwards = forwards on the reversed sequence, outputs in processing order (as Keras)
    np.testing.assert_allclose(bwd(x), fwd(x[:, ::-1]), rtol=1e-12)
    last = nn.LSTM(fwd.kernel, fwd.recurrent_kernel, fwd.bias)
    np.testing.assert_allclose(last(x), fwd(x)[:, -1], rtol=1e-12)


def test_rnn_second_order_grads():
    lay = randomize(nn.GRU.init(fr.key(3), 2, 3))
    from fnflow.testing import check_grads

    check_grads(lambda lay, x: lay(x), (lay, RNG.randn(2, 3, 2)), order=2, modes=("rev",))


def test_rnn_errors():
    lay = nn.SimpleRNN.init(fr.key(0), F, U)
    with pytest.raises(ValueError, match="batch, time, features"):
        lay(np.zeros((T, F), np.float32))
    with pytest.raises(ValueError, match="features"):
        lay(np.zeros((B, T, F + 1), np.float32))
    with pytest.raises(ValueError, match="initial_state"):
        nn.LSTM.init(fr.key(0), F, U)(np.zeros((B, T, F), np.float32), initial_state=np.zeros((B, U)))
