"""compile/fit/evaluate/predict: numerics of one step, real learning, data formats, no recompilation."""

import io
import sys

import numpy as np
import pytest

import fnflow_keras as keras
from fnflow.datasets import load_digits


def _dense_model(units=1, input_dim=3, activation=None, **kw):
    return keras.Sequential([keras.layers.Dense(units, activation=activation, input_shape=(input_dim,), **kw)])


def test_one_sgd_step_matches_numpy():
    model = _dense_model(2, 3)
    w = np.array([[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]], np.float32)
    b = np.array([0.05, -0.05], np.float32)
    model.set_weights([w, b])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0], [0.0, 1.0, -1.0], [2.0, -2.0, 1.0]], np.float32)
    y = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.5]], np.float32)
    hist = model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    pred = x @ w + b
    err = pred - y
    loss = np.mean(err ** 2)
    g = 2 * err / err.size
    w_new, b_new = w - 0.1 * x.T @ g, b - 0.1 * g.sum(0)
    np.testing.assert_allclose(hist.history["loss"][0], loss, rtol=1e-5)
    np.testing.assert_allclose(model.get_weights()[0], w_new, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], b_new, rtol=1e-5, atol=1e-6)
    assert int(model.optimizer.iterations.numpy()) == 1


def test_fit_learns_digits():
    (x_train, y_train), (x_test, y_test) = load_digits(return_split=True)
    x_train = x_train.reshape(len(x_train), -1)  # already scaled to [0, 1]
    x_test = x_test.reshape(len(x_test), -1)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Dense(32, activation="relu", input_shape=(64,)),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(x_train, y_train, epochs=5, batch_size=64, verbose=0)
    losses = hist.history["loss"]
    assert losses[-1] < 0.6 * losses[0]
    assert set(hist.history) == {"loss", "accuracy"}
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    assert acc > 0.8
    assert model.predict(x_test, verbose=0).shape == (len(x_test), 10)


def test_epoch_loss_is_mean_of_batches_weighted_by_size():
    model = _dense_model(1, 2)
    model.set_weights([np.array([[0.5], [-0.5]], np.float32), np.zeros(1, np.float32)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    x = np.arange(10, dtype=np.float32).reshape(5, 2)
    y = np.ones((5, 1), np.float32)
    hist = model.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0)
    pred = x @ np.array([[0.5], [-0.5]], np.float32)
    np.testing.assert_allclose(hist.history["loss"][0], np.mean((pred - y) ** 2), rtol=1e-5)


def test_partial_last_batch_does_not_retrace_each_epoch():
    model = _dense_model(1, 3)
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.rand(10, 3).astype("float32")
    y = np.random.rand(10, 1).astype("float32")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    first = model.train_function.trace_count
    assert first <= 2
    model.fit(x, y, batch_size=4, epochs=4, verbose=0)
    assert model.train_function.trace_count == first


def test_run_eagerly_gives_same_result_as_jit():
    x = np.random.RandomState(0).rand(8, 3).astype("float32")
    y = np.random.RandomState(1).rand(8, 1).astype("float32")
    weights = None
    results = []
    for eager in (False, True):
        model = _dense_model(1, 3)
        if weights is None:
            weights = model.get_weights()
        model.set_weights(weights)
        model.compile(optimizer="adam", loss="mse", run_eagerly=eager)
        model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_multi_input_multi_output_with_loss_weights():
    a = keras.Input(shape=(3,), name="a")
    b = keras.Input(shape=(2,), name="b")
    h = keras.layers.Concatenate()([a, b])
    out1 = keras.layers.Dense(1, name="reg")(h)
    out2 = keras.layers.Dense(3, activation="softmax", name="cls")(h)
    model = keras.Model(inputs=[a, b], outputs=[out1, out2])
    model.compile(optimizer="adam", loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
                  loss_weights={"reg": 2.0, "cls": 0.5}, metrics={"cls": ["accuracy"]})
    rng = np.random.RandomState(0)
    xa, xb = rng.rand(20, 3).astype("float32"), rng.rand(20, 2).astype("float32")
    y1, y2 = rng.rand(20, 1).astype("float32"), rng.randint(0, 3, 20)
    hist = model.fit([xa, xb], [y1, y2], batch_size=20, epochs=1, verbose=0)
    assert set(hist.history) == {"loss", "reg_loss", "cls_loss", "cls_accuracy"}
    total = 2.0 * hist.history["reg_loss"][0] + 0.5 * hist.history["cls_loss"][0]
    np.testing.assert_allclose(hist.history["loss"][0], total, rtol=1e-5)
    res = model.evaluate({"a": xa, "b": xb}, {"reg": y1, "cls": y2}, return_dict=True, verbose=0)
    assert set(res) == {"loss", "reg_loss", "cls_loss", "cls_accuracy"}
    p1, p2 = model.predict([xa, xb], batch_size=8, verbose=0)
    assert p1.shape == (20, 1) and p2.shape == (20, 3)


def test_validation_split_uses_last_samples():
    model = _dense_model(1, 2)
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.rand(10, 2).astype("float32")
    y = np.random.rand(10, 1).astype("float32")
    hist = model.fit(x, y, validation_split=0.2, epochs=2, batch_size=4, verbose=0)
    assert len(hist.history["val_loss"]) == 2
    np.testing.assert_allclose(hist.history["val_loss"][-1], model.evaluate(x[8:], y[8:], verbose=0), rtol=1e-5)


def test_sample_weight_and_class_weight():
    x = np.random.RandomState(0).rand(6, 2).astype("float32")
    y = np.array([0, 1, 0, 1, 1, 0], np.float32)
    w0 = None
    out = {}
    for kind in ("sw", "cw", "none"):
        model = _dense_model(1, 2, activation="sigmoid")
        w0 = w0 or model.get_weights()
        model.set_weights(w0)
        model.compile(optimizer=keras.optimizers.SGD(0.0), loss="binary_crossentropy")
        kw = {"sw": {"sample_weight": np.where(y == 1, 3.0, 1.0)}, "cw": {"class_weight": {0: 1.0, 1: 3.0}},
              "none": {}}[kind]
        out[kind] = model.fit(x, y, batch_size=6, epochs=1, verbose=0, **kw).history["loss"][0]
    np.testing.assert_allclose(out["sw"], out["cw"], rtol=1e-6)
    assert out["sw"] != pytest.approx(out["none"])


def test_generator_and_pydataset_inputs():
    rng = np.random.RandomState(0)

    def gen():
        while True:
            yield rng.rand(8, 2).astype("float32"), rng.randint(0, 2, (8, 1)).astype("float32")

    model = _dense_model(1, 2, activation="sigmoid")
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(gen(), steps_per_epoch=3, epochs=2, verbose=0)
    assert len(hist.history["loss"]) == 2

    base = getattr(keras.utils, "PyDataset", object) if _has_pydataset() else object

    class Batches(base):
        def __init__(self):
            if base is not object:
                super().__init__()
            self.epochs_ended = 0

        def __len__(self):
            return 3

        def __getitem__(self, i):
            r = np.random.RandomState(i)
            return r.rand(4, 2).astype("float32"), r.randint(0, 2, (4, 1)).astype("float32")

        def on_epoch_end(self):
            self.epochs_ended += 1

    ds = Batches()
    hist = model.fit(ds, epochs=2, verbose=0)
    assert ds.epochs_ended == 2
    assert isinstance(model.evaluate(ds, verbose=0), list)
    assert model.predict(ds, verbose=0).shape == (12, 1)


def _has_pydataset():
    try:
        keras.utils.PyDataset  # noqa: B018
        return True
    except (AttributeError, ImportError):
        return False


def test_evaluate_predict_shapes_and_on_batch():
    model = keras.Sequential([keras.layers.Dense(4, activation="softmax", input_shape=(3,))])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy", "mse"])
    x = np.random.rand(7, 3).astype("float32")
    y = np.eye(4, dtype="float32")[np.random.RandomState(0).randint(0, 4, 7)]
    res = model.evaluate(x, y, batch_size=3, verbose=0)
    assert isinstance(res, list) and len(res) == 3
    d = model.evaluate(x, y, return_dict=True, verbose=0)
    assert list(d) == ["accuracy", "loss", "mse"]
    assert model.predict(x, batch_size=2, verbose=0).shape == (7, 4)
    out = model.train_on_batch(x, y)
    assert len(out) == 3
    assert set(model.test_on_batch(x, y, return_dict=True)) == {"loss", "accuracy", "mse"}
    assert model.predict_on_batch(x).shape == (7, 4)


def test_accuracy_resolution():
    from fnflow_keras import metrics
    from fnflow_keras.trainers.compile_utils import get_metric

    z = np.zeros
    assert isinstance(get_metric("accuracy", z((4, 1)), z((4, 1))), metrics.BinaryAccuracy)
    assert isinstance(get_metric("acc", z((4,)), z((4, 5))), metrics.SparseCategoricalAccuracy)
    assert isinstance(get_metric("accuracy", z((4, 1)), z((4, 5))), metrics.SparseCategoricalAccuracy)
    assert isinstance(get_metric("accuracy", z((4, 5)), z((4, 5))), metrics.CategoricalAccuracy)
    assert get_metric("acc", z((4,)), z((4, 5))).name == "acc"


def test_set_random_seed_makes_training_reproducible():
    x = np.random.RandomState(0).rand(16, 4).astype("float32")
    y = np.random.RandomState(1).rand(16, 1).astype("float32")
    runs = []
    for _ in range(2):
        keras.backend.clear_session()
        keras.utils.set_random_seed(42)
        model = keras.Sequential([keras.layers.Dense(8, activation="relu", input_shape=(4,)),
                                  keras.layers.Dropout(0.5), keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        h = model.fit(x, y, batch_size=4, epochs=2, verbose=0)
        runs.append((h.history["loss"], model.get_weights()))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)


class _FakeTTY(io.StringIO):
    def isatty(self):
        return False


def test_progbar_output_on_non_tty(monkeypatch):
    out = _FakeTTY()
    monkeypatch.setattr(sys, "stdout", out)
    model = _dense_model(1, 2)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x = np.random.rand(64, 2).astype("float32")
    y = np.random.rand(64, 1).astype("float32")
    model.fit(x, y, batch_size=32, epochs=2, verbose=1)
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    import re

    num = r"-?\d\.\d{4}(e[-+]\d+)?"
    assert re.fullmatch(rf"2/2 ━{{20}} \d+s \d+(ms|us|s)/step - loss: {num} - mae: {num}", lines[1]), lines[1]
    out.truncate(0)
    out.seek(0)
    model.fit(x, y, batch_size=32, epochs=1, verbose=2)
    line = out.getvalue().strip()
    assert re.fullmatch(r"2/2 - \d+s - \d+(ms|us|s)/step - loss: \S+ - mae: \S+", line)


def test_progbar_keys_sorted_like_keras(monkeypatch):
    out = _FakeTTY()
    monkeypatch.setattr(sys, "stdout", out)
    model = _dense_model(1, 2, activation="sigmoid")
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    x = np.random.rand(8, 2).astype("float32")
    model.fit(x, np.ones((8, 1), "float32"), batch_size=8, epochs=1, verbose=1,
              validation_data=(x, np.ones((8, 1), "float32")))
    line = out.getvalue().splitlines()[-1]
    names = [part.split(":")[0] for part in line.split(" - ")[1:]]
    assert names == ["accuracy", "loss", "val_accuracy", "val_loss"]


def test_fit_generator_deprecated_alias():
    def gen():
        while True:
            yield np.ones((4, 2), "float32"), np.ones((4, 1), "float32")

    model = _dense_model(1, 2)
    model.compile(optimizer="sgd", loss="mse")
    with pytest.warns(DeprecationWarning):
        hist = model.fit_generator(gen(), steps_per_epoch=2, epochs=1, verbose=0)
    assert len(hist.history["loss"]) == 1


def test_errors():
    model = _dense_model(1, 2)
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(np.ones((2, 2)), np.ones((2, 1)), verbose=0)
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="cardinality"):
        model.fit(np.ones((3, 2)), np.ones((2, 1)), verbose=0)
    with pytest.raises(ValueError, match="Could not interpret optimizer"):
        model.compile(optimizer="nope", loss="mse")


def test_fit_walks_the_layers_once_per_epoch_not_per_step(monkeypatch):
    # the variable lists are resolved at the first step of an epoch; later steps only read the values
    from fnflow_keras.layers.layer import Layer

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    x = np.random.RandomState(0).rand(64, 3).astype("float32")
    y = np.random.RandomState(1).rand(64, 1).astype("float32")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    calls = []
    original = Layer._sublayers
    monkeypatch.setattr(Layer, "_sublayers", lambda self: calls.append(1) or original(self))
    counts = []
    for batch_size in (32, 4):  # 2 and 16 steps
        calls.clear()
        model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
        counts.append(len(calls))
    assert counts[0] == counts[1]
    assert model.train_function.trace_count == 3  # one per batch shape


def test_train_on_batch_after_recompile_uses_the_new_loss():
    model = _dense_model(1, 2)
    model.set_weights([np.array([[0.5], [-0.5]], np.float32), np.zeros(1, np.float32)])
    x, y = np.ones((4, 2), np.float32), np.full((4, 1), 2.0, np.float32)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    assert np.isclose(model.train_on_batch(x, y), 4.0)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mae")
    assert np.isclose(model.train_on_batch(x, y), 2.0)
    assert np.isclose(model.test_on_batch(x, y), 2.0)
