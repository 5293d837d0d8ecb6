"""keras.losses / keras.metrics serialize as Keras 3.15 does, and losses apply a mask attached to ``y_pred``.

The expected numbers and dicts were printed by real Keras 3.15.1 (JAX backend) for the same inputs.
"""

import numpy as np
import pytest

import fnflow_keras as keras
from fnflow_keras.utils import serialization_lib as sl
from fnflow_keras.utils.masking import set_keras_mask

# ------------------------------------------------------------------ serialize: registered_name as Keras writes it


def test_builtin_losses_and_metrics_serialize_with_registered_name_none():
    assert keras.losses.serialize(keras.losses.MeanSquaredError()) == {
        "module": "keras.losses", "class_name": "MeanSquaredError",
        "config": {"name": "mean_squared_error", "reduction": "sum_over_batch_size"}, "registered_name": None}
    assert keras.losses.serialize(keras.losses.BinaryCrossentropy(from_logits=True)) == {
        "module": "keras.losses", "class_name": "BinaryCrossentropy",
        "config": {"name": "binary_crossentropy", "reduction": "sum_over_batch_size", "from_logits": True,
                   "label_smoothing": 0.0, "axis": -1}, "registered_name": None}
    assert keras.metrics.serialize(keras.metrics.MeanSquaredError()) == {
        "module": "keras.metrics", "class_name": "MeanSquaredError",
        "config": {"name": "mean_squared_error", "dtype": "float32"}, "registered_name": None}
    assert keras.metrics.serialize(keras.metrics.Mean()) == {
        "module": "keras.metrics", "class_name": "Mean", "config": {"name": "mean", "dtype": "float32"},
        "registered_name": None}
    auc = keras.metrics.serialize(keras.metrics.AUC())
    assert (auc["module"], auc["class_name"], auc["registered_name"]) == ("keras.metrics", "AUC", None)
    # the generic serializer agrees
    for obj, ser in ((keras.losses.MeanSquaredError(), keras.losses.serialize),
                     (keras.metrics.Mean(), keras.metrics.serialize)):
        assert sl.serialize_keras_object(obj)["registered_name"] == ser(obj)["registered_name"] is None


class _Plain(keras.losses.Loss):
    def call(self, y_true, y_pred):
        return y_pred - y_true


@keras.saving.register_keras_serializable(package="LossSer")
class _Registered(keras.losses.Loss):
    def call(self, y_true, y_pred):
        return y_pred - y_true


class _MyMean(keras.metrics.Mean):
    pass


@keras.saving.register_keras_serializable(package="MetricSer")
class _MyRegisteredMean(keras.metrics.Mean):
    pass


class _SubOfRegistered(_Registered):  # not registered itself: its own name, not its parent's
    pass


def test_user_losses_and_metrics_serialize_with_their_registered_or_class_name():
    # Keras: {'module': <the class's module>, 'class_name': 'L2', ..., 'registered_name': 'L2'} / 'P>L'
    plain = keras.losses.serialize(_Plain())
    assert (plain["module"], plain["class_name"], plain["registered_name"]) == (__name__, "_Plain", "_Plain")
    reg = keras.losses.serialize(_Registered())
    assert (reg["class_name"], reg["registered_name"]) == ("_Registered", "LossSer>_Registered")
    assert keras.losses.serialize(_SubOfRegistered())["registered_name"] == "_SubOfRegistered"
    assert keras.metrics.serialize(_MyMean())["registered_name"] == "_MyMean"
    assert keras.metrics.serialize(_MyMean())["module"] == __name__
    assert keras.metrics.serialize(_MyRegisteredMean())["registered_name"] == "MetricSer>_MyRegisteredMean"
    # round trips: registered classes by name, the others through custom_objects
    assert type(keras.losses.deserialize(reg)) is _Registered
    assert type(keras.losses.deserialize(plain, custom_objects={"_Plain": _Plain})) is _Plain
    back = keras.metrics.deserialize(keras.metrics.serialize(_MyRegisteredMean(name="m")))
    assert type(back) is _MyRegisteredMean and back.name == "m"


def test_keras_written_configs_load():
    # dicts exactly as real Keras 3.15 writes them (registered_name null)
    loss = keras.losses.deserialize({"module": "keras.losses", "class_name": "BinaryCrossentropy",
                                     "config": {"name": "binary_crossentropy", "reduction": "sum_over_batch_size",
                                                "from_logits": True, "label_smoothing": 0.0, "axis": -1},
                                     "registered_name": None})
    assert isinstance(loss, keras.losses.BinaryCrossentropy) and loss.get_config()["from_logits"] is True
    metric = keras.metrics.deserialize({"module": "keras.metrics", "class_name": "AUC",
                                        "config": {"name": "auc", "dtype": "float32", "num_thresholds": 200,
                                                   "curve": "ROC", "summation_method": "interpolation",
                                                   "multi_label": False, "num_labels": None, "label_weights": None,
                                                   "from_logits": False}, "registered_name": None})
    assert isinstance(metric, keras.metrics.AUC)


# ------------------------------------------------------------------ masks attached to y_pred

_MASK = np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0]], bool)
_SW_ROWS = np.array([[1.0], [2.0], [0.5]], np.float32)


def _data():
    rng = np.random.default_rng(0)
    y_true = np.round(rng.normal(size=(3, 4, 2)), 2).astype(np.float32)
    y_pred = np.round(rng.normal(size=(3, 4, 2)), 2).astype(np.float32)
    sw = np.round(np.random.default_rng(1).uniform(size=(3, 4)), 2).astype(np.float32)
    return y_true, y_pred, sw


def _masked(x, mask=_MASK):
    x = keras.ops.convert_to_tensor(x)
    set_keras_mask(x, mask)
    return x


# keras.losses.MeanSquaredError(reduction=r)(y_true, masked y_pred, sample_weight=w), real Keras 3.15.1 (JAX)
_KERAS_MSE = {
    ("sum_over_batch_size", None): 0.9865332245826721, ("sum_over_batch_size", "rows"): 1.1886457204818726,
    ("sum_over_batch_size", "full"): 0.557800829410553,
    ("sum", None): 5.919199466705322, ("sum", "rows"): 7.1318745613098145, ("sum", "full"): 3.3468050956726074,
    ("mean", None): 0.9865332245826721, ("mean", "rows"): 1.1886457204818726, ("mean", "full"): 0.557800829410553,
    ("mean_with_sample_weight", None): 0.9865332245826721, ("mean_with_sample_weight", "rows"): 0.950916588306427,
    ("mean_with_sample_weight", "full"): 1.1620850563049316,
}
_KERAS_MSE_NONE = {
    None: [[0.32064998149871826, 1.4723999500274658, 0.013000003062188625, 0.0],
           [1.783849835395813, 0.3956499993801117, 0.0, 0.0], [1.9336497783660889, 0.0, 0.0, 0.0]],
    "rows": [[0.32064998149871826, 1.4723999500274658, 0.013000003062188625, 0.0],
             [3.567699670791626, 0.7912999987602234, 0.0, 0.0], [0.9668248891830444, 0.0, 0.0, 0.0]],
    "full": [[0.16353148221969604, 1.3987799882888794, 0.0018200004706159234, 0.0],
             [0.5529934763908386, 0.16617299616336823, 0.0, 0.0], [1.0635074377059937, 0.0, 0.0, 0.0]],
}


@pytest.mark.parametrize("weights", [None, "rows", "full"])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none"])
def test_loss_applies_the_mask_of_y_pred_as_keras(reduction, weights):
    y_true, y_pred, sw_full = _data()
    sw = {None: None, "rows": _SW_ROWS, "full": sw_full}[weights]
    got = keras.losses.MeanSquaredError(reduction=reduction)(y_true, _masked(y_pred), sample_weight=sw)
    want = _KERAS_MSE_NONE[weights] if reduction == "none" else _KERAS_MSE[(reduction, weights)]
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-7)


def test_masked_mean_is_the_mean_over_valid_entries():
    y_true, y_pred, _ = _data()
    per = np.mean((y_true - y_pred) ** 2, axis=-1)
    got = keras.losses.MeanSquaredError()(y_true, _masked(y_pred))
    np.testing.assert_allclose(float(got), per[_MASK].mean(), rtol=1e-6)
    # no mask: unchanged; an all-False mask: 0 (Keras's divide_no_nan)
    np.testing.assert_allclose(float(keras.losses.MeanSquaredError()(y_true, y_pred)), per.mean(), rtol=1e-6)
    none = keras.losses.MeanSquaredError()(y_true, _masked(y_pred, np.zeros((3, 4), bool)))
    assert float(none) == 0.0


def test_mask_combines_with_ignore_class():
    # keras.losses.SparseCategoricalCrossentropy(from_logits=True[, ignore_class=1]) on masked logits
    rng = np.random.default_rng(0)
    rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 4, 2))  # the draws of _data()
    logits = np.round(rng.normal(size=(3, 4, 3)), 2).astype(np.float32)
    labels = np.array([[0, 1, 2, 1], [2, 2, 0, 1], [1, 0, 1, 2]], np.int32)
    got = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=1)(labels, _masked(logits))
    np.testing.assert_allclose(float(got), 0.7041780948638916, rtol=1e-5)
    got = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, _masked(logits))
    np.testing.assert_allclose(float(got), 1.14230215549469, rtol=1e-5)


def test_mask_under_jit_and_grad():
    import fnflow

    y_true, y_pred, _ = _data()
    loss = keras.losses.MeanSquaredError()

    def f(p):
        set_keras_mask(p, _MASK)
        return loss(y_true, p)

    np.testing.assert_allclose(float(fnflow.jit(f)(y_pred)), _KERAS_MSE[("sum_over_batch_size", None)], rtol=1e-5)
    g = np.asarray(fnflow.grad(f)(y_pred))
    valid = int(_MASK.sum())
    np.testing.assert_allclose(g, 2 * (y_pred - y_true) / 2 / valid * _MASK[..., None], rtol=1e-5, atol=1e-7)
