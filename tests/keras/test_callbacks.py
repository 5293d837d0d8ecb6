"""Callbacks: hooks order, History, EarlyStopping, checkpoints, LR schedules without retracing, weight edits."""

import csv

import numpy as np
import pytest

import fnflow_keras as keras
from fnflow_keras import callbacks as cb


def _model(lr=0.01, opt="sgd"):
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer=keras.optimizers.get({"sgd": keras.optimizers.SGD(lr),
                                                  "adam": keras.optimizers.Adam(lr)}[opt]),
                  loss="mse")
    return model


X = np.random.RandomState(0).rand(12, 2).astype("float32")
Y = (X @ np.array([[1.0], [-2.0]], np.float32) + 0.5).astype("float32")


def test_hooks_params_and_order():
    calls = []

    class Recorder(cb.Callback):
        def on_train_begin(self, logs=None):
            calls.append("train_begin")
            assert self.params == {"verbose": 0, "epochs": 2, "steps": 3}
            assert self.model is model

        def on_epoch_begin(self, epoch, logs=None):
            calls.append(f"epoch_begin {epoch}")

        def on_train_batch_begin(self, batch, logs=None):
            calls.append(f"batch_begin {batch}")

        def on_train_batch_end(self, batch, logs=None):
            calls.append(f"batch_end {batch}")
            assert set(logs) == {"loss"}

        def on_test_begin(self, logs=None):
            calls.append("test_begin")

        def on_test_end(self, logs=None):
            calls.append("test_end")

        def on_epoch_end(self, epoch, logs=None):
            calls.append(f"epoch_end {epoch}")
            assert set(logs) == {"loss", "val_loss"}

        def on_train_end(self, logs=None):
            calls.append("train_end")

    model = _model()
    model.fit(X, Y, batch_size=4, epochs=2, verbose=0, validation_data=(X, Y), callbacks=[Recorder()])
    epoch = ["batch_begin 0", "batch_end 0", "batch_begin 1", "batch_end 1", "batch_begin 2", "batch_end 2",
             "test_begin", "test_end"]
    assert calls == ["train_begin", "epoch_begin 0", *epoch, "epoch_end 0", "epoch_begin 1", *epoch,
                     "epoch_end 1", "train_end"]


def test_history_and_predict_hooks():
    model = _model()
    h = model.fit(X, Y, batch_size=4, epochs=3, verbose=0)
    assert isinstance(h, cb.History) and h.epoch == [0, 1, 2] and len(h.history["loss"]) == 3
    assert model.history is h
    seen = []
    model.predict(X, batch_size=5, verbose=0, callbacks=[cb.LambdaCallback(
        on_predict_batch_end=lambda batch, logs: seen.append(batch))])
    assert seen == [0, 1, 2]


def test_early_stopping_restores_best_weights():
    model = _model(lr=0.0)
    snapshots = []

    class Perturb(cb.Callback):
        """Make epoch 1 the best: a val metric that gets worse after it, recording the weights."""

        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = [3.0, 1.0, 2.0, 2.5, 2.7, 2.9][epoch]
            snapshots.append(model.get_weights())
            model.set_weights([w + 1.0 for w in model.get_weights()])

    es = cb.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    h = model.fit(X, Y, batch_size=4, epochs=6, verbose=0, callbacks=[Perturb(), es])
    assert len(h.history["loss"]) == 4 and es.stopped_epoch == 3 and es.best_epoch == 1
    for a, b in zip(model.get_weights(), snapshots[1]):
        np.testing.assert_allclose(a, b + 1.0)  # weights at the end of epoch 1 (after that epoch's edit)


def test_early_stopping_modes_baseline_and_start():
    model = _model(lr=0.0)  # a constant loss that never beats the baseline
    es = cb.EarlyStopping(monitor="loss", patience=0, baseline=0.0)
    h = model.fit(X, Y, batch_size=4, epochs=5, verbose=0, shuffle=False, callbacks=[es])  # same sums each epoch
    assert len(h.history["loss"]) == 2
    model = _model()
    model.set_weights([np.zeros((2, 1), np.float32), np.zeros(1, np.float32)])  # a loss that falls every epoch
    es = cb.EarlyStopping(monitor="loss", patience=0, mode="max", start_from_epoch=3)
    h = model.fit(X, Y, batch_size=4, epochs=6, verbose=0, shuffle=False, callbacks=[es])
    assert len(h.history["loss"]) == 5


def test_learning_rate_scheduler_changes_rate_without_retracing():
    model = _model(lr=0.1)
    rates = []
    sched = cb.LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5 ** epoch)
    rec = cb.LambdaCallback(on_epoch_end=lambda e, logs: rates.append(logs["learning_rate"]))
    model.fit(X, Y, batch_size=4, epochs=1, verbose=0, callbacks=[sched])
    traces = model.train_function.trace_count
    h = model.fit(X, Y, batch_size=4, epochs=4, verbose=0, callbacks=[sched, rec])
    np.testing.assert_allclose(rates, [0.1, 0.05, 0.025, 0.0125], rtol=1e-6)
    np.testing.assert_allclose(h.history["learning_rate"], rates, rtol=1e-6)
    assert model.train_function.trace_count == traces


def test_learning_rate_really_used_by_step():
    # lr 0 on the second epoch: the weights must not move during it
    model = _model(lr=0.1)
    before = model.get_weights()
    after = []
    sched = cb.LearningRateScheduler(lambda epoch: [0.1, 0.0][epoch])
    rec = cb.LambdaCallback(on_epoch_end=lambda e, logs: after.append(model.get_weights()))
    model.fit(X, Y, batch_size=4, epochs=2, verbose=0, callbacks=[sched, rec])
    for a, b in zip(*after):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(after[0][0], before[0])


def test_reduce_lr_on_plateau():
    model = _model(lr=0.1)
    fake = cb.LambdaCallback(on_epoch_end=lambda e, logs: logs.__setitem__("val_loss", 1.0))
    red = cb.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_lr=0.02)
    h = model.fit(X, Y, batch_size=4, epochs=5, verbose=0, callbacks=[fake, red])
    np.testing.assert_allclose(h.history["learning_rate"], [0.1, 0.1, 0.05, 0.025, 0.02], rtol=1e-6)
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.02, rtol=1e-6)


def test_callback_editing_weights_takes_effect_next_step():
    model = _model(lr=0.0)
    zero = [np.zeros_like(w) for w in model.get_weights()]

    class Zero(cb.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 0:
                self.model.set_weights(zero)

    losses = []
    model.fit(X, Y, batch_size=4, epochs=1, verbose=0, shuffle=False,
              callbacks=[Zero(), cb.LambdaCallback(on_train_batch_end=lambda b, logs: losses.append(logs["loss"]))])
    # batch 1's loss is computed with zero weights: mean(y^2) of that batch (running mean of 2 batches)
    expected_b1 = np.mean(Y[4:8] ** 2)
    np.testing.assert_allclose(2 * losses[1] - losses[0], expected_b1, rtol=1e-5)


def test_callbacks_see_current_weights_every_step():
    # fit keeps the state in the variables at every step: get_weights() in a batch hook is the current state
    model = _model(lr=0.1, opt="adam")
    replay = _model(lr=0.1, opt="adam")
    replay.set_weights(model.get_weights())
    seen = []
    rec = cb.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(model.get_weights()))
    model.fit(X, Y, batch_size=4, epochs=2, verbose=0, shuffle=False, callbacks=[rec])
    assert len(seen) == 6
    for a, b in zip(seen[-1], model.get_weights()):
        np.testing.assert_array_equal(a, b)
    # the same steps by train_on_batch give the weights seen after every step
    for step in range(6):
        i = step % 3
        replay.train_on_batch(X[4 * i:4 * i + 4], Y[4 * i:4 * i + 4])
        for a, b in zip(seen[step], replay.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_freezing_a_layer_in_a_callback_takes_effect_next_step():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    seen = {}

    class Freeze(cb.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 0:
                self.model.layers[0].trainable = False
                seen["frozen"] = self.model.layers[0].get_weights()
                seen["other"] = self.model.layers[1].get_weights()
                seen["slot"] = np.array(self.model.optimizer.variables[-1].numpy())

    model.fit(X, Y, batch_size=4, epochs=2, verbose=0, shuffle=False, callbacks=[Freeze()])
    for a, b in zip(seen["frozen"], model.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(seen["other"][0], model.layers[1].get_weights()[0])
    assert len(model.optimizer.variables) == 2 + 2 * 2  # iterations, learning rate, 2 slots x 2 variables
    # the slots of the still-trainable layer were carried over, not restarted from zeros
    assert np.all(np.asarray(model.optimizer.variables[-1].numpy()) != 0) and seen["slot"].any()


def test_model_checkpoint(tmp_path):
    model = _model()
    saved = []
    model.save = lambda path, overwrite=True: saved.append(("model", path))
    model.save_weights = lambda path, overwrite=True: saved.append(("weights", path))
    path = str(tmp_path / "m-{epoch:02d}-{loss:.2f}.keras")
    model.fit(X, Y, batch_size=4, epochs=2, verbose=0, callbacks=[cb.ModelCheckpoint(path, monitor="loss")])
    assert [k for k, _ in saved] == ["model", "model"]
    assert saved[0][1].startswith(str(tmp_path / "m-01-")) and saved[1][1].startswith(str(tmp_path / "m-02-"))
    saved.clear()
    fake = cb.LambdaCallback(on_epoch_end=lambda e, logs: logs.__setitem__("val_loss", [2.0, 1.0, 3.0][e]))
    model.fit(X, Y, batch_size=4, epochs=3, verbose=0, callbacks=[fake, cb.ModelCheckpoint(
        str(tmp_path / "best.weights.h5"), save_best_only=True, save_weights_only=True)])
    assert [k for k, _ in saved] == ["weights", "weights"]


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning", "ignore:overflow:RuntimeWarning")
def test_csv_logger_and_terminate_on_nan(tmp_path):
    model = _model()
    f = tmp_path / "log.csv"
    model.fit(X, Y, batch_size=4, epochs=2, verbose=0, validation_data=(X, Y), callbacks=[cb.CSVLogger(str(f))])
    rows = list(csv.reader(open(f)))
    assert rows[0] == ["epoch", "loss", "val_loss"] and [r[0] for r in rows[1:]] == ["0", "1"]
    model.fit(X, Y, batch_size=4, epochs=1, verbose=0, callbacks=[cb.CSVLogger(str(f), append=True)])
    assert len(list(csv.reader(open(f)))) == 4
    bad = _model(lr=1e30)
    h = bad.fit(X * 1e10, Y, batch_size=4, epochs=3, verbose=0, callbacks=[cb.TerminateOnNaN()])
    assert len(h.history["loss"]) == 1


def test_stop_training_from_batch_hook():
    model = _model()
    batches = []

    class Stop(cb.Callback):
        def on_train_batch_end(self, batch, logs=None):
            batches.append(batch)
            if batch == 1:
                self.model.stop_training = True

    h = model.fit(X, Y, batch_size=4, epochs=3, verbose=0, callbacks=[Stop()])
    assert batches == [0, 1] and len(h.history["loss"]) == 1


def test_lambda_callback_rejects_unknown_hooks():
    with pytest.raises(TypeError):
        cb.LambdaCallback(on_nothing=print)
