"""keras.saving: Keras 3 file formats, real-Keras fixtures, round trips, optimizer state, custom objects, safety."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

import fnflow_keras as keras  # noqa: E402
from fnflow_keras import saving  # noqa: E402
from fnflow_keras.saving.model_saving import SavingMixin  # noqa: E402
from fnflow_keras.saving.weights_h5 import keras_optimizer_variables  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
MODELS = ["mlp", "cnn", "lstm", "two_input"]


@pytest.fixture(scope="module")
def real_keras_files(tmp_path_factory):
    """The files written by real Keras 3 (make_fixtures.py), extracted from keras_files.zip."""
    out = tmp_path_factory.mktemp("real_keras")
    with zipfile.ZipFile(os.path.join(FIXTURES, "keras_files.zip")) as zf:
        zf.extractall(out)
    return out


def _inputs(name):
    n = 2 if name == "two_input" else 1
    xs = [np.load(os.path.join(FIXTURES, f"{name}_x{i}.npy")) for i in range(n)]
    return xs if n > 1 else xs[0]


def _predict(model, x):
    return np.asarray(model.predict(x, verbose=0))


def _mlp(seed=0):
    keras.backend.clear_session()  # layer names dense, dense_1 whatever ran before in this process
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)])


def _data(n=16):
    rng = np.random.default_rng(1)
    return rng.normal(size=(n, 4)).astype("float32"), rng.normal(size=(n, 3)).astype("float32")


# ------------------------------------------------------------------ files written by real Keras 3

@pytest.mark.filterwarnings("ignore:No training configuration")
@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_real_keras_model_files_predict_the_same(real_keras_files, name, fmt):
    model = saving.load_model(real_keras_files / f"{name}.{fmt}")
    want = np.load(os.path.join(FIXTURES, f"{name}_pred.npy"))
    np.testing.assert_allclose(_predict(model, _inputs(name)), want, atol=1e-5)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("fmt", ["weights.h5", "h5", "keras"])
def test_real_keras_weights_load_into_a_fresh_copy(real_keras_files, name, fmt):
    model = saving.load_model(real_keras_files / f"{name}.keras", compile=False)
    fresh = keras.models.clone_model(model)
    assert not np.allclose(_predict(fresh, _inputs(name)), np.load(os.path.join(FIXTURES, f"{name}_pred.npy")))
    saving.load_weights(fresh, real_keras_files / f"{name}.{fmt}")
    np.testing.assert_allclose(_predict(fresh, _inputs(name)), np.load(os.path.join(FIXTURES, f"{name}_pred.npy")),
                               atol=1e-5)


@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_real_keras_optimizer_state_continues_training_as_keras(real_keras_files, fmt):
    # make_fixtures.py trained the MLP one more epoch in real Keras after saving
    model = saving.load_model(real_keras_files / f"mlp.{fmt}")
    assert model.optimizer.__class__.__name__ == "Adam"
    assert int(model.optimizer.iterations.numpy()) == 1
    assert np.isclose(float(model.optimizer.learning_rate.numpy()), 0.01)
    x, y = _inputs("mlp"), np.load(os.path.join(FIXTURES, "mlp_y.npy"))
    model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    np.testing.assert_allclose(_predict(model, x), np.load(os.path.join(FIXTURES, "mlp_pred_after_fit.npy")),
                               atol=1e-5)


def test_real_keras_compile_config_is_restored(real_keras_files):
    model = saving.load_model(real_keras_files / "mlp.keras")
    assert model.compiled
    model_nc = saving.load_model(real_keras_files / "mlp.keras", compile=False)
    assert not getattr(model_nc, "compiled", False)


# ------------------------------------------------------------------ the layouts fnflow_keras writes

def _trained_mlp(epochs=1):
    model = _mlp()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    x, y = _data()
    model.fit(x, y, epochs=epochs, batch_size=8, shuffle=False, verbose=0)
    return model, x, y


def test_keras_zip_layout(tmp_path):
    keras.backend.clear_session()  # layer names below assume a fresh naming scope
    model, _, _ = _trained_mlp()
    path = tmp_path / "m.keras"
    saving.save_model(model, path)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
        meta = json.loads(zf.read("metadata.json"))
        config = json.loads(zf.read("config.json"))
        weights = zf.read("model.weights.h5")
    assert set(meta) == {"keras_version", "date_saved"}
    assert config["class_name"] == "Sequential" and config["module"].startswith("keras")
    assert {"config", "registered_name", "build_config", "compile_config"} <= set(config)
    assert config["compile_config"]["optimizer"]["class_name"] == "Adam"
    assert config["compile_config"]["loss"] == "mse"
    with h5py.File(io.BytesIO(weights), "r") as f:
        assert f["vars"].attrs["name"] == model.name
        assert f["layers/dense/vars"].attrs["name"] == "dense"
        np.testing.assert_array_equal(f["layers/dense/vars/0"][()], model.layers[0].kernel.numpy())
        np.testing.assert_array_equal(f["layers/dense_1/vars/1"][()], model.layers[1].bias.numpy())
        opt = f["optimizer/vars"]
        assert len(opt) == 2 + 2 * 4
        assert opt["0"][()] == 2 and opt["0"].dtype == np.int32  # iterations after 2 batches
        # Keras 3 interleaves the slots per variable: momentum, velocity of kernel, then of bias ...
        assert opt["2"].shape == opt["3"].shape == (4, 8) and opt["4"].shape == (8,)


def test_legacy_h5_layout(tmp_path):
    model, _, _ = _trained_mlp()
    path = tmp_path / "m.h5"
    saving.save_model(model, path)
    with h5py.File(path, "r") as f:
        assert {"model_config", "training_config", "keras_version", "backend"} <= set(f.attrs)
        assert json.loads(f.attrs["model_config"])["class_name"] == "Sequential"
        assert json.loads(f.attrs["training_config"])["optimizer_config"]["class_name"] == "Adam"
        g = f["model_weights"]
        first = model.layers[0].name
        assert [n for n in g.attrs["layer_names"]] == [lay.name for lay in model.layers]
        names = list(g[first].attrs["weight_names"])
        assert [n.split("/")[-1] for n in names] == ["kernel", "bias"]
        np.testing.assert_array_equal(g[first][names[0]][()], model.layers[0].kernel.numpy())
        assert "top_level_model_weights" in g
        assert len(f["optimizer_weights"].attrs["weight_names"]) == 10


def test_weights_h5_layout(tmp_path):
    model, _, _ = _trained_mlp()
    path = tmp_path / "m.weights.h5"
    saving.save_weights(model, path)
    with h5py.File(path, "r") as f:
        assert sorted(f.keys()) == ["layers", "optimizer", "vars"]
        np.testing.assert_array_equal(f["layers/dense_1/vars/0"][()], model.layers[1].kernel.numpy())


def test_optimizer_variables_in_keras_order():
    model, _, _ = _trained_mlp()
    names = [v.name.split("/")[-1] for v in keras_optimizer_variables(model.optimizer)]
    assert names[:2] == ["iteration", "learning_rate"]
    assert [n.rsplit("_", 1)[-1] for n in names[2:]] == ["momentum", "velocity"] * 4
    assert "kernel" in names[2] and "kernel" in names[3] and "bias" in names[4]


# ------------------------------------------------------------------ round trips

@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_model_round_trip(tmp_path, suffix):
    model, x, _ = _trained_mlp()
    path = tmp_path / f"m{suffix}"
    saving.save_model(model, path)
    loaded = saving.load_model(path)
    np.testing.assert_allclose(_predict(loaded, x), _predict(model, x), atol=1e-6)
    assert [lay.name for lay in loaded.layers] == [lay.name for lay in model.layers]
    for a, b in zip(keras_optimizer_variables(model.optimizer), keras_optimizer_variables(loaded.optimizer)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_training_continues_identically_after_load(tmp_path, suffix):
    model, x, y = _trained_mlp(epochs=1)
    path = tmp_path / f"m{suffix}"
    saving.save_model(model, path)
    loaded = saving.load_model(path)
    loaded.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    reference, _, _ = _trained_mlp(epochs=2)
    for a, b in zip(loaded.weights, reference.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)


def test_functional_and_batchnorm_round_trip(tmp_path):
    keras.utils.set_random_seed(3)
    a, b = keras.Input((4,), name="a"), keras.Input((3,), name="b")
    h = keras.layers.Concatenate()([keras.layers.Dense(5)(a), keras.layers.Dense(5)(b)])
    h = keras.layers.BatchNormalization()(h)
    model = keras.Model([a, b], keras.layers.Dense(2)(h))
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(0)
    xs = [rng.normal(size=(8, 4)).astype("float32"), rng.normal(size=(8, 3)).astype("float32")]
    model.fit(xs, rng.normal(size=(8, 2)).astype("float32"), epochs=2, verbose=0)
    for suffix in (".keras", ".h5"):
        saving.save_model(model, tmp_path / f"f{suffix}")
        loaded = saving.load_model(tmp_path / f"f{suffix}")
        np.testing.assert_allclose(_predict(loaded, xs), _predict(model, xs), atol=1e-6)
    fresh = keras.models.clone_model(model)
    saving.save_weights(model, tmp_path / "f.weights.h5")
    saving.load_weights(fresh, tmp_path / "f.weights.h5")
    np.testing.assert_allclose(_predict(fresh, xs), _predict(model, xs), atol=1e-6)


def test_weights_round_trip_and_legacy_h5_by_name(tmp_path):
    model, x, _ = _trained_mlp()
    saving.save_weights(model, tmp_path / "w.weights.h5")
    fresh = _mlp(seed=5)
    saving.load_weights(fresh, tmp_path / "w.weights.h5")
    np.testing.assert_allclose(_predict(fresh, x), _predict(model, x), atol=1e-6)
    saving.save_model(model, tmp_path / "m.h5")
    fresh = _mlp(seed=6)
    saving.load_weights(fresh, tmp_path / "m.h5")  # by topology: the i-th layer with weights
    np.testing.assert_allclose(_predict(fresh, x), _predict(model, x), atol=1e-6)
    # by name: only the layers whose names match are loaded
    names = [lay.name for lay in model.layers]
    fresh = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu", name=names[0]),
                              keras.layers.Dense(3, name="other")])
    before = fresh.layers[1].kernel.numpy().copy()
    saving.load_weights(fresh, tmp_path / "m.h5", by_name=True)
    np.testing.assert_array_equal(fresh.layers[0].kernel.numpy(), model.layers[0].kernel.numpy())
    np.testing.assert_array_equal(fresh.layers[1].kernel.numpy(), before)


def test_load_weights_mismatch_is_an_error(tmp_path):
    model, _, _ = _trained_mlp()
    saving.save_weights(model, tmp_path / "w.weights.h5")
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(9), keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="could not be loaded"):
        saving.load_weights(other, tmp_path / "w.weights.h5")
    with pytest.warns(UserWarning):
        saving.load_weights(other, tmp_path / "w.weights.h5", skip_mismatch=True)


def test_saving_mixin_methods(tmp_path):
    assert issubclass(keras.Model, SavingMixin)
    M = keras.Sequential
    keras.utils.set_random_seed(0)
    model = M([keras.Input((4,)), keras.layers.Dense(3)])
    x, _ = _data()
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "m.weights.h5")
    fresh = M([keras.Input((4,)), keras.layers.Dense(3)])
    fresh.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_allclose(_predict(fresh, x), _predict(model, x), atol=1e-6)
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        model.save_weights(tmp_path / "m.h5")


# ------------------------------------------------------------------ custom objects, registration, safe mode

@saving.register_keras_serializable(package="TestSaving")
class Scale(keras.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

    def call(self, x):
        return x * self.w * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class Unregistered(keras.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@saving.register_keras_serializable(package="TestSaving")
def my_loss(y_true, y_pred):
    return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)


def test_registered_layer_and_loss_round_trip(tmp_path):
    assert saving.get_registered_object("TestSaving>Scale") is Scale
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), Scale(3.0)])
    model.compile(optimizer="adam", loss=my_loss)
    x, y = _data()
    model.fit(x, y, epochs=1, verbose=0)
    for suffix in (".keras", ".h5"):
        saving.save_model(model, tmp_path / f"m{suffix}")
        loaded = saving.load_model(tmp_path / f"m{suffix}")
        assert isinstance(loaded.layers[-1], Scale) and loaded.layers[-1].factor == 3.0
        np.testing.assert_allclose(_predict(loaded, x), _predict(model, x), atol=1e-6)
        loaded.fit(x, y, epochs=1, verbose=0)  # the custom loss came back


def test_custom_objects_argument(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), Unregistered(0.5)])
    x, _ = _data()
    saving.save_model(model, tmp_path / "m.keras")
    with pytest.raises((TypeError, ValueError), match="Unregistered"):
        saving.load_model(tmp_path / "m.keras")
    loaded = saving.load_model(tmp_path / "m.keras", custom_objects={"Unregistered": Unregistered})
    np.testing.assert_allclose(_predict(loaded, x), _predict(model, x), atol=1e-6)
    with saving.custom_object_scope({"Unregistered": Unregistered}):
        saving.load_model(tmp_path / "m.keras")


def test_lambda_bytecode_needs_safe_mode_false(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda t: t * 2.0 + 1.0)])
    x, _ = _data()
    saving.save_model(model, tmp_path / "m.keras")
    with pytest.raises(ValueError, match="safe_mode"):
        saving.load_model(tmp_path / "m.keras")
    loaded = saving.load_model(tmp_path / "m.keras", safe_mode=False)
    np.testing.assert_allclose(_predict(loaded, x), x * 2.0 + 1.0, atol=1e-6)


# ------------------------------------------------------------------ atomic writes and errors

@pytest.mark.parametrize("name", ["m.keras", "m.h5", "m.weights.h5"])
def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch, name):
    model, _, _ = _trained_mlp()
    path = tmp_path / name
    (saving.save_weights if name.endswith(".weights.h5") else saving.save_model)(model, path)
    before = path.read_bytes()
    from fnflow_keras.saving import _io

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(_io.WriteStore, "__setitem__", crash)
    import fnflow_keras.saving.legacy_h5 as lh

    monkeypatch.setattr(lh, "_write_datasets", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        (saving.save_weights if name.endswith(".weights.h5") else saving.save_model)(model, path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == [name]  # no temporary file left behind


def test_errors(tmp_path):
    model, _, _ = _trained_mlp()
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        saving.save_weights(model, tmp_path / "w.h5")
    with pytest.raises(ValueError, match="extension"):
        saving.save_model(model, tmp_path / "m.pkl")
    with pytest.raises(ValueError, match="not supported"):
        saving.load_model(tmp_path / "m.pkl")
    with pytest.raises(FileNotFoundError):
        saving.load_model(tmp_path / "missing.keras")
    with pytest.raises(FileNotFoundError):
        saving.load_model(tmp_path / "missing.h5")
    with pytest.raises(FileNotFoundError):
        saving.load_weights(model, tmp_path / "missing.weights.h5")
    (tmp_path / "bad.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="zip"):
        saving.load_model(tmp_path / "bad.keras")
    with pytest.raises(ValueError, match="by_name"):
        saving.load_weights(model, tmp_path / "x.weights.h5", by_name=True)
    unbuilt = keras.Sequential([keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="built"):
        saving.save_weights(unbuilt, tmp_path / "u.weights.h5")


def test_missing_h5py_names_the_extra(monkeypatch):
    import builtins

    from fnflow_keras.saving import _io

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "h5py":
            raise ImportError("no h5py")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"fnflow\[h5\]"):
        _io.require_h5py()
