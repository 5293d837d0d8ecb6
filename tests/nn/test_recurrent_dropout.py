"""Dropout in ``fnflow.nn`` SimpleRNN / LSTM / GRU: Keras 3's semantics, masks drawn from the key.

The reference is a NumPy transcription of Keras's cells (implementation 1 for
LSTM/GRU with recurrent dropout: one mask per gate) run with the masks the layer
draws from the same key (``layer.dropout_masks(key, batch)``).
"""

import attrs
import numpy as np
import pytest
from layer_harness import run_layer_test

import fnflow
import fnflow.nn as nn
import fnflow.random as fr

B, T, F, U = 2, 5, 3, 4
KEY = fr.key(42)
TOL = {"rtol": 1e-9, "atol": 1e-10}


def sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def randomize(layer, seed=0):
    """Random float64 parameters (a nonzero bias too); the static fields (rates) are kept."""
    rs = np.random.RandomState(seed)
    return fnflow.tree_util.tree_map(lambda p: rs.uniform(-0.6, 0.6, np.shape(p)), layer)


def data(seed=1):
    return np.random.RandomState(seed).randn(B, T, F)


def per_gate(m, g, shape):
    if m is None:
        return [np.ones(shape)] * g
    m = np.asarray(m)
    return [m] * g if m.ndim == 2 else [m[i] for i in range(g)]


def ref(layer, x, in_m, rec_m, go_backwards=False):
    """Keras's formulas with the given masks, held for every step: (outputs, final states)."""
    k, rk = np.asarray(layer.kernel), np.asarray(layer.recurrent_kernel)
    bias = None if layer.bias is None else np.asarray(layer.bias)
    g = {nn.SimpleRNN: 1, nn.LSTM: 4, nn.GRU: 3}[type(layer)]
    mi, mr = per_gate(in_m, g, (B, F)), per_gate(rec_m, g, (B, U))
    ks, rks = np.split(k, g, 1), np.split(rk, g, 1)
    reset_after = getattr(layer, "reset_after", False)
    if bias is None:
        bi, br = [0.0] * g, [0.0] * g
    elif reset_after:
        bi, br = np.split(bias[0], g), np.split(bias[1], g)
    else:
        bi, br = np.split(bias, g), [0.0] * g
    h, c = np.zeros((B, U)), np.zeros((B, U))
    outs = []
    steps = range(T - 1, -1, -1) if go_backwards else range(T)
    for t in steps:
        xp = [(x[:, t] * mi[j]) @ ks[j] + bi[j] for j in range(g)]
        hp = [(h * mr[j]) for j in range(g)]
        if g == 1:
            h = np.tanh(xp[0] + hp[0] @ rks[0])
        elif g == 4:
            i, f, o = (sig(xp[j] + hp[j] @ rks[j]) for j in (0, 1, 3))
            c = f * c + i * np.tanh(xp[2] + hp[2] @ rks[2])
            h = o * np.tanh(c)
        else:
            z = sig(xp[0] + hp[0] @ rks[0] + br[0])
            r = sig(xp[1] + hp[1] @ rks[1] + br[1])
            rec_h = r * (hp[2] @ rks[2] + br[2]) if reset_after else (r * hp[2]) @ rks[2]
            h = z * h + (1 - z) * np.tanh(xp[2] + rec_h)  # the unmasked state
        outs.append(h)
    return np.stack(outs, 1), ((h, c) if g == 4 else (h,))


LAYERS = {
    "simple": lambda **kw: nn.SimpleRNN.init(fr.key(0), F, U, **kw),
    "lstm": lambda **kw: nn.LSTM.init(fr.key(0), F, U, **kw),
    "gru": lambda **kw: nn.GRU.init(fr.key(0), F, U, **kw),
    "gru_ra_false": lambda **kw: nn.GRU.init(fr.key(0), F, U, reset_after=False, **kw),
}
RATES = [(0.25, 0.4), (0.0, 0.4), (0.3, 0.0)]


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("rates", RATES, ids=str)
@pytest.mark.parametrize("name", list(LAYERS))
def test_matches_keras_formulas_with_the_keys_masks(name, rates, go_backwards):
    layer = randomize(LAYERS[name](dropout=rates[0], recurrent_dropout=rates[1], return_sequences=True,
                                   return_state=True, go_backwards=go_backwards))
    x = data()
    out, *states = layer(x, key=KEY, training=True)
    in_m, rec_m = layer.dropout_masks(KEY, B, F, np.float64)
    assert (in_m is None) == (rates[0] == 0) and (rec_m is None) == (rates[1] == 0)
    ref_out, ref_states = ref(layer, x, in_m, rec_m, go_backwards)
    np.testing.assert_allclose(np.asarray(out), ref_out, **TOL)
    for s, r in zip(states, ref_states):
        np.testing.assert_allclose(np.asarray(s), r, **TOL)


@pytest.mark.parametrize("name", list(LAYERS))
def test_masks_come_from_the_key(name):
    layer = LAYERS[name](dropout=0.3, recurrent_dropout=0.5)
    in_m, rec_m = layer.dropout_masks(KEY, B)
    g = {"simple": 1, "lstm": 4}.get(name, 3)
    lead = (g,) if g > 1 else ()
    assert layer.per_gate == (g > 1)
    assert in_m.shape == lead + (B, F) and rec_m.shape == lead + (B, U)
    # the documented contract: fnflow.random.dropout_mask on split(key), scaled by 1 / (1 - rate)
    k_in, k_rec = fr.split(KEY)
    np.testing.assert_allclose(np.asarray(in_m), np.asarray(fr.dropout_mask(k_in, 0.3, lead + (B, F))) / 0.7,
                               rtol=1e-6)
    np.testing.assert_allclose(np.asarray(rec_m), np.asarray(fr.dropout_mask(k_rec, 0.5, lead + (B, U))) / 0.5,
                               rtol=1e-6)
    if g > 1:  # one independent mask per gate
        big_in, big_rec = layer.dropout_masks(KEY, 16)
        for m in (big_in, big_rec):
            assert all(not np.array_equal(np.asarray(m[0]), np.asarray(m[i])) for i in range(1, g))


def test_lstm_gru_without_recurrent_dropout_share_one_input_mask():
    for layer in (LAYERS["lstm"](dropout=0.3), LAYERS["gru"](dropout=0.3)):
        assert not layer.per_gate
        in_m, rec_m = layer.dropout_masks(KEY, B)
        assert in_m.shape == (B, F) and rec_m is None


@pytest.mark.parametrize("name", list(LAYERS))
def test_same_key_same_output_other_key_other_output(name):
    layer = randomize(LAYERS[name](dropout=0.3, recurrent_dropout=0.3))
    x = data()
    a = np.asarray(layer(x, key=KEY, training=True))
    np.testing.assert_array_equal(a, np.asarray(layer(x, key=KEY, training=True)))
    assert not np.allclose(a, np.asarray(layer(x, key=fr.key(7), training=True)))


@pytest.mark.parametrize("name", list(LAYERS))
def test_inference_is_the_no_dropout_layer(name):
    layer = randomize(LAYERS[name](dropout=0.3, recurrent_dropout=0.3))
    plain = attrs.evolve(layer, dropout=0.0, recurrent_dropout=0.0)
    x = data()
    np.testing.assert_array_equal(np.asarray(layer(x)), np.asarray(plain(x)))
    np.testing.assert_array_equal(np.asarray(layer(x, key=KEY, training=False)), np.asarray(plain(x)))
    # without rates, training=True needs no key
    np.testing.assert_array_equal(np.asarray(plain(x, training=True)), np.asarray(plain(x)))


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_blend_keeps_the_unmasked_state(reset_after, monkeypatch):
    # every recurrent product sees h * 0; the blend z * h + (1 - z) * hh must still use h
    layer = randomize(nn.GRU.init(fr.key(0), F, U, reset_after=reset_after, recurrent_dropout=0.5,
                                  return_sequences=True))
    zeros = np.zeros((3, B, U))
    monkeypatch.setattr(nn.GRU, "dropout_masks", lambda self, key, batch, features=None, dtype=None: (None, zeros))
    x = data()
    y = np.asarray(layer(x, key=KEY, training=True))
    np.testing.assert_allclose(y, ref(layer, x, None, zeros)[0], **TOL)
    # with h * 0 in every recurrent product, z_t and hh_t depend on x_t only: y_t = z_t y_{t-1} + (1 - z_t) hh_t,
    # while masking the state itself would give (1 - z_t) hh_t
    k, b = np.asarray(layer.kernel), np.asarray(layer.bias)
    bi, br = (b[0], b[1]) if reset_after else (b, np.zeros(3 * U))
    p = x @ k + bi
    z = sig(p[..., :U] + br[:U])
    r = sig(p[..., U:2 * U] + br[U:2 * U])
    hh = np.tanh(p[..., 2 * U:] + (r * br[2 * U:] if reset_after else 0.0))
    np.testing.assert_allclose(y[:, 0], (1 - z[:, 0]) * hh[:, 0], **TOL)
    np.testing.assert_allclose(y[:, 1], z[:, 1] * y[:, 0] + (1 - z[:, 1]) * hh[:, 1], **TOL)
    assert not np.allclose(y[:, 1], (1 - z[:, 1]) * hh[:, 1], atol=1e-3)


def test_rate_validation_and_missing_key():
    for kw in ({"dropout": 1.0}, {"dropout": -0.1}, {"recurrent_dropout": 1.5}):
        with pytest.raises(ValueError, match=r"in \[0, 1\)"):
            LAYERS["lstm"](**kw)
    with pytest.raises(ValueError, match="recurrent_dropout must be a rate"):
        attrs.evolve(LAYERS["gru"](), recurrent_dropout=1.0)
    layer = LAYERS["gru"](recurrent_dropout=0.2)
    with pytest.raises(ValueError, match="needs a random key"):
        layer(data(), training=True)
    assert layer.stochastic and not LAYERS["gru"]().stochastic


def test_sequential_passes_key_and_training():
    rnn = randomize(LAYERS["lstm"](dropout=0.2, recurrent_dropout=0.3, return_sequences=True))
    dense = nn.Dense.init(fr.key(3), U, 2, dtype=np.float64)
    model = nn.Sequential([rnn, dense])
    assert model.stochastic
    x = data()
    y = np.asarray(model(x, key=KEY, training=True))
    want = np.asarray(dense(rnn(x, key=fr.fold_in(KEY, 0), training=True)))
    np.testing.assert_allclose(y, want, **TOL)
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(dense(rnn(x))), **TOL)


@pytest.mark.parametrize("name", list(LAYERS))
def test_dropout_path_contract(name, tmp_path):
    # check_grads (fwd and rev, w.r.t. parameters and input), jit, vmap, checkpoint, a training step,
    # all with a fixed key
    layer = LAYERS[name](dropout=0.25, recurrent_dropout=0.3, return_sequences=True)

    def call(lay, x):
        return lay(x, key=KEY, training=True)

    run_layer_test(layer, data().astype(np.float32), call=call, output_shape=(B, T, U), tmp_path=tmp_path,
                   atol=1e-5, rtol=1e-5)
