"""RNN dropout as Keras 3.15: masks drawn once per call, per-gate masks with recurrent dropout.

Random masks cannot match Keras's bits, so the masks are injected (the cell's
``dropout_masks`` is replaced) and the outputs compared with (1) real Keras 3.15.1
run with the same injected masks (``fixtures/keras315_rnn_dropout.json``, written by
``fixtures/make_rnn_dropout_fixture.py``) and (2) a NumPy transcription of Keras's
cell formulas (implementation 1 for LSTM/GRU).
"""

import json
import os

import numpy as np
import pytest

import fnflow_keras as keras
from fnflow_keras import layers

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
TOL = {"rtol": 1e-5, "atol": 2e-6}
B, T, F, U = 2, 4, 3, 3


@pytest.fixture(autouse=True)
def fresh_names():
    keras.backend.clear_session()
    yield
    keras.backend.clear_session()


def uniform_weights(layer):
    layer.set_weights([np.random.RandomState(1 + i).uniform(-0.5, 0.5, w.shape).astype("float32")
                       for i, w in enumerate(layer.get_weights())])


def rand_masks(n, shape, rate, seed):
    """Keras-style masks: 0 or ``1 / (1 - rate)``."""
    return (np.random.RandomState(seed).uniform(size=(n,) + shape) >= rate).astype("float32") / (1 - rate)


def inject(layer, in_mask, rec_mask):
    """Make the cell's mask source return known masks (``(gates, batch, n)`` per gate, ``(batch, n)`` otherwise)."""
    layer.cell.dropout_masks = lambda batch, features, dtype: (in_mask, rec_mask)


def make(cls, dropout, recurrent_dropout, **kwargs):
    layer = cls(U, dropout=dropout, recurrent_dropout=recurrent_dropout, return_sequences=True, **kwargs)
    layer.build((B, T, F))
    uniform_weights(layer)
    return layer


# ---------------------------------------------------------------- NumPy transcription of Keras's cells


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def gate_masks(m, g, shape):
    """Per-gate list of masks from ``None`` (ones), one shared ``(batch, n)`` mask or ``(g, batch, n)``."""
    if m is None:
        return [np.ones(shape, np.float32)] * g
    m = np.asarray(m)
    return [m] * g if m.ndim == 2 else [m[i] for i in range(g)]


def run_ref(step, x, states, time_mask=None):
    """Keras's loop: a masked (padded) step keeps the states and repeats the previous output."""
    outs, prev = [], np.zeros_like(states[0])
    for t in range(x.shape[1]):
        out, new = step(x[:, t], states)
        if time_mask is not None:
            m = time_mask[:, t:t + 1]
            out = np.where(m, out, prev)
            new = [np.where(m, n, s) for n, s in zip(new, states)]
        states, prev = new, out
        outs.append(out)
    return np.stack(outs, 1), states


def ref_lstm(w, x, in_m, rec_m, time_mask=None):
    kernel, rk, bias = w
    ks, rks, bs = np.split(kernel, 4, 1), np.split(rk, 4, 1), np.split(bias, 4)
    mi, mr = gate_masks(in_m, 4, (x.shape[0], x.shape[2])), gate_masks(rec_m, 4, (x.shape[0], U))

    def step(xt, states):
        h, c = states
        pre = [(xt * mi[g]) @ ks[g] + bs[g] + (h * mr[g]) @ rks[g] for g in range(4)]
        i, f, o = sigmoid(pre[0]), sigmoid(pre[1]), sigmoid(pre[3])
        c = f * c + i * np.tanh(pre[2])
        h = o * np.tanh(c)
        return h, [h, c]

    zeros = np.zeros((x.shape[0], U), np.float32)
    return run_ref(step, x, [zeros, zeros], time_mask)


def ref_gru(w, x, in_m, rec_m, reset_after=True, time_mask=None):
    kernel, rk, bias = w
    ks, rks = np.split(kernel, 3, 1), np.split(rk, 3, 1)
    bi, br = (np.split(bias[0], 3), np.split(bias[1], 3)) if reset_after else (np.split(bias, 3), [0.0] * 3)
    mi, mr = gate_masks(in_m, 3, (x.shape[0], x.shape[2])), gate_masks(rec_m, 3, (x.shape[0], U))

    def step(xt, states):
        (h,) = states
        xz, xr, xh = [(xt * mi[g]) @ ks[g] + bi[g] for g in range(3)]
        z = sigmoid(xz + (h * mr[0]) @ rks[0] + br[0])
        r = sigmoid(xr + (h * mr[1]) @ rks[1] + br[1])
        if reset_after:
            hh = np.tanh(xh + r * ((h * mr[2]) @ rks[2] + br[2]))
        else:
            hh = np.tanh(xh + (r * (h * mr[2])) @ rks[2])
        h = z * h + (1 - z) * hh  # the unmasked state
        return h, [h]

    return run_ref(step, x, [np.zeros((x.shape[0], U), np.float32)], time_mask)


def ref_simple(w, x, in_m, rec_m, time_mask=None):
    kernel, rk, bias = w
    mi = np.ones((x.shape[0], x.shape[2]), np.float32) if in_m is None else in_m
    mr = np.ones((x.shape[0], U), np.float32) if rec_m is None else rec_m

    def step(xt, states):
        h = np.tanh((xt * mi) @ kernel + bias + (states[0] * mr) @ rk)
        return h, [h]

    return run_ref(step, x, [np.zeros((x.shape[0], U), np.float32)], time_mask)


CASES = {"lstm": (layers.LSTM, {}, 4, ref_lstm), "gru": (layers.GRU, {}, 3, ref_gru),
         "gru_ra_false": (layers.GRU, {"reset_after": False}, 3,
                          lambda *a, **k: ref_gru(*a, reset_after=False, **k)),
         "simple": (layers.SimpleRNN, {}, 1, ref_simple)}
RATES = [(0.25, 0.4), (0.0, 0.4), (0.25, 0.0)]


def case_masks(g, dp, rdp, per_gate):
    mi = rand_masks(g, (B, F), dp, 10) if dp else None
    mr = rand_masks(g, (B, U), rdp, 20) if rdp else None
    if not per_gate:
        mi, mr = (None if mi is None else mi[0]), (None if mr is None else mr[0])
    return mi, mr


def data(shape=(B, T, F), seed=0):
    return np.random.RandomState(seed).randn(*shape).astype("float32")


# ---------------------------------------------------------------- against real Keras and the transcription


@pytest.mark.parametrize("rates", RATES, ids=str)
@pytest.mark.parametrize("name", list(CASES))
def test_injected_masks_match_real_keras(name, rates):
    with open(os.path.join(FIXTURES, "keras315_rnn_dropout.json")) as f:
        expected = np.array(json.load(f)[f"{name}_{rates[0]}_{rates[1]}"], np.float32)
    cls, kw, g, _ = CASES[name]
    layer = make(cls, *rates, **kw)
    # Keras: recurrent dropout switches LSTM/GRU to implementation 1 (one mask per gate)
    assert layer.cell.per_gate == (g > 1 and rates[1] > 0)
    inject(layer, *case_masks(g, *rates, layer.cell.per_gate))
    np.testing.assert_allclose(np.asarray(layer(data(), training=True)), expected, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("rates", RATES, ids=str)
@pytest.mark.parametrize("name", list(CASES))
def test_injected_masks_match_numpy_transcription(name, rates):
    cls, kw, g, ref = CASES[name]
    layer = make(cls, *rates, return_state=True, **kw)
    mi, mr = case_masks(g, *rates, layer.cell.per_gate)
    inject(layer, mi, mr)
    x = data()
    out, *states = layer(x, training=True)
    ref_out, ref_states = ref([np.asarray(v) for v in layer.get_weights()], x, mi, mr)
    np.testing.assert_allclose(np.asarray(out), ref_out, **TOL)
    for s, r in zip(states, ref_states):
        np.testing.assert_allclose(np.asarray(s), r, **TOL)


@pytest.mark.parametrize("name", list(CASES))
def test_padded_steps_keep_state_with_dropout(name):
    # Keras's masked steps under dropout: the state is held, the output repeats the previous one
    cls, kw, g, ref = CASES[name]
    layer = make(cls, 0.25, 0.4, **kw)
    mi, mr = case_masks(g, 0.25, 0.4, layer.cell.per_gate)
    inject(layer, mi, mr)
    x = data()
    time_mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool)
    y = layer(x, training=True, mask=time_mask)
    ref_out, _ = ref([np.asarray(v) for v in layer.get_weights()], x, mi, mr, time_mask=time_mask)
    np.testing.assert_allclose(np.asarray(y), ref_out, **TOL)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_blend_uses_the_unmasked_state(reset_after):
    layer = make(layers.GRU, 0.0, 0.5, reset_after=reset_after)
    mr = np.zeros((3, B, U), np.float32)  # every recurrent product sees h * 0
    inject(layer, None, mr)
    x = data()
    y = np.asarray(layer(x, training=True))
    w = [np.asarray(v) for v in layer.get_weights()]
    ref_out, _ = ref_gru(w, x, None, mr, reset_after=reset_after)
    np.testing.assert_allclose(y, ref_out, **TOL)
    # blending with the masked state (h * 0) instead would give (1 - z) * hh: not what Keras computes
    kernel, _, bias = w
    bi = bias[0] if reset_after else bias
    br = bias[1] if reset_after else np.zeros(3 * U, np.float32)
    pre = x[:, 0] @ kernel + bi
    z = sigmoid(pre[:, :U] + br[:U])
    r = sigmoid(pre[:, U:2 * U] + br[U:2 * U])
    hh = np.tanh(pre[:, 2 * U:] + (r * br[2 * U:] if reset_after else 0.0))
    h1 = (1 - z) * hh  # the first step (h0 = 0) agrees either way
    np.testing.assert_allclose(y[:, 0], h1, **TOL)
    masked_state_step2 = (1 - z) * np.tanh(x[:, 1] @ kernel[:, 2 * U:] + bi[2 * U:]
                                           + (r * br[2 * U:] if reset_after else 0.0))
    assert not np.allclose(y[:, 1], masked_state_step2, atol=1e-3)


def test_simple_rnn_mask_is_not_applied_to_the_output_state():
    layer = make(layers.SimpleRNN, 0.0, 0.5, return_state=True)
    inject(layer, None, np.zeros((B, U), np.float32))
    x = data()
    out, h = layer(x, training=True)
    kernel, _, bias = [np.asarray(v) for v in layer.get_weights()]
    # with h * 0 in the recurrent product every step is tanh(x W + b): the state carried is the output itself
    np.testing.assert_allclose(np.asarray(out), np.tanh(x @ kernel + bias), **TOL)
    np.testing.assert_allclose(np.asarray(h), np.asarray(out)[:, -1], **TOL)


# ---------------------------------------------------------------- the real masks


@pytest.mark.parametrize("name", list(CASES))
def test_drawn_masks_per_gate_constant_in_time(name, monkeypatch):
    cls, kw, g, ref = CASES[name]
    layer = make(cls, 0.3, 0.4, seed=7, **kw)
    drawn = []
    original = layer.cell.dropout_masks

    def spy(*args):
        masks = original(*args)
        drawn.append([np.asarray(m) for m in masks])
        return masks

    layer.cell.dropout_masks = spy
    x = data((4, 6, F))
    y = np.asarray(layer(x, training=True))
    (mi, mr), = drawn
    lead = (g,) if g > 1 else ()
    assert mi.shape == lead + (4, F) and mr.shape == lead + (4, U)
    for m, rate in ((mi, 0.3), (mr, 0.4)):
        np.testing.assert_allclose(np.unique(m), [0.0, 1.0 / (1.0 - rate)], rtol=1e-6)
        if g > 1:  # independent masks per gate
            assert all(not np.array_equal(m[0], m[i]) for i in range(1, g))
    # the output is Keras's formula with these masks held for every time step
    ref_out, _ = ref([np.asarray(v) for v in layer.get_weights()], x, mi, mr)
    np.testing.assert_allclose(y, ref_out, **TOL)
    layer(x, training=True)  # a new call draws new masks
    assert not np.array_equal(drawn[1][1], mr)


@pytest.mark.parametrize("name", list(CASES))
def test_inference_equals_no_dropout(name):
    cls, kw, _, _ = CASES[name]
    layer = make(cls, 0.3, 0.4, **kw)
    plain = make(cls, 0.0, 0.0, **kw)
    plain.set_weights(layer.get_weights())
    x = data()
    np.testing.assert_allclose(np.asarray(layer(x, training=False)), np.asarray(plain(x)), **TOL)
    np.testing.assert_allclose(np.asarray(layer(x)), np.asarray(plain(x)), **TOL)
    assert not np.allclose(np.asarray(layer(x, training=True)), np.asarray(plain(x)), atol=1e-4)


def test_implementation_argument_and_config():
    # Keras: recurrent_dropout forces implementation 1; ``implementation`` is accepted but not saved
    assert layers.LSTM(3, recurrent_dropout=0.1).cell.implementation == 1
    assert layers.GRU(3).cell.implementation == 2
    lstm = layers.LSTM(3, dropout=0.2, implementation=1)
    assert lstm.cell.per_gate and "implementation" not in lstm.get_config()
    assert not layers.SimpleRNN(3, recurrent_dropout=0.2).cell.per_gate


def test_lstm_rate_one_is_no_dropout_as_keras_cells():
    # Keras's LSTM/GRU cells drop only for 0 < rate < 1
    layer = make(layers.LSTM, 1.0, 1.0)
    plain = make(layers.LSTM, 0.0, 0.0)
    x = data()
    np.testing.assert_allclose(np.asarray(layer(x, training=True)), np.asarray(plain(x)), **TOL)


# ---------------------------------------------------------------- training


@pytest.mark.parametrize("cls", [layers.LSTM, layers.GRU, layers.SimpleRNN])
def test_fit_with_dropout_learns_under_jit(cls):
    keras.utils.set_random_seed(0)
    rs = np.random.RandomState(0)
    x = rs.randn(32, 5, 3).astype("float32")
    y = x.sum(axis=(1, 2))[:, None].astype("float32") * 0.2
    model = keras.Sequential([keras.Input((5, 3)), cls(8, dropout=0.2, recurrent_dropout=0.2), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    assert model.jit_compile and not model.run_eagerly
    hist = model.fit(x, y, batch_size=16, epochs=8, verbose=0)
    loss = hist.history["loss"]
    assert np.all(np.isfinite(loss)) and loss[-1] < 0.6 * loss[0]
    grads_seen = [np.asarray(w) for w in model.layers[0].get_weights()]
    assert all(np.all(np.isfinite(w)) for w in grads_seen)
