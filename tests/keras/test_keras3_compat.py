"""Keras 3.15 compatibility: configs real Keras writes, serialization names, optimizer variable order."""

import json
import os

import numpy as np
import pytest

import fnflow_keras as keras
from fnflow_keras.utils import serialization_lib as sl

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def _keras315_configs():
    # written by real Keras 3.15.1 (JAX backend): keras.saving.serialize_keras_object(<expression>)
    with open(os.path.join(FIXTURES, "keras315_configs.json")) as f:
        return json.load(f)


# ------------------------------------------------------------------ 1. constructors take every Keras 3.15 key

@pytest.mark.parametrize("expr", sorted(_keras315_configs()))
def test_keras315_configs_load_and_save_the_same_keys(expr):
    config = _keras315_configs()[expr]
    obj = sl.deserialize_keras_object(config)
    mine = sl.serialize_keras_object(obj)
    assert mine["class_name"] == config["class_name"]
    assert mine["module"] == config["module"]
    assert mine["registered_name"] == config["registered_name"]
    extra = set(mine["config"]) - set(config["config"])
    assert set(config["config"]) - set(mine["config"]) == set()
    assert extra <= {"gain"}  # fnflow's Identity initializer keeps its gain


def test_input_layer_keras3_arguments():
    layer = keras.layers.InputLayer(shape=(3,), sparse=False, ragged=False, optional=True)
    assert layer.get_config() == {"batch_shape": [None, 3], "dtype": "float32", "sparse": False, "ragged": False,
                                  "name": layer.name, "optional": True}
    x = keras.Input((2,), optional=False, ragged=False, sparse=False)
    assert x.shape == (None, 2)
    with pytest.raises(NotImplementedError, match="ragged"):
        keras.Input((2,), ragged=True)


def test_unsupported_features_fail_loudly():
    with pytest.raises(NotImplementedError, match="renorm"):
        keras.layers.BatchNormalization(renorm=True)
    bn = keras.layers.BatchNormalization(renorm=False, renorm_clipping=None, renorm_momentum=0.9)
    assert bn.get_config()["renorm_momentum"] == 0.9
    for cls, args in ((keras.layers.Dense, (2,)), (keras.layers.Embedding, (4, 2)), (keras.layers.Conv2D, (2, 3))):
        cls(*args, quantization_config=None)
        with pytest.raises(NotImplementedError, match="quantization_config"):
            cls(*args, quantization_config={"mode": "int8"})


def test_variance_scaling_fans_from_input_and_output_axes():
    init = keras.initializers.VarianceScaling(scale=2.0, distribution="untruncated_normal", seed=1,
                                              input_axes=[0, 1], output_axes=[2])
    x = np.asarray(init((40, 50, 30)))
    np.testing.assert_allclose(x.std(), np.sqrt(2.0 / 2000), rtol=0.03)  # fan_in = 40 * 50, not 50 * 40 * ...
    glorot = keras.initializers.GlorotUniform(seed=0, input_axes=[0], output_axes=[1, 2])
    limit = np.sqrt(6.0 / (20 + 30 * 40))
    y = np.asarray(glorot((20, 30, 40)))
    assert np.abs(y).max() <= limit and np.abs(y).max() > 0.95 * limit
    assert glorot.get_config() == {"seed": 0, "input_axes": [0], "output_axes": [1, 2]}
    # only one of the two given: Keras's default fans
    z = np.asarray(keras.initializers.GlorotUniform(seed=0, input_axes=[0])((20, 30)))
    assert np.abs(z).max() <= np.sqrt(6.0 / 50)


# ------------------------------------------------------------------ 2. serialization names

def test_builtin_module_and_registered_names_are_keras():
    keras.backend.clear_session()
    seq = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    cfg = sl.serialize_keras_object(seq)
    assert (cfg["module"], cfg["registered_name"]) == ("keras", None)
    assert (cfg["config"]["layers"][1]["module"], cfg["config"]["layers"][1]["registered_name"]) == \
        ("keras.layers", None)
    inp = keras.Input((3,))
    fn = keras.Model(inp, keras.layers.Dense(2)(inp))
    cfg = sl.serialize_keras_object(fn)
    assert (cfg["module"], cfg["class_name"], cfg["registered_name"]) == \
        ("keras.src.models.functional", "Functional", "Functional")
    assert keras.optimizers.serialize(keras.optimizers.Adam())["registered_name"] is None
    assert sl.serialize_keras_object(keras.initializers.GlorotUniform())["module"] == "keras.initializers"


def test_unregistered_subclass_of_registered_class_is_saved_as_itself(tmp_path):
    @keras.saving.register_keras_serializable(package="Compat")
    class Scale(keras.layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    class Shift(Scale):  # not registered itself
        def call(self, x):
            return x + self.factor

    assert sl.get_registered_name(Scale) == "Compat>Scale"
    assert sl.get_registered_name(Shift) == "Shift"
    assert Shift._keras_registered_name == "Shift" and Scale._keras_registered_name == "Compat>Scale"
    cfg = sl.serialize_keras_object(Shift(3.0))
    assert cfg["class_name"] == "Shift" and cfg["registered_name"] == "Shift"
    assert cfg["module"] == Shift.__module__
    with pytest.raises(TypeError, match="Could not locate class 'Shift'"):
        sl.deserialize_keras_object(cfg)
    back = sl.deserialize_keras_object(cfg, custom_objects={"Shift": Shift})
    assert type(back) is Shift
    np.testing.assert_allclose(np.asarray(back(np.ones((1, 2), np.float32))), [[4.0, 4.0]])
    # and through a .keras file
    inp = keras.Input((2,))
    model = keras.Model(inp, Shift(3.0)(inp))
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, custom_objects={"Shift": Shift})
    assert type(loaded.layers[1]) is Shift
    np.testing.assert_allclose(np.asarray(loaded.predict(np.zeros((1, 2), np.float32), verbose=0)), [[3.0, 3.0]])


# ------------------------------------------------------------------ 3. optimizer variables in Keras's order

def _built(opt):
    keras.backend.clear_session()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    opt.build(model.trainable_variables)
    return [v.name.split("/")[-1] for v in opt.variables]


def test_optimizer_variables_follow_keras_build_order():
    # the orders real Keras 3.15 lists (keras/src/optimizers/*.py build, add_optimizer_variables interleaving)
    names = _built(keras.optimizers.Adam(amsgrad=True))
    assert [n.split("dense_")[-1] if "dense" in n else n for n in names] == [
        "iteration", "learning_rate", "kernel_momentum", "kernel_velocity", "bias_momentum", "bias_velocity",
        "kernel_velocity_hat", "bias_velocity_hat"]
    names = _built(keras.optimizers.RMSprop(momentum=0.5, centered=True))
    assert [n.rsplit("dense_", 1)[-1] if "dense" in n else n for n in names] == [
        "iteration", "learning_rate", "kernel_velocity", "bias_velocity", "kernel_momentum", "bias_momentum",
        "kernel_average_gradient", "bias_average_gradient"]
    assert len(_built(keras.optimizers.SGD())) == 2
    names = _built(keras.optimizers.Adadelta())
    assert [n.split("_", 2)[-1] for n in names[2:]] == ["kernel_accumulated_grad", "kernel_accumulated_delta_var",
                                                       "bias_accumulated_grad", "bias_accumulated_delta_var"]


def test_optimizer_get_and_set_weights_in_keras_order():
    keras.backend.clear_session()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    opt = keras.optimizers.Adam(learning_rate=0.1)
    opt.build(model.trainable_variables)
    grads = [np.ones((3, 2), np.float32), np.full((2,), 2.0, np.float32)]
    opt.apply(grads)
    w = opt.get_weights()
    assert [a.shape for a in w] == [(), (), (3, 2), (3, 2), (2,), (2,)]
    np.testing.assert_allclose(w[2], 0.1)  # kernel momentum: (1 - 0.9) * 1
    np.testing.assert_allclose(w[3], 0.001)  # kernel velocity: (1 - 0.999) * 1
    np.testing.assert_allclose(w[4], 0.2)  # bias momentum
    other = keras.optimizers.Adam(learning_rate=0.1)
    other.build(model.trainable_variables)
    other.set_weights(w)
    for a, b in zip(other.get_weights(), w):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="expects 6 weights"):
        other.set_weights(w[:3])


# ------------------------------------------------------------------ 4. compile config and metrics names

def test_metrics_names_and_compile_config_as_keras3():
    # the values printed by real Keras 3.15 (JAX) for the same calls
    keras.backend.clear_session()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    assert model.metrics_names == [] and model.metrics == []
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    assert model.metrics_names == ["loss", "compile_metrics"]
    assert [type(m).__name__ for m in model.metrics] == ["Mean", "CompileMetrics"]
    model.fit(np.ones((4, 3), np.float32), np.ones((4, 2), np.float32), verbose=0)
    assert model.metrics_names == ["loss", "compile_metrics"]
    assert set(model.metrics[1].result()) == {"mae"}
    loss, mae = model.evaluate(np.ones((4, 3), np.float32), np.ones((4, 2), np.float32), verbose=0)
    assert mae >= 0 and loss >= 0
    config = model.get_compile_config()
    assert config["loss"] == "mse" and config["metrics"] == ["mae"]
    assert config["optimizer"]["class_name"] == "Adam" and config["optimizer"]["registered_name"] is None
    assert {"loss_weights", "weighted_metrics", "run_eagerly", "steps_per_execution", "jit_compile"} <= set(config)
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    other.compile_from_config(config)
    assert other.compiled and type(other.optimizer).__name__ == "Adam" and other.optimizer.built
    assert other.loss == "mse" and other.metrics_names == ["loss", "compile_metrics"]
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    plain.compile("sgd", "mse")
    assert plain.metrics_names == ["loss"]
    assert plain.get_compile_config()["metrics"] is None
    assert keras.Sequential([keras.layers.Dense(1)]).get_compile_config() is None
    assert str(np.asarray(model.optimizer.iterations.numpy()).dtype) == "int32"  # Keras on JAX: int32 too


def test_multi_output_metrics_names():
    keras.backend.clear_session()
    i = keras.Input((3,))
    model = keras.Model(i, [keras.layers.Dense(1, name="a")(i), keras.layers.Dense(1, name="b")(i)])
    model.compile("sgd", ["mse", "mae"], metrics=[["mae"], ["mse"]])
    model.fit(np.ones((4, 3), np.float32), [np.ones((4, 1), np.float32)] * 2, verbose=0)
    assert model.metrics_names == ["loss", "compile_metrics", "a_loss", "b_loss"]
    results = model.evaluate(np.ones((4, 3), np.float32), [np.ones((4, 1), np.float32)] * 2, verbose=0)
    logs = model.evaluate(np.ones((4, 3), np.float32), [np.ones((4, 1), np.float32)] * 2, verbose=0,
                          return_dict=True)
    assert results == [logs[k] for k in ("loss", "a_mae", "b_mse", "a_loss", "b_loss")]


# ------------------------------------------------------------------ 6. summary() as real Keras prints it

def _summary_models():
    keras.backend.clear_session()
    yield "mlp", keras.Sequential([keras.Input((784,)), keras.layers.Dense(64, activation="relu"),
                                   keras.layers.Dropout(0.2), keras.layers.Dense(10, activation="softmax")])
    keras.backend.clear_session()
    yield "cnn", keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(8, 3, activation="relu"),
                                   keras.layers.MaxPooling2D(), keras.layers.Flatten(), keras.layers.Dense(10)])
    keras.backend.clear_session()
    a, b = keras.Input((4,), name="a"), keras.Input((3,), name="b")
    x = keras.layers.Concatenate()([keras.layers.Dense(8)(a), b])
    yield "two_input", keras.Model([a, b], keras.layers.Dense(1)(x), name="two")


@pytest.mark.parametrize("width", [None, 100, 70, 50])
def test_summary_is_identical_to_real_keras(width, monkeypatch):
    # fixtures/summaries/*.txt: real Keras 3.15.1 with rich 15.0.0 (COLUMNS=200),
    # model.summary(line_length=width, print_fn=...) on the same three models
    monkeypatch.setenv("COLUMNS", "200")  # the default width is min(Keras's default, terminal width - 4)
    for name, model in _summary_models():
        lines = []
        model.summary(line_length=width, print_fn=lambda s, line_break=True: lines.append(s))
        path = os.path.join(FIXTURES, "summaries", f"{name}_{width or 'default'}.txt")
        with open(path, encoding="utf-8") as f:
            assert "\n".join(lines) + "\n" == f.read(), (name, width)
