"""Keras 3 masking: Embedding(mask_zero) / Masking masks flow through layers, RNNs skip masked steps."""

import numpy as np
import pytest

import fnflow_keras as keras
from fnflow_keras.utils.masking import get_keras_mask

X = np.array([[3, 5, 2, 0, 0], [1, 2, 3, 4, 6], [4, 0, 0, 0, 0]], np.int32)
LENGTHS = [3, 5, 1]


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _numpy_lstm(x, kernel, recurrent, bias):
    """Keras's LSTM (gates i, f, c, o) over one unpadded sequence ``(time, features)``: all outputs."""
    u = recurrent.shape[0]
    h, c, outs = np.zeros(u), np.zeros(u), []
    for xt in x:
        z = xt @ kernel + h @ recurrent + bias
        i, f, g, o = _sigmoid(z[:u]), _sigmoid(z[u:2 * u]), np.tanh(z[2 * u:3 * u]), _sigmoid(z[3 * u:])
        c = f * c + i * g
        h = o * np.tanh(c)
        outs.append(h)
    return np.array(outs)


def test_embedding_mask_eager_and_symbolic():
    keras.backend.clear_session()
    emb = keras.layers.Embedding(10, 4, mask_zero=True)
    assert emb.supports_masking and not keras.layers.Embedding(10, 4).supports_masking
    out = emb(X)
    np.testing.assert_array_equal(np.asarray(get_keras_mask(out)), X != 0)
    np.testing.assert_array_equal(np.asarray(emb.compute_mask(X)), X != 0)
    # a pass-through layer keeps the mask, a non-masking one drops it
    np.testing.assert_array_equal(np.asarray(get_keras_mask(keras.layers.Dense(2)(out))), X != 0)
    assert get_keras_mask(keras.layers.Flatten()(out)) is None
    inp = keras.Input((5,), dtype="int32")
    h = emb(inp)
    assert h._keras_mask.shape == (None, 5) and h._keras_mask.dtype == "bool"
    seq = keras.layers.LSTM(3, return_sequences=True)(h)
    assert seq._keras_mask.shape == (None, 5)
    assert get_keras_mask(keras.layers.LSTM(3)(h)) is None


@pytest.mark.parametrize("return_sequences", [False, True])
def test_lstm_with_mask_equals_lstm_over_unpadded_sequences(return_sequences):
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    emb = keras.layers.Embedding(10, 4, mask_zero=True)
    lstm = keras.layers.LSTM(3, return_sequences=return_sequences)
    inp = keras.Input((5,), dtype="int32")
    model = keras.Model(inp, lstm(emb(inp)))
    got = np.asarray(model.predict(X, verbose=0))
    table = emb.embeddings.numpy()
    kernel, recurrent, bias = (w.numpy().astype(np.float64) for w in lstm.weights)
    for b, n in enumerate(LENGTHS):
        want = _numpy_lstm(table[X[b, :n]].astype(np.float64), kernel, recurrent, bias)
        if return_sequences:
            # Keras: a masked step repeats the previous output
            want = np.concatenate([want, np.repeat(want[-1:], 5 - n, axis=0)])
            np.testing.assert_allclose(got[b], want, rtol=1e-5, atol=1e-6)
        else:
            np.testing.assert_allclose(got[b], want[-1], rtol=1e-5, atol=1e-6)
        # eager call on the unpadded sequence agrees
        alone = np.asarray(lstm(emb(X[b:b + 1, :n])))
        np.testing.assert_allclose(alone[0, -1] if return_sequences else alone[0], want[n - 1], rtol=1e-5,
                                   atol=1e-6)


@pytest.mark.parametrize("cls", [keras.layers.SimpleRNN, keras.layers.GRU])
def test_sequential_masking_layer_and_bidirectional_rnn(cls):
    keras.backend.clear_session()
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 5, 2)).astype(np.float32)
    for b, n in enumerate(LENGTHS):
        x[b, n:] = 0.0
    rnn = keras.layers.Bidirectional(cls(3))
    model = keras.Sequential([keras.Input((5, 2)), keras.layers.Masking(0.0), rnn])
    got = np.asarray(model.predict(x, verbose=0))
    for b, n in enumerate(LENGTHS):
        alone = np.asarray(rnn(x[b:b + 1, :n]))  # no padding, no mask
        np.testing.assert_allclose(got[b], alone[0], rtol=1e-5, atol=1e-6)
    masking = keras.layers.Masking(mask_value=0.0)
    out = masking(x)
    np.testing.assert_array_equal(np.asarray(get_keras_mask(out)), np.arange(5)[None] < np.array(LENGTHS)[:, None])
    assert masking.get_config()["mask_value"] == 0.0


def test_zero_output_for_mask_and_go_backwards():
    keras.backend.clear_session()
    keras.utils.set_random_seed(2)
    emb = keras.layers.Embedding(10, 2, mask_zero=True)
    e = emb(X)
    rnn = keras.layers.SimpleRNN(2, return_sequences=True, zero_output_for_mask=True)
    out = np.asarray(rnn(e))
    assert np.all(out[0, 3:] == 0) and np.all(out[2, 1:] == 0) and np.all(out[0, :3] != 0)
    back = keras.layers.SimpleRNN(2, go_backwards=True)
    last = np.asarray(back(e))
    # backwards over [x0, x1, x2, pad, pad]: the padded steps come first and leave the zero state alone
    np.testing.assert_allclose(last[0], np.asarray(back(emb(X[:1, :3])))[0], rtol=1e-5, atol=1e-6)


def test_global_average_pooling_1d_honours_the_mask():
    keras.backend.clear_session()
    emb = keras.layers.Embedding(10, 3, mask_zero=True)
    e = emb(X)
    pooled = np.asarray(keras.layers.GlobalAveragePooling1D()(e))
    table = emb.embeddings.numpy()
    for b, n in enumerate(LENGTHS):
        np.testing.assert_allclose(pooled[b], table[X[b, :n]].mean(axis=0), rtol=1e-6)
    assert get_keras_mask(keras.layers.GlobalAveragePooling1D()(e)) is None
    assert keras.layers.GlobalAveragePooling1D().supports_masking


def test_merge_layers_combine_masks():
    keras.backend.clear_session()
    emb = keras.layers.Embedding(10, 2, mask_zero=True)
    a, b = emb(X), emb(X[:, ::-1].copy())
    np.testing.assert_array_equal(np.asarray(get_keras_mask(keras.layers.Add()([a, b]))), (X != 0) | (X[:, ::-1] != 0))
    cat = keras.layers.Concatenate(axis=1)([a, b])
    assert get_keras_mask(cat).shape == (3, 10)


def test_fit_and_evaluate_weigh_losses_and_metrics_by_the_output_mask():
    keras.backend.clear_session()
    y = np.arange(30, dtype=np.float32).reshape(3, 5, 2) / 30
    inp = keras.Input((5,), dtype="int32")
    h = keras.layers.Embedding(10, 4, mask_zero=True, embeddings_initializer="ones")(inp)
    out = keras.layers.SimpleRNN(2, return_sequences=True, kernel_initializer="ones",
                                 recurrent_initializer="zeros")(h)
    model = keras.Model(inp, out)
    model.compile("sgd", "mse", metrics=["mae"])
    pred = np.asarray(model.predict(X, verbose=0))
    valid = X != 0
    err = pred - y
    loss, mae = model.evaluate(X, y, verbose=0)
    np.testing.assert_allclose(loss, np.mean(np.mean(err ** 2, axis=-1)[valid]), rtol=1e-5)
    np.testing.assert_allclose(mae, np.mean(np.mean(np.abs(err), axis=-1)[valid]), rtol=1e-5)
    # real Keras 3.15 (JAX) gives the same two numbers for this model: [0.4448990, 0.6271070]
    np.testing.assert_allclose([loss, mae], [0.4448990, 0.6271070], rtol=1e-5)
    history = model.fit(X, y, epochs=1, verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], loss, rtol=1e-5)
