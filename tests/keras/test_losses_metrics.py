"""Keras loss and metric classes: values against NumPy, reductions, state, names, compile integration."""

import numpy as np
import pytest

import fnflow_keras as keras
from fnflow_keras import losses, metrics


def test_loss_classes_values_and_reductions():
    y = np.array([[0.0, 1.0], [1.0, 1.0]], np.float32)
    p = np.array([[0.2, 0.6], [0.9, 0.4]], np.float32)
    per = np.mean((y - p) ** 2, axis=-1)
    np.testing.assert_allclose(losses.MeanSquaredError()(y, p), per.mean(), rtol=1e-6)
    np.testing.assert_allclose(losses.MeanSquaredError(reduction="sum")(y, p), per.sum(), rtol=1e-6)
    np.testing.assert_allclose(losses.MeanSquaredError(reduction=None)(y, p), per, rtol=1e-6)
    sw = np.array([2.0, 0.0], np.float32)
    np.testing.assert_allclose(losses.MeanSquaredError()(y, p, sample_weight=sw), (per * sw).sum() / 2, rtol=1e-6)
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(-1).mean()
    np.testing.assert_allclose(losses.BinaryCrossentropy()(y, p), bce, rtol=1e-5)
    logits = np.log(p / (1 - p))
    np.testing.assert_allclose(losses.BinaryCrossentropy(from_logits=True)(y, logits), bce, rtol=1e-5)
    smooth = y * 0.8 + 0.1
    bce_s = -(smooth * np.log(p) + (1 - smooth) * np.log(1 - p)).mean(-1).mean()
    np.testing.assert_allclose(losses.BinaryCrossentropy(label_smoothing=0.2)(y, p), bce_s, rtol=1e-5)
    probs = np.array([[0.1, 0.7, 0.2], [0.5, 0.25, 0.25]], np.float32)
    labels = np.array([1, 0])
    ce = -np.log(probs[[0, 1], labels]).mean()
    np.testing.assert_allclose(losses.SparseCategoricalCrossentropy()(labels, probs), ce, rtol=1e-6)
    np.testing.assert_allclose(losses.CategoricalCrossentropy()(np.eye(3)[labels], probs), ce, rtol=1e-6)
    assert losses.Huber().name == "huber_loss" and losses.MeanSquaredError().name == "mean_squared_error"
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="avg")


def test_loss_get_serialize_and_subclass():
    assert losses.get("mse") is losses.mean_squared_error
    assert isinstance(losses.get("BinaryCrossentropy"), losses.BinaryCrossentropy)
    cfg = losses.serialize(losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1))
    again = losses.deserialize(cfg)
    assert again.get_config() == cfg["config"]

    class Twice(losses.Loss):
        def call(self, y_true, y_pred):
            return 2.0 * losses.mean_absolute_error(y_true, y_pred)

    np.testing.assert_allclose(Twice()(np.zeros((2, 1)), np.ones((2, 1))), 2.0)
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss=Twice())
    model.fit(np.ones((4, 2), "float32"), np.zeros((4, 1), "float32"), verbose=0)


def test_metric_classes_state():
    m = metrics.BinaryAccuracy(threshold=0.5)
    m.update_state([[1], [0], [1]], [[0.9], [0.2], [0.3]])
    np.testing.assert_allclose(m.result(), 2 / 3, rtol=1e-6)
    m.update_state([[1]], [[0.7]], sample_weight=[3.0])
    np.testing.assert_allclose(m.result(), 5 / 6, rtol=1e-6)
    m.reset_state()
    assert float(m.result()) == 0.0
    acc = metrics.SparseCategoricalAccuracy()
    np.testing.assert_allclose(acc([1, 2], [[0.1, 0.9, 0.0], [0.8, 0.1, 0.1]]), 0.5)
    np.testing.assert_allclose(metrics.CategoricalAccuracy()([[0, 1], [1, 0]], [[0.3, 0.7], [0.4, 0.6]]), 0.5)
    np.testing.assert_allclose(metrics.Accuracy()([1, 2, 3], [1, 2, 4]), 2 / 3, rtol=1e-6)
    top = metrics.TopKCategoricalAccuracy(k=2)
    np.testing.assert_allclose(top([[0, 0, 1], [0, 1, 0]], [[0.1, 0.5, 0.4], [0.6, 0.1, 0.3]]), 0.5)
    p, r = metrics.Precision(), metrics.Recall()
    p.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    r.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    np.testing.assert_allclose([p.result(), r.result()], [2 / 3, 2 / 3], rtol=1e-6)
    auc = metrics.AUC()
    auc.update_state([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    np.testing.assert_allclose(auc.result(), 0.75, atol=0.01)
    f1 = metrics.F1Score(average="macro", threshold=0.5)
    f1.update_state(np.eye(2)[[0, 1, 1]], np.eye(2)[[0, 1, 0]])
    np.testing.assert_allclose(f1.result(), np.mean([2 / 3, 2 / 3]), rtol=1e-5)
    iou = metrics.MeanIoU(num_classes=2)
    iou.update_state([0, 0, 1, 1], [0, 1, 0, 1])
    np.testing.assert_allclose(iou.result(), 1 / 3, rtol=1e-6)
    mean = metrics.Mean()
    mean.update_state([1.0, 3.0])
    mean.update_state(5.0, sample_weight=2.0)
    np.testing.assert_allclose(mean.result(), 14 / 4)
    s = metrics.Sum()
    s.update_state([1.0, 2.0])
    np.testing.assert_allclose(s.result(), 3.0)
    mse = metrics.MeanSquaredError()
    np.testing.assert_allclose(mse([[1.0, 2.0]], [[2.0, 4.0]]), 2.5)
    assert [v.name for v in metrics.Mean().variables] == ["count", "total"]


def test_metric_get_and_names():
    assert metrics.get("mse").name == "mse" and isinstance(metrics.get("mse"), metrics.MeanSquaredError)
    assert isinstance(metrics.get("AUC"), metrics.AUC)
    wrapped = metrics.get(lambda y, p: (y - p) ** 2)
    assert isinstance(wrapped, metrics.MeanMetricWrapper)
    cfg = metrics.serialize(metrics.AUC(num_thresholds=50, curve="PR"))
    again = metrics.deserialize(cfg)
    assert again.get_config()["num_thresholds"] == 50 and again.get_config()["curve"] == "PR"


class CountPositives(metrics.Metric):
    """A Keras 3 custom metric with add_variable + assign_add."""

    def __init__(self, name="count_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.count.assign_add(keras.ops.sum(keras.ops.cast(y_pred > 0.5, "float32")))

    def result(self):
        return self.count.value


def test_custom_metric_standalone_and_in_compile():
    m = CountPositives()
    m.update_state(None, np.array([0.7, 0.2, 0.9]))
    assert float(m.result()) == 2.0
    m.reset_state()
    assert float(m.result()) == 0.0
    model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid", input_shape=(2,))])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=[CountPositives(), "auc"])
    x = np.random.RandomState(0).rand(10, 2).astype("float32")
    y = np.random.RandomState(1).randint(0, 2, (10, 1)).astype("float32")
    h = model.fit(x, y, batch_size=5, epochs=1, verbose=0)
    assert set(h.history) == {"loss", "count_positives", "auc"}
    res = model.evaluate(x, y, return_dict=True, verbose=0)
    pred = model.predict(x, verbose=0)
    assert res["count_positives"] == float((pred > 0.5).sum())


def test_weighted_metrics_in_compile():
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse", metrics=["mae"], weighted_metrics=["mae"])
    x = np.random.RandomState(0).rand(4, 2).astype("float32")
    y = np.zeros((4, 1), "float32")
    sw = np.array([1.0, 0.0, 0.0, 0.0], "float32")
    res = model.evaluate(x, y, sample_weight=sw, return_dict=True, verbose=0)
    pred = model.predict(x, verbose=0)
    np.testing.assert_allclose(res["mae"], np.abs(pred).mean(), rtol=1e-5)
    np.testing.assert_allclose(res["weighted_mae"], np.abs(pred[0, 0]), rtol=1e-5)
