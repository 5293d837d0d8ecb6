"""Sequential, Functional and subclassed models: building, calling, summary text, configs, cloning, apply."""

import json

import numpy as np
import pytest

import fnflow
import fnflow.numpy as fnp
import fnflow_keras as keras
from fnflow_keras import layers
from fnflow_keras.layers import Activation, Concatenate, Dense, Input
from fnflow_keras.models import Model, Sequential


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()


SEQ_SUMMARY = """\
Model: "sequential"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┓
┃ Layer (type)                         ┃ Output Shape                ┃         Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━┩
│ dense (Dense)                        │ (None, 64)                  │           6,464 │
├──────────────────────────────────────┼─────────────────────────────┼─────────────────┤
│ dense_1 (Dense)                      │ (None, 10)                  │             650 │
└──────────────────────────────────────┴─────────────────────────────┴─────────────────┘
 Total params: 7,114 (27.79 KB)
 Trainable params: 7,114 (27.79 KB)
 Non-trainable params: 0 (0.00 B)
"""


def test_seed_sequential_add_and_summary():
    # seed 000 / 004: Sequential() + add(Dense(units=64, input_dim=100))
    model = Sequential()
    model.add(Dense(units=64, input_dim=100))
    model.add(Dense(units=10, activation="softmax"))
    out = []
    model.summary(print_fn=out.append)
    assert out == [SEQ_SUMMARY]
    y = model(np.random.rand(3, 100))
    assert y.shape == (3, 10)
    np.testing.assert_allclose(np.asarray(y).sum(-1), 1, rtol=1e-5)
    assert [v.path for v in model.weights] == ["sequential/dense/kernel", "sequential/dense/bias",
                                               "sequential/dense_1/kernel", "sequential/dense_1/bias"]


def test_summary_to_stdout_same_text(capsys):
    model = Sequential([Dense(units=64, input_dim=100), Dense(units=10, activation="softmax")])
    model.summary()
    assert capsys.readouterr().out == SEQ_SUMMARY


def test_functional_summary_connected_to():
    a, b = Input(shape=(100,)), Input(shape=(10,))
    x = Activation("relu")(Dense(units=64)(a))
    y = Dense(units=32)(b)
    out = Dense(units=1, activation="sigmoid")(Concatenate()([x, y]))
    model = Model(inputs=[a, b], outputs=out)
    text = []
    model.summary(print_fn=text.append)
    lines = text[0].splitlines()
    assert lines[0] == 'Model: "functional"'
    assert lines[2] == ("┃ Layer (type)                  ┃ Output Shape              ┃         Param # ┃ Connected to"
                        "               ┃")
    assert len(lines[1]) == 108
    rows = [ln for ln in lines if ln.startswith("│")]
    assert [r.split("│")[1].strip() for r in rows] == [
        "input_layer (InputLayer)", "dense (Dense)", "input_layer_1 (InputLayer)", "activation (Activation)",
        "dense_1 (Dense)", "concatenate (Concatenate)", "", "dense_2 (Dense)"]
    assert ("│ concatenate (Concatenate)     │ (None, 96)                │               0 │ activation[0][0],"
            "          │") in lines
    assert ("│                               │                           │                 │ dense_1[0][0]    "
            "          │") in lines
    assert lines[-3:] == [" Total params: 6,913 (27.00 KB)", " Trainable params: 6,913 (27.00 KB)",
                          " Non-trainable params: 0 (0.00 B)"]
    y = model([np.ones((2, 100)), np.ones((2, 10))])
    assert y.shape == (2, 1)


def test_seed_cnn_builds_and_runs():
    model = Sequential([
        layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)), layers.Flatten(),
        layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax")])
    assert model.count_params() == 225034
    assert model.output_shape == (None, 10)
    assert model(np.random.rand(2, 28, 28, 1)).shape == (2, 10)


def test_seed_dropout_mlp_and_lambda():
    model = Sequential()
    model.add(Dense(32, input_dim=784))
    model.add(Activation("relu"))
    model.add(layers.Dropout(0.5))
    model.add(Dense(10))
    model.add(Activation("softmax"))
    assert model(np.random.rand(4, 784)).shape == (4, 10)
    inp = Input(shape=(10,))
    out = layers.Lambda(lambda x: x * 2)(inp)
    np.testing.assert_allclose(np.asarray(Model(inp, out)(np.ones((1, 10)))), 2 * np.ones((1, 10)))


def test_seed_subclassed_model():
    class MyModel(Model):
        def __init__(self):
            super().__init__()
            self.fc1 = Dense(64, activation="relu")
            self.fc2 = Dense(32, activation="relu")
            self.fc3 = Dense(16, activation="relu")

        def call(self, x):
            return self.fc3(self.fc2(self.fc1(x)))

    m = MyModel()
    assert m.name == "my_model"
    y = m(np.random.rand(3, 2))
    assert y.shape == (3, 16)
    assert [lay.name for lay in m.layers] == ["dense", "dense_1", "dense_2"]
    assert len(m.weights) == 6 and m.count_params() == 2 * 64 + 64 + 64 * 32 + 32 + 32 * 16 + 16
    sym = MyModel()(Input((2,)))  # seed 004 calls the subclassed model on a KerasTensor
    assert sym.shape == (None, 16)


def test_subclassed_training_flag_and_lists():
    class Net(Model):
        def __init__(self):
            super().__init__()
            self.blocks = [Dense(4), Dense(4)]
            self.drop = layers.Dropout(0.99)

        def call(self, inputs, training=None):
            x = inputs
            for b in self.blocks:
                x = b(x)
            return self.drop(x, training=training)

    net = Net()
    x = np.ones((2, 3), "float32")
    np.testing.assert_array_equal(np.asarray(net(x)), np.asarray(net(x, training=False)))
    assert len(net.trainable_weights) == 4
    assert np.count_nonzero(np.asarray(net(x, training=True))) < 8


def test_functional_dicts_nested_and_extractors():
    a, b = Input((3,), name="a"), Input((2,), name="b")
    h = Dense(4, name="h")(a)
    o1 = Dense(1, name="o1")(layers.concatenate([h, b]))
    o2 = Dense(2, name="o2")(h)
    model = Model({"a": a, "b": b}, {"x": o1, "y": o2})
    out = model({"a": np.ones((5, 3)), "b": np.ones((5, 2))})
    assert set(out) == {"x", "y"} and out["x"].shape == (5, 1) and out["y"].shape == (5, 2)
    assert model.get_layer("h") is model.get_layer(index=2) or model.get_layer("h").name == "h"
    extractor = Model(model.inputs, model.get_layer("h").output)
    np.testing.assert_allclose(np.asarray(extractor([np.ones((5, 3)), np.ones((5, 2))])),
                               np.asarray(model.get_layer("h")(np.ones((5, 3)))), rtol=1e-6)
    # a model used as a layer, and a shared layer
    inner = Sequential([Input((3,)), Dense(3, name="inner_dense")])
    x1, x2 = Input((3,)), Input((3,))
    shared = Dense(3, name="shared")
    z = layers.Add()([inner(shared(x1)), shared(x2)])
    outer = Model([x1, x2], z)
    assert len(outer.weights) == 4
    v = np.random.rand(2, 3).astype("float32")
    ref = np.asarray(inner(shared(v))) + np.asarray(shared(v))
    np.testing.assert_allclose(np.asarray(outer([v, v])), ref, rtol=1e-5)


def test_sequential_variants():
    m1 = Sequential([Input((4,)), Dense(2)])
    assert m1.built and m1.output_shape == (None, 2) and len(m1.layers) == 1
    m2 = Sequential([Dense(3), Dense(2)])
    assert not m2.built
    assert m2(np.ones((5, 7))).shape == (5, 2)  # deferred build on first call
    assert m2.built and m2.layers[0].kernel.shape == (7, 3)
    m3 = Sequential([Dense(3, input_shape=(4,)), Dense(2)])
    popped = m3.pop()
    assert popped.units == 2 and m3.output_shape == (None, 3)
    m3.add(Dense(5))
    assert m3.output_shape == (None, 5)
    with pytest.raises(ValueError):
        m3.add(object())


def test_weights_roundtrip_and_freezing():
    model = Sequential([Dense(3, input_shape=(2,)), layers.BatchNormalization(), Dense(1)])
    assert len(model.trainable_weights) == 6 and len(model.non_trainable_weights) == 2
    ws = model.get_weights()
    new = [w + 1 for w in ws]
    model.set_weights(new)
    for a, b in zip(model.get_weights(), new):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError):
        model.set_weights(ws[:-1])
    model.layers[0].trainable = False
    assert len(model.trainable_weights) == 4 and len(model.non_trainable_weights) == 4
    model.trainable = False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 8
    text = []
    model.summary(print_fn=text.append)
    assert " Trainable params: 0 (0.00 B)" in text[0]


def test_apply_jit_grad_and_state():
    model = Sequential([Dense(4, input_shape=(3,)), layers.BatchNormalization(), layers.Dropout(0.5), Dense(1)])
    x = np.random.rand(8, 3).astype("float32")
    params, state = model.params, model.state
    y_eager = model(x)
    y, new_state = fnflow.jit(lambda p, s, v: model.apply(p, s, v))(params, state, x)
    np.testing.assert_allclose(np.asarray(y), np.asarray(y_eager), rtol=1e-5, atol=1e-6)
    for a, b in zip(new_state, state):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))

    def loss(p, s, key):
        out, s2 = model.apply(p, s, x, training=True, key=key)
        return fnp.mean(out ** 2), s2

    (val, s2), grads = fnflow.jit(fnflow.value_and_grad(loss, has_aux=True))(params, state, fnflow.random.key(0))
    assert [g.shape for g in grads] == [p.shape for p in params]
    assert not np.allclose(np.asarray(s2[0]), 0)  # moving mean moved
    assert np.all(model.layers[1].moving_mean.numpy() == 0)  # and the model is untouched
    model.params = [p - 0.1 * g for p, g in zip(params, grads)]
    np.testing.assert_allclose(model.layers[0].kernel.numpy(), np.asarray(params[0] - 0.1 * grads[0]))


def test_to_json_and_clone():
    a = Input((4,))
    h = layers.BatchNormalization()(Dense(8, activation="relu")(a))
    model = Model(a, [Dense(2)(h), Dense(1, activation="sigmoid")(h)])
    js = model.to_json()
    assert json.loads(js)["class_name"] == "Functional"
    rebuilt = keras.models.model_from_json(js)
    assert [type(lay).__name__ for lay in rebuilt.layers] == [type(lay).__name__ for lay in model.layers]
    rebuilt.set_weights(model.get_weights())
    x = np.random.rand(3, 4)
    for p, q in zip(model(x), rebuilt(x)):
        np.testing.assert_allclose(np.asarray(p), np.asarray(q), rtol=1e-6)
    clone = keras.models.clone_model(model)
    assert clone is not model and len(clone.weights) == len(model.weights)
    assert not np.allclose(clone.get_weights()[0], model.get_weights()[0])
    seq = Sequential([Dense(3, input_shape=(2,)), Dense(1)])
    seq2 = keras.models.model_from_json(seq.to_json())
    assert seq2.output_shape == (None, 1) and seq2.count_params() == seq.count_params()
    assert keras.models.clone_model(seq).count_params() == seq.count_params()


def test_lambda_serialization_needs_unsafe_mode():
    from fnflow_keras.utils.serialization_lib import SafeModeScope, deserialize_keras_object

    inp = Input((2,))
    model = Model(inp, layers.Lambda(lambda t: t + 1)(inp))
    cfg = json.loads(model.to_json())
    with pytest.raises(ValueError, match="safe_mode"):
        deserialize_keras_object(cfg)
    with SafeModeScope(False):
        m2 = deserialize_keras_object(cfg)
    np.testing.assert_allclose(np.asarray(m2(np.zeros((1, 2)))), np.ones((1, 2)))


def test_set_random_seed_gives_identical_weights():
    def build():
        return Sequential([layers.Conv2D(2, 3, input_shape=(5, 5, 1)), layers.Flatten(), Dense(3),
                           Dense(2)])

    keras.utils.set_random_seed(42)
    w1 = build().get_weights()
    keras.utils.set_random_seed(42)
    w2 = build().get_weights()
    keras.utils.set_random_seed(43)
    w3 = build().get_weights()
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(w1[0], w3[0])


def test_utils():
    y = keras.utils.to_categorical([0, 2, 1], num_classes=3)
    np.testing.assert_array_equal(y, np.eye(3)[[0, 2, 1]])
    assert keras.utils.to_categorical(np.array([[1], [0]])).shape == (2, 2)
    n = keras.utils.normalize(np.array([[3.0, 4.0]]))
    np.testing.assert_allclose(n, [[0.6, 0.8]])
