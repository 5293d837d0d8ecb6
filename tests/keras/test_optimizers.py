"""Keras optimizer classes: names, arguments, state variables, learning rate, schedules, custom subclasses."""

import warnings

import numpy as np
import pytest

import fnflow_keras as keras
from fnflow_keras import optimizers
from fnflow_keras.variables import Variable


def _var(values):
    return Variable(np.asarray(values, np.float32), name="w")


@pytest.mark.parametrize("name,cls", [("adam", "Adam"), ("sgd", "SGD"), ("rmsprop", "RMSprop"), ("adagrad", "Adagrad"),
                                      ("adadelta", "Adadelta"), ("adamax", "Adamax"), ("nadam", "Nadam"),
                                      ("adamw", "AdamW"), ("lion", "Lion")])
def test_string_names_and_one_step(name, cls):
    opt = optimizers.get(name)
    assert type(opt).__name__ == cls
    w = _var([1.0, -2.0])
    opt.apply_gradients([(np.array([0.5, -0.5], np.float32), w)])
    assert int(opt.iterations.numpy()) == 1
    assert np.all(w.numpy() != np.array([1.0, -2.0], np.float32))
    again = type(opt).from_config(opt.get_config())
    assert again.get_config() == opt.get_config()


def test_adam_matches_hand_computation():
    opt = optimizers.Adam(learning_rate=0.1)
    w = _var([1.0, 2.0])
    g = np.array([0.5, -1.0], np.float32)
    for _ in range(2):
        opt.apply_gradients([(g, w)])
    m = v = np.zeros(2)
    p = np.array([1.0, 2.0])
    for t in (1, 2):
        m = m + (g - m) * 0.1
        v = v + (g * g - v) * 0.001
        p = p - 0.1 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t) * m / (np.sqrt(v) + 1e-7)
    np.testing.assert_allclose(w.numpy(), p, rtol=1e-5)
    names = [v.name for v in opt.variables]
    assert names == ["iteration", "learning_rate", "w_momentum", "w_velocity"]


def test_learning_rate_property_and_clipping():
    opt = optimizers.SGD(learning_rate=0.5, clipvalue=0.1)
    assert float(opt.learning_rate) == 0.5
    opt.learning_rate = 0.25
    np.testing.assert_allclose(opt.learning_rate.numpy(), 0.25)
    w = _var([0.0])
    opt.apply_gradients([(np.array([10.0], np.float32), w)])
    np.testing.assert_allclose(w.numpy(), [-0.025], rtol=1e-6)
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)
    with pytest.warns(DeprecationWarning):
        old = optimizers.SGD(lr=0.3)
    np.testing.assert_allclose(float(old.learning_rate), 0.3, rtol=1e-6)


def test_schedule_learning_rate():
    sched = optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    opt = optimizers.SGD(learning_rate=sched)
    w = _var([0.0])
    for _ in range(3):
        opt.apply_gradients([(np.array([1.0], np.float32), w)])
    np.testing.assert_allclose(w.numpy(), [-(0.1 + 0.05 + 0.025)], rtol=1e-5)
    np.testing.assert_allclose(float(opt.learning_rate), 0.0125, rtol=1e-5)
    with pytest.raises(TypeError):
        opt.learning_rate = 0.1
    cfg = opt.get_config()
    assert cfg["learning_rate"]["class_name"] == "ExponentialDecay"
    assert isinstance(optimizers.SGD.from_config(cfg)._schedule, optimizers.schedules.ExponentialDecay)


def test_weight_decay_and_exclusion():
    opt = optimizers.SGD(learning_rate=0.1, weight_decay=0.5)
    a, b = Variable(np.ones(1, np.float32), name="kernel"), Variable(np.ones(1, np.float32), name="bias")
    opt.exclude_from_weight_decay(var_names=["bias"])
    opt.apply_gradients([(np.zeros(1, np.float32), a), (np.zeros(1, np.float32), b)])
    np.testing.assert_allclose(a.numpy(), [0.95])
    np.testing.assert_allclose(b.numpy(), [1.0])


class MomentumSGD(optimizers.Optimizer):
    """A Keras 3 custom optimizer: build + update_step with add_variable_from_reference and assign."""

    def __init__(self, learning_rate=0.1, momentum=0.9, name="momentum_sgd", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.momentum = momentum

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.velocities = [self.add_variable_from_reference(v, "velocity") for v in var_list]

    def update_step(self, gradient, variable, learning_rate):
        v = self.velocities[self._get_variable_index(variable)]
        self.assign(v, self.momentum * v - learning_rate * gradient)
        self.assign_add(variable, v)


def test_custom_optimizer_eager_and_in_fit():
    opt = MomentumSGD()
    w = _var([1.0])
    for _ in range(2):
        opt.apply_gradients([(np.array([1.0], np.float32), w)])
    np.testing.assert_allclose(w.numpy(), [1.0 - 0.1 - 0.19], rtol=1e-6)
    assert int(opt.iterations.numpy()) == 2

    x = np.random.RandomState(0).rand(32, 2).astype("float32")
    y = x @ np.array([[1.0], [-1.0]], np.float32)
    ref = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
    init = ref.get_weights()
    ref.compile(optimizer=optimizers.SGD(0.1, momentum=0.9), loss="mse")
    ref.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
    model.set_weights(init)
    model.compile(optimizer=MomentumSGD(0.1), loss="mse")
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert model.train_function.trace_count == 1
    assert [v.name for v in model.optimizer.variables][:2] == ["iteration", "learning_rate"]


def test_keras2_get_updates_subclass_warns_and_runs():
    class Legacy(optimizers.Optimizer):
        def __init__(self, learning_rate=0.01):
            super().__init__()
            self.learning_rate = learning_rate

        def get_updates(self, loss, params):
            grads = self.get_gradients(loss, params)
            return [(p, p - self.learning_rate * g) for p, g in zip(params, grads)]

    model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer=Legacy(0.1), loss="mse")
    before = model.get_weights()
    with pytest.warns(DeprecationWarning, match="get_updates"):
        model.fit(np.ones((4, 2), "float32"), np.zeros((4, 1), "float32"), epochs=1, verbose=0)
    assert not np.allclose(before[0], model.get_weights()[0])


def test_set_learning_rate_between_fits_does_not_retrace():
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="adam", loss="mse")
    x, y = np.ones((4, 2), "float32"), np.zeros((4, 1), "float32")
    model.fit(x, y, verbose=0)
    n = model.train_function.trace_count
    model.optimizer.learning_rate = 0.5
    model.optimizer.learning_rate.assign(0.25)
    model.fit(x, y, verbose=0)
    assert model.train_function.trace_count == n
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.25)


def test_serialize_roundtrip():
    opt = optimizers.RMSprop(learning_rate=0.01, rho=0.8, centered=True)
    cfg = optimizers.serialize(opt)
    assert cfg["class_name"] == "RMSprop" and cfg["config"]["rho"] == 0.8
    again = optimizers.deserialize(cfg)
    assert isinstance(again, optimizers.RMSprop) and again.centered
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optimizers.get("Adam")
