"""Stateful RNNs (``stateful=True``): the last states of one batch start the next one.

The reference is always the same layer without ``stateful`` (sharing the weights)
run on the whole sequence: a stateful layer called on consecutive chunks must give
the same outputs and states. The Keras numbers (literals below) come from real
Keras 3.15.1 on JAX, run by hand; ``fixtures/keras315_stateful_lstm.keras`` was
written by ``fixtures/make_stateful_rnn_fixture.py`` there.
"""

import io
import os
import zipfile

import h5py
import numpy as np
import pytest

import fnflow
import fnflow_keras as keras
from fnflow_keras import layers

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
RNNS = [layers.LSTM, layers.GRU, layers.SimpleRNN]
TOL = {"rtol": 1e-5, "atol": 1e-6}


@pytest.fixture(autouse=True)
def fresh_names():
    """Default layer names start over (``lstm``, not ``lstm_15``) here and in the test files run after this one."""
    keras.backend.clear_session()
    yield
    keras.backend.clear_session()


def data(shape, seed=0):
    return np.random.RandomState(seed).randn(*shape).astype("float32")


def set_uniform_weights(layer):
    """Deterministic weights (the same in the real-Keras runs that gave the literals)."""
    layer.set_weights([np.random.RandomState(1 + i).uniform(-0.5, 0.5, w.shape).astype("float32")
                       for i, w in enumerate(layer.get_weights())])


def pair(cls, batch, steps, features, units=4, **kwargs):
    """A built stateful layer and a non-stateful copy with the same weights."""
    stateful = cls(units, stateful=True, return_sequences=True, **kwargs)
    stateful(keras.Input(batch_shape=(batch, steps, features)))
    set_uniform_weights(stateful)
    plain = cls(units, return_sequences=True, return_state=True, **kwargs)
    plain.build((batch, None, features))
    plain.set_weights(stateful.get_weights())
    return stateful, plain


def states_of(layer):
    return [np.asarray(v.numpy()) for v in layer.states]


# ---------------------------------------------------------------- chunks equal the whole sequence


@pytest.mark.parametrize("cls", RNNS)
def test_consecutive_halves_equal_whole_sequence(cls):
    x = data((3, 8, 5))
    stateful, plain = pair(cls, 3, 4, 5)
    y1 = np.asarray(stateful(x[:, :4]))
    y2 = np.asarray(stateful(x[:, 4:]))
    ref, *ref_states = plain(x)
    np.testing.assert_allclose(np.concatenate([y1, y2], axis=1), np.asarray(ref), **TOL)
    for s, r in zip(states_of(stateful), ref_states):
        np.testing.assert_allclose(s, np.asarray(r), **TOL)


@pytest.mark.parametrize("cls", [layers.LSTM, layers.GRU])
def test_go_backwards_chunks_in_reverse_order(cls):
    # go_backwards reads a chunk from its end: the later half first, then the earlier one
    x = data((2, 6, 3))
    stateful, plain = pair(cls, 2, 3, 3, go_backwards=True)
    stateful(x[:, 3:])
    stateful(x[:, :3])
    _, *ref_states = plain(x)
    for s, r in zip(states_of(stateful), ref_states):
        np.testing.assert_allclose(s, np.asarray(r), **TOL)


@pytest.mark.parametrize("cls", [layers.LSTM, layers.GRU])
def test_masked_steps_keep_the_state_across_chunks(cls):
    x = data((2, 6, 3))
    mask = np.array([[1, 1, 0, 1, 0, 1], [1, 0, 1, 1, 1, 0]], bool)
    stateful, plain = pair(cls, 2, 3, 3)
    y1 = np.asarray(stateful(x[:, :3], mask=mask[:, :3]))
    y2 = np.asarray(stateful(x[:, 3:], mask=mask[:, 3:]))
    ref, *ref_states = plain(x, mask=mask)
    for s, r in zip(states_of(stateful), ref_states):
        np.testing.assert_allclose(s, np.asarray(r), **TOL)
    # the state at the end of a chunk is the one of its last unmasked step
    np.testing.assert_allclose(y2[:, -1], np.asarray(ref)[:, -1], **TOL)
    np.testing.assert_allclose(y1[0, -1], y1[0, 1], **TOL)  # step 2 masked for sample 0: output repeats


def test_return_state_returns_the_kept_states():
    x = data((2, 4, 3))
    layer = layers.LSTM(4, stateful=True, return_state=True)
    layer(keras.Input(batch_shape=(2, 4, 3)))
    out, h, c = layer(x)
    np.testing.assert_allclose(np.asarray(h), states_of(layer)[0])
    np.testing.assert_allclose(np.asarray(c), states_of(layer)[1])
    np.testing.assert_allclose(np.asarray(out), np.asarray(h))


def test_explicit_initial_state_wins_and_is_carried_on():
    x = data((2, 6, 3))
    stateful, plain = pair(layers.GRU, 2, 3, 3)
    h0 = data((2, 4), seed=5)
    stateful(x[:, :3], initial_state=[h0])
    stateful(x[:, 3:])
    _, ref_h = plain(x, initial_state=[h0])
    np.testing.assert_allclose(states_of(stateful)[0], np.asarray(ref_h), **TOL)


def test_matches_real_keras_numbers():
    # real Keras 3.15.1 (JAX): the same weights, layer(x[:, :3]); layer(x[:, 3:]); layer.states[0] (h)
    x = data((2, 6, 3))
    keras_h = {
        layers.LSTM: [[-0.104135, 0.279249, -0.126186, -0.08745], [-0.234063, -0.013717, -0.318625, -0.094455]],
        layers.GRU: [[-0.274162, 0.337623, -0.605247, 0.007333], [-0.450713, 0.002192, -0.470652, -0.205966]],
        layers.SimpleRNN: [[-0.35166, -0.242649, -0.773468, -0.292509], [0.404632, -0.198994, 0.664802, 0.41377]],
    }
    for cls, expected in keras_h.items():
        layer = cls(4, stateful=True, return_sequences=True)
        layer(keras.Input(batch_shape=(2, 3, 3)))
        set_uniform_weights(layer)
        layer(x[:, :3])
        y = np.asarray(layer(x[:, 3:]))
        np.testing.assert_allclose(states_of(layer)[0], expected, atol=2e-6)
        np.testing.assert_allclose(y[:, -1], expected, atol=2e-6)


# ---------------------------------------------------------------- variables and reset


def test_states_are_non_trainable_variables_but_not_weights():
    # Keras 3: layer.states are Variables named rnn_state; weights / get_weights / files leave them out
    layer = layers.LSTM(4, stateful=True, name="lstm")
    layer(keras.Input(batch_shape=(2, 3, 3)))
    assert [v.path for v in layer.states] == ["lstm/rnn_state", "lstm/rnn_state"]
    assert [v.shape for v in layer.states] == [(2, 4), (2, 4)]
    assert [w.path for w in layer.weights] == ["lstm/lstm_cell/kernel", "lstm/lstm_cell/recurrent_kernel",
                                               "lstm/lstm_cell/bias"]
    assert layer.non_trainable_weights == [] and len(layer.get_weights()) == 3
    assert layer.count_params() == 4 * 4 * (3 + 4 + 1)
    assert all(any(s is v for v in layer.non_trainable_variables) for s in layer.states)
    assert layers.LSTM(4).states is None


@pytest.mark.parametrize("cls", RNNS)
def test_reset_state_zeroes(cls):
    x = data((2, 3, 3))
    layer = cls(4, stateful=True)
    layer(keras.Input(batch_shape=(2, 3, 3)))
    first = np.asarray(layer(x))
    layer(x)
    assert all(np.abs(s).max() > 0 for s in states_of(layer))
    layer.reset_state()
    assert all(np.all(s == 0) for s in states_of(layer))
    np.testing.assert_allclose(np.asarray(layer(x)), first, **TOL)  # starts over from zeros
    layer.reset_states()  # Keras's alias
    assert all(np.all(s == 0) for s in states_of(layer))


def test_reset_states_to_given_values_and_rebuild_resets():
    layer = layers.GRU(4, stateful=True)
    layer(keras.Input(batch_shape=(2, 3, 3)))
    h = data((2, 4))
    layer.reset_states(states=[h])  # Keras 2's argument
    np.testing.assert_allclose(states_of(layer)[0], h)
    layer.build((2, 3, 3))  # Keras: building again resets the states
    assert np.all(states_of(layer)[0] == 0)
    layers.LSTM(2).reset_state()  # not stateful: a no-op, as in Keras


# ---------------------------------------------------------------- batch size errors


def test_missing_batch_size_is_a_clear_error():
    with pytest.raises(ValueError, match=r"'my_lstm' \(LSTM\) has `stateful=True`.*fixed batch size"):
        layers.LSTM(4, stateful=True, name="my_lstm")(keras.Input((3, 3)))
    with pytest.raises(ValueError, match=r"batch_size"):
        keras.Sequential([keras.Input((3, 3)), layers.GRU(4, stateful=True)])


def test_wrong_batch_size_is_a_clear_error():
    layer = layers.SimpleRNN(4, stateful=True, name="srnn")
    model = keras.Sequential([keras.Input(batch_shape=(2, 3, 3)), layer])
    with pytest.raises(ValueError, match=r"'srnn'.*Expected batch size: 2, received batch size: 3"):
        layer(data((3, 3, 3)))
    with pytest.raises(ValueError, match="Expected batch size: 2"):
        model.predict(data((3, 3, 3)), batch_size=3, verbose=0)


def test_sequential_batch_input_shape_and_batch_size_kwargs():
    for kw in ({"batch_input_shape": (2, 3, 3)}, {"batch_size": 2, "input_shape": (3, 3)}):
        model = keras.Sequential([layers.GRU(4, stateful=True, **kw)])
        assert [v.shape for v in model.layers[0].states] == [(2, 4)]


# ---------------------------------------------------------------- trainer: fit / evaluate / predict / *_on_batch


def stateful_model(units=4, lr=0.0):
    inp = keras.Input(batch_shape=(2, 3, 3))
    rnn = layers.LSTM(units, stateful=True, return_sequences=True, name="lstm")
    dense = layers.Dense(2, name="dense")
    model = keras.Model(inp, dense(rnn(inp)))
    set_uniform_weights(rnn)
    set_uniform_weights(dense)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr), loss="mse")
    return model, rnn


def plain_copy(rnn):
    plain = layers.LSTM(rnn.units, return_sequences=True, return_state=True)
    plain.build((None, None, 3))
    plain.set_weights(rnn.get_weights())
    return plain


def concat_batches(x, batch, repeat=1):
    """Rows i, i+batch, ... of ``x`` chained along time: what the stateful row i sees over the batches."""
    chunks = [x[j:j + batch] for j in range(0, len(x), batch)] * repeat
    return np.concatenate(chunks, axis=1)


def test_fit_carries_state_across_batches_and_epochs():
    # learning rate 0: the weights stay, so the state after fit is a plain run over the chained batches
    model, rnn = stateful_model()
    x, y = data((6, 3, 3)), data((6, 3, 2), seed=1)
    model.fit(x, y, batch_size=2, epochs=2, shuffle=False, verbose=0)
    _, h, c = plain_copy(rnn)(concat_batches(x, 2, repeat=2))  # Keras 3 does not reset between epochs
    np.testing.assert_allclose(states_of(rnn)[0], np.asarray(h), **TOL)
    np.testing.assert_allclose(states_of(rnn)[1], np.asarray(c), **TOL)


def test_fit_equals_train_on_batch_loop_with_learning():
    x, y = data((6, 3, 3)), data((6, 3, 2), seed=1)
    model_a, rnn_a = stateful_model(lr=0.1)
    model_b, rnn_b = stateful_model(lr=0.1)
    model_a.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0)
    for j in range(0, 6, 2):
        model_b.train_on_batch(x[j:j + 2], y[j:j + 2])
    for a, b in zip(model_a.variables, model_b.variables):  # the weights and the states
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    assert np.abs(states_of(rnn_a)[0]).max() > 0


def test_evaluate_and_test_on_batch_carry_state():
    x, y = data((6, 3, 3)), data((6, 3, 2), seed=1)
    model, rnn = stateful_model()
    model.evaluate(x, y, batch_size=2, verbose=0)
    _, h, _ = plain_copy(rnn)(concat_batches(x, 2))
    np.testing.assert_allclose(states_of(rnn)[0], np.asarray(h), **TOL)
    rnn.reset_state()
    model.test_on_batch(x[:2], y[:2])
    model.test_on_batch(x[2:4], y[2:4])
    _, h, _ = plain_copy(rnn)(np.concatenate([x[:2], x[2:4]], axis=1))
    np.testing.assert_allclose(states_of(rnn)[0], np.asarray(h), **TOL)


def test_predict_on_batches_carries_state():
    x = data((6, 3, 3))
    model, rnn = stateful_model()
    out = model.predict(x, batch_size=2, verbose=0)
    seq, h, _ = plain_copy(rnn)(concat_batches(x, 2))
    dense = model.get_layer("dense")
    expected = np.asarray(dense(seq))  # (2, 9, 2): batch k is time steps 3k..3k+2
    got = np.concatenate([out[j:j + 2] for j in range(0, 6, 2)], axis=1)
    np.testing.assert_allclose(got, expected, **TOL)
    np.testing.assert_allclose(states_of(rnn)[0], np.asarray(h), **TOL)
    rnn.reset_state()
    a = model.predict_on_batch(x[:2])
    b = model.predict_on_batch(x[2:4])
    np.testing.assert_allclose(np.concatenate([a, b], axis=1), expected[:, :6], **TOL)


def test_direct_model_calls_carry_state_and_stateless_call_returns_it():
    x = data((2, 6, 3))
    model, rnn = stateful_model()
    model(x[:, :3])
    second = np.asarray(model(x[:, 3:]))
    rnn.reset_state()
    tv = [v.value for v in model.trainable_variables]
    ntv = [v.value for v in model.non_trainable_variables]
    out1, ntv = model.stateless_call(tv, ntv, x[:, :3])
    out2, ntv = model.stateless_call(tv, ntv, x[:, 3:])
    np.testing.assert_allclose(np.asarray(out2), second, **TOL)
    assert np.all(states_of(rnn)[0] == 0)  # the pure call left the variables alone


def test_model_apply_threads_the_states_under_jit():
    x = data((2, 6, 3))
    model, rnn = stateful_model()
    model(x[:, :3])
    second = np.asarray(model(x[:, 3:]))
    rnn.reset_state()
    step = fnflow.jit(lambda p, s, xb: model.apply(p, s, xb))
    params, state = model.params, model.state
    _, state = step(params, state, x[:, :3])
    out, state = step(params, state, x[:, 3:])
    np.testing.assert_allclose(np.asarray(out), second, **TOL)


# ---------------------------------------------------------------- Bidirectional


def test_bidirectional_stateful():
    x = data((2, 6, 3))
    bi = layers.Bidirectional(layers.GRU(4, stateful=True, return_state=True))
    bi(keras.Input(batch_shape=(2, 3, 3)))
    assert bi.stateful and len(bi.states) == 2 and len(bi.weights) == 6
    bi(x[:, :3])
    _, h_fw, h_bw = bi(x[:, 3:])
    np.testing.assert_allclose(np.asarray(h_fw), np.asarray(bi.forward_layer.states[0].numpy()))
    np.testing.assert_allclose(np.asarray(h_bw), np.asarray(bi.backward_layer.states[0].numpy()))
    fw = layers.GRU(4, return_state=True)
    fw.build((2, None, 3))
    fw.set_weights(bi.forward_layer.get_weights())
    np.testing.assert_allclose(np.asarray(h_fw), np.asarray(fw(x)[1]), **TOL)
    bi.reset_state()
    assert all(np.all(np.asarray(s.numpy()) == 0) for s in bi.states)
    with pytest.raises(AttributeError, match="must be stateful"):
        layers.Bidirectional(layers.GRU(2)).reset_states()


# ---------------------------------------------------------------- saving


def test_keras_file_round_trip_keeps_config_and_not_states(tmp_path):
    x = data((2, 6, 3))
    model, rnn = stateful_model()
    model(x[:, :3])
    path = str(tmp_path / "m.keras")
    model.save(path)
    with zipfile.ZipFile(path) as z:
        # the states are not in the weights file (Keras's layout: layers/lstm/vars is empty)
        with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
            assert len(f["layers/lstm/vars"]) == 0 and len(f["layers/lstm/cell/vars"]) == 3
    loaded = keras.models.load_model(path)
    lrnn = loaded.get_layer("lstm")
    assert lrnn.get_config()["stateful"] is True
    assert all(np.all(s == 0) for s in states_of(lrnn))
    for a, b in zip(loaded.trainable_weights, model.trainable_weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    rnn.reset_state()
    np.testing.assert_allclose(np.asarray(loaded(x[:, :3])), np.asarray(model(x[:, :3])), **TOL)
    wpath = str(tmp_path / "m.weights.h5")
    model.save_weights(wpath)
    loaded.load_weights(wpath)


def test_loads_a_real_keras_stateful_model():
    model = keras.models.load_model(os.path.join(FIXTURES, "keras315_stateful_lstm.keras"))
    rnn = model.get_layer("lstm")
    assert rnn.stateful and [v.shape for v in rnn.states] == [(2, 4), (2, 4)]
    x = data((2, 6, 3))
    model.predict_on_batch(x[:, :3])
    out = model.predict_on_batch(x[:, 3:])
    # real Keras 3.15.1: model(x[:, :3]); model(x[:, 3:])[:, -1] on the loaded file
    np.testing.assert_allclose(out[:, -1], [[-0.122946, -0.487269], [0.10446, -0.378454]], atol=2e-6)


def test_model_weights_and_summary_leave_the_states_out():
    inputs = keras.Input(batch_shape=(2, 5, 3))
    model = keras.Model(inputs, keras.layers.Bidirectional(keras.layers.GRU(4, stateful=True))(inputs))
    per_gru = 3 * 12 + 4 * 12 + 2 * 12  # kernel, recurrent kernel, Keras's reset_after bias (2, 12)
    assert len(model.weights) == 6 and sum(w.numpy().size for w in model.weights) == 2 * per_gru
    assert model.non_trainable_weights == [] and len(model.get_weights()) == 6
    lines = []
    model.summary(print_fn=lines.append)
    assert any("Non-trainable params: 0" in ln for ln in lines)


def test_sequential_built_by_a_first_call_records_its_batch_size():
    model = keras.Sequential([keras.layers.LSTM(4, stateful=True)])
    x = np.ones((2, 5, 3), "float32")
    first = np.asarray(model(x))
    assert model.inputs[0].shape == (2, 5, 3)  # as Keras 3: the first call's batch size
    assert not np.allclose(np.asarray(model(x)), first)  # the state carried over
