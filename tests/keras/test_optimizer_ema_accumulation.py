"""Optimizer ``use_ema`` (``ema_momentum``, ``ema_overwrite_frequency``, ``finalize_variable_values``) and
``gradient_accumulation_steps``, as Keras 3.15 on its JAX backend.

The references are NumPy transcriptions of Keras's formulas (``keras/src/optimizers/base_optimizer.py`` and
``keras/src/backend/jax/optimizer.py``), a few literals printed by real Keras 3.15.1 (JAX backend, run by hand), and
``fixtures/keras315_ema_accumulation.{keras,npz}`` written by ``fixtures/make_ema_accumulation_fixture.py`` there.
"""

import os

import numpy as np
import pytest

import fnflow
import fnflow.numpy as fnp
import fnflow_keras as keras
from fnflow_keras import optimizers
from fnflow_keras.variables import Variable

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
TOL = {"rtol": 2e-6, "atol": 1e-7}


@pytest.fixture(autouse=True)
def fresh_names():
    keras.backend.clear_session()
    yield
    keras.backend.clear_session()


def _grads(steps, seed=0):
    """The gradients of the Keras runs below: ``randn(3)`` then ``randn(1, 1)`` per step."""
    rs = np.random.RandomState(seed)
    return [(rs.randn(3).astype("float32"), rs.randn(1, 1).astype("float32")) for _ in range(steps)]


def _vars():
    return [Variable(np.array([1.0, -2.0, 0.5], np.float32), name="w"),
            Variable(np.array([[0.3]], np.float32), name="b")]


def _run(opt, steps=7):
    """Apply the gradients of :func:`_grads` eagerly; per step ``(iterations, step count, w, b)``."""
    vs = _vars()
    out = []
    for g in _grads(steps):
        opt.apply_gradients(zip(g, vs))
        out.append((int(opt.iterations.numpy()), int(opt.variables[0].numpy()), vs[0].numpy().copy(),
                    vs[1].numpy().copy()))
    return out, vs


# ------------------------------------------------------------------ NumPy transcription of Keras's formulas


class _Reference:
    """Keras 3.15's ``apply`` on the JAX backend, in float64: ``update(g, var, slots, count, lr)`` is the
    optimizer's own ``update_step`` (``count`` = ``iterations``, the number of updates done)."""

    def __init__(self, update, n_slots, lr=0.1, schedule=None, steps=None, ema=None, overwrite=None):
        self.update, self.lr, self.schedule, self.steps = update, lr, schedule, steps
        self.ema, self.overwrite = ema, overwrite
        self.vars = [np.array([1.0, -2.0, 0.5]), np.array([[0.3]])]
        self.slots = [[np.zeros_like(v) for _ in range(n_slots)] for v in self.vars]
        self.acc = [np.zeros_like(v) for v in self.vars]
        self.avg = [np.zeros_like(v) for v in self.vars]
        self.it = 0  # the step count (optimizer.variables[0])

    def apply(self, grads):
        grads = [np.asarray(g, np.float64) for g in grads]
        n = self.steps
        count = self.it // n if n else self.it  # Keras's `iterations` property
        is_update = not n or (self.it + 1) % n == 0
        if n and is_update:
            grads = [(g + a) / n for g, a in zip(grads, self.acc)]
            self.acc = [np.zeros_like(a) for a in self.acc]
        elif n:
            self.acc = [a + g for a, g in zip(self.acc, grads)]
        if is_update:
            lr = self.schedule(self.it) if self.schedule else self.lr  # a schedule sees the step count
            for i, g in enumerate(grads):
                self.vars[i], self.slots[i] = self.update(g, self.vars[i], self.slots[i], count, lr)
        if self.ema is not None:
            m = self.ema if count != 0 else 0.0
            self.avg = [m * a + (1 - m) * v for a, v in zip(self.avg, self.vars)]
            if self.overwrite and (count + 1) % self.overwrite == 0:
                self.vars = [a.copy() for a in self.avg]
        self.it += 1

    @property
    def iterations(self):
        return self.it // self.steps if self.steps else self.it


def _sgd_momentum(momentum):
    def update(g, var, slots, count, lr):
        m = momentum * slots[0] - lr * g
        return var + m, [m]

    return update


def _adam(b1=0.9, b2=0.999, eps=1e-7):
    def update(g, var, slots, count, lr):
        m, v = slots
        t = count + 1
        alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        return var - alpha * m / (np.sqrt(v) + eps), [m, v]

    return update


def _check_against(ref, opt, steps=7):
    vs = _vars()
    for g in _grads(steps):
        opt.apply_gradients(zip(g, vs))
        ref.apply(g)
        assert int(opt.iterations.numpy()) == ref.iterations
        assert int(opt.variables[0].numpy()) == ref.it
        for v, r in zip(vs, ref.vars):
            np.testing.assert_allclose(v.numpy(), r, rtol=1e-5, atol=1e-6)
    return vs


# ------------------------------------------------------------------ gradient accumulation


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_accumulation_3_over_7_steps_matches_keras_formulas(kind):
    if kind == "sgd":
        opt = optimizers.SGD(0.1, momentum=0.9, gradient_accumulation_steps=3)
        ref = _Reference(_sgd_momentum(0.9), 1, steps=3)
    else:
        opt = optimizers.Adam(0.1, gradient_accumulation_steps=3)
        ref = _Reference(_adam(), 2, steps=3)
    seen = []
    vs = _vars()
    for g in _grads(7):
        opt.apply_gradients(zip(g, vs))
        ref.apply(g)
        seen.append((int(opt.iterations.numpy()), int(opt.variables[0].numpy())))
        for v, r in zip(vs, ref.vars):
            np.testing.assert_allclose(v.numpy(), r, rtol=1e-5, atol=1e-6)
    # `iterations` counts the updates (step count // 3); variables[0] (the saved `iteration`) every call
    assert seen == [(0, 1), (0, 2), (1, 3), (1, 4), (1, 5), (2, 6), (2, 7)]
    # the accumulators hold the 7th gradient (the 6th call updated and reset them)
    acc = [v for v in opt.variables if v.name.endswith("_gradient_accumulator")]
    assert [v.name for v in acc] == ["w_gradient_accumulator", "b_gradient_accumulator"]
    for a, g in zip(acc, _grads(7)[-1]):
        np.testing.assert_array_equal(a.numpy(), g)
    for i in range(2):
        for s, r in zip([v for v in opt.variables if v.name.startswith("wb"[i] + "_")][1:], ref.slots[i]):
            np.testing.assert_allclose(s.numpy(), r, rtol=1e-5, atol=1e-7)


def test_accumulation_matches_real_keras_literals():
    # real Keras 3.15.1 (JAX): SGD(0.1, momentum=0.9, gradient_accumulation_steps=3) and Adam(0.1, same) on the
    # gradients of _grads(7)
    out, vs = _run(optimizers.SGD(0.1, momentum=0.9, gradient_accumulation_steps=3))
    assert [o[0] for o in out] == [0, 0, 1, 1, 1, 2, 2]
    np.testing.assert_allclose(out[2][2], [0.8823869228363037, -1.994449257850647, 0.4309043288230896], **TOL)
    np.testing.assert_allclose(out[6][2], [0.786464273929596, -2.008458137512207, 0.31467264890670776], **TOL)
    np.testing.assert_allclose(out[6][3], [[0.11764495074748993]], **TOL)
    out, vs = _run(optimizers.Adam(0.1, gradient_accumulation_steps=3))
    np.testing.assert_allclose(out[6][2], [0.8394966125488281, -1.9526599645614624, 0.3013736307621002], **TOL)
    np.testing.assert_allclose(out[6][3], [[0.16187097132205963]], **TOL)


def test_accumulation_schedule_sees_the_step_count():
    sched = optimizers.schedules.ExponentialDecay(0.1, 1, 0.5)
    opt = optimizers.SGD(sched, gradient_accumulation_steps=2)
    ref = _Reference(_sgd_momentum(0.0), 1, schedule=lambda it: 0.1 * 0.5 ** it, steps=2)
    vs = _check_against(ref, opt)
    # real Keras 3.15.1 (JAX), same optimizer and gradients
    np.testing.assert_allclose(vs[0].numpy(), [0.9067529439926147, -1.989599347114563, 0.4462650716304779], **TOL)
    np.testing.assert_allclose(vs[1].numpy(), [[0.23908108472824097]], **TOL)
    assert [v.name for v in opt.variables] == ["iteration", "w_gradient_accumulator", "b_gradient_accumulator"]


def test_accumulation_with_clipping_and_weight_decay_uses_the_average():
    opt = optimizers.SGD(0.1, gradient_accumulation_steps=2, clipvalue=0.5, weight_decay=0.1)
    w = Variable(np.array([1.0], np.float32), name="w")
    opt.apply_gradients([(np.array([3.0], np.float32), w)])
    np.testing.assert_array_equal(w.numpy(), [1.0])  # neither decay nor update before the 2nd call
    opt.apply_gradients([(np.array([-1.0], np.float32), w)])
    # average 1.0, clipped to 0.5; decay w -= w * 0.1 * 0.1 then w -= 0.1 * 0.5
    np.testing.assert_allclose(w.numpy(), [1.0 - 0.01 - 0.05], rtol=1e-6)


def test_iterations_view_is_read_only():
    opt = optimizers.SGD(0.1, gradient_accumulation_steps=2)
    w = Variable(np.array([1.0], np.float32), name="w")
    for _ in range(5):
        opt.apply_gradients([(np.array([1.0], np.float32), w)])
    assert int(opt.iterations.numpy()) == 2 and int(opt.iterations) == 2
    with pytest.raises(TypeError, match="variables\\[0\\]"):
        opt.iterations.assign(0)


# ------------------------------------------------------------------ EMA


@pytest.mark.parametrize("overwrite", [None, 3])
def test_ema_matches_keras_formulas(overwrite):
    opt = optimizers.SGD(0.1, momentum=0.5, use_ema=True, ema_momentum=0.8, ema_overwrite_frequency=overwrite)
    ref = _Reference(_sgd_momentum(0.5), 1, ema=0.8, overwrite=overwrite)
    _check_against(ref, opt)
    avgs = [v for v in opt.variables if v.name.endswith("_average")]
    assert [v.name for v in opt.variables[:4]] == ["iteration", "learning_rate", "w_average", "b_average"]
    for a, r in zip(avgs, ref.avg):
        np.testing.assert_allclose(a.numpy(), r, rtol=1e-5, atol=1e-6)


def test_ema_first_step_copies_the_variables():
    opt = optimizers.SGD(1.0, use_ema=True, ema_momentum=0.99)
    w = Variable(np.array([1.0], np.float32), name="w")
    opt.apply_gradients([(np.array([0.5], np.float32), w)])
    np.testing.assert_array_equal(opt.variables[2].numpy(), [0.5])
    opt.apply_gradients([(np.array([0.5], np.float32), w)])
    np.testing.assert_allclose(opt.variables[2].numpy(), [0.99 * 0.5], rtol=1e-6)
    opt.finalize_variable_values([w])
    np.testing.assert_allclose(w.numpy(), [0.495], rtol=1e-6)


def test_ema_matches_real_keras_literals():
    # real Keras 3.15.1 (JAX) on the gradients of _grads(7)
    opt = optimizers.Adam(0.1, use_ema=True, ema_momentum=0.9)
    out, vs = _run(opt)
    np.testing.assert_allclose(out[6][2], [0.5059211254119873, -2.029304265975952, -0.1089898943901062], **TOL)
    np.testing.assert_allclose(opt.variables[2].numpy(), [0.7662891149520874, -2.074181318283081,
                                                          0.24474386870861053], **TOL)
    opt.finalize_variable_values(vs)
    np.testing.assert_allclose(vs[1].numpy(), [[0.1017381027340889]], **TOL)

    out, _ = _run(optimizers.SGD(0.1, use_ema=True, ema_momentum=0.8, ema_overwrite_frequency=3))
    np.testing.assert_allclose(out[2][2], [0.7584270238876343, -2.0130457878112793, 0.36504215002059937], **TOL)
    np.testing.assert_allclose(out[6][2], [0.4915858805179596, -1.8792335987091064, 0.31024664640426636], **TOL)


def test_ema_and_accumulation_together_match_real_keras():
    opt = optimizers.Adam(0.1, use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=2,
                          gradient_accumulation_steps=2)
    ref = _Reference(_adam(), 2, steps=2, ema=0.5, overwrite=2)
    vs = _check_against(ref, opt)
    # real Keras 3.15.1 (JAX): the order of optimizer.variables and the last values
    assert [v.name for v in opt.variables] == [
        "iteration", "learning_rate", "w_average", "b_average", "w_gradient_accumulator", "b_gradient_accumulator",
        "w_momentum", "w_velocity", "b_momentum", "b_velocity"]
    np.testing.assert_allclose(vs[0].numpy(), [0.8294926881790161, -1.9250028133392334, 0.2899821996688843], **TOL)
    assert int(opt.iterations.numpy()) == 3


class _MomentumSGD(optimizers.Optimizer):
    """A Keras 3 custom optimizer (``build`` + ``update_step``) whose step reads ``self.iterations``."""

    def __init__(self, learning_rate=0.1, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)

    def build(self, var_list):
        super().build(var_list)
        self.velocities = [self.add_variable_from_reference(v, "velocity") for v in var_list]

    def update_step(self, gradient, variable, learning_rate):
        v = self.velocities[self._get_variable_index(variable)]
        scale = 1.0 / fnp.asarray(self.iterations.value + 1).astype(variable.dtype)
        self.assign(v, 0.5 * v - learning_rate * scale * gradient)
        self.assign_add(variable, v)


def _custom_reference(**kw):
    def update(g, var, slots, count, lr):
        m = 0.5 * slots[0] - lr / (count + 1) * g
        return var + m, [m]

    return _Reference(update, 1, **kw)


def test_custom_update_step_with_accumulation_and_ema():
    opt = _MomentumSGD(0.1, gradient_accumulation_steps=3, use_ema=True, ema_momentum=0.7, ema_overwrite_frequency=2)
    _check_against(_custom_reference(steps=3, ema=0.7, overwrite=2), opt)
    # Keras's order: super().build creates the averages and accumulators before the subclass's slots
    assert [v.name for v in opt.variables] == [
        "iteration", "learning_rate", "w_average", "b_average", "w_gradient_accumulator", "b_gradient_accumulator",
        "w_velocity", "b_velocity"]


# ------------------------------------------------------------------ fit


def _data():
    rs = np.random.RandomState(3)
    return rs.randn(28, 3).astype("float32"), rs.randn(28, 2).astype("float32")


def _model(opt, run_eagerly=False):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(2)])
    model.set_weights([np.random.RandomState(10 + i).uniform(-0.5, 0.5, w.shape).astype("float32")
                       for i, w in enumerate(model.get_weights())])
    model.compile(optimizer=opt, loss="mse", run_eagerly=run_eagerly)
    return model


def _opt():
    return optimizers.Adam(0.05, use_ema=True, ema_momentum=0.6, ema_overwrite_frequency=2,
                           gradient_accumulation_steps=3)


def test_jitted_fit_equals_eager_apply_gradients_sequence():
    x, y = _data()
    model = _model(_opt())
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)  # 7 steps
    assert model.train_function.trace_count == 1
    assert int(model.optimizer.variables[0].numpy()) == 7 and int(model.optimizer.iterations.numpy()) == 2

    ref = _model(_opt())
    ntv = [v.value for v in ref.non_trainable_variables]
    for i in range(0, 28, 4):
        xb, yb = x[i:i + 4], y[i:i + 4]

        def loss(tv):
            pred, _ = ref.stateless_call(tv, ntv, xb)
            return fnp.mean(fnp.mean(fnp.square(pred - yb), axis=-1))

        grads = fnflow.grad(loss)([v.value for v in ref.trainable_variables])
        ref.optimizer.apply_gradients(zip(grads, ref.trainable_variables))
    ref.optimizer.finalize_variable_values(ref.trainable_variables)
    for a, b in zip(model.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert len(model.optimizer.variables) == len(ref.optimizer.variables) == 18
    for a, b in zip(model.optimizer.variables, ref.optimizer.variables):
        assert a.name.split("_")[-1] == b.name.split("_")[-1]
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_fit_run_eagerly_equals_jitted():
    x, y = _data()
    a = _model(_opt())
    a.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    b = _model(_opt(), run_eagerly=True)
    b.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for u, v in zip(a.get_weights() + a.optimizer.get_weights(), b.get_weights() + b.optimizer.get_weights()):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)


def test_fit_finalizes_with_the_averages():
    x, y = _data()
    seen = {}

    class Spy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen["epoch_end"] = [w.copy() for w in self.model.get_weights()]

        def on_train_end(self, logs=None):
            seen["train_end"] = [w.copy() for w in self.model.get_weights()]

    model = _model(optimizers.SGD(0.1, use_ema=True, ema_momentum=0.9))
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[Spy()])
    avgs = [v.numpy() for v in model.optimizer.variables if v.name.endswith("_average")]
    assert len(avgs) == 4
    for w, a, before in zip(model.get_weights(), avgs, seen["epoch_end"]):
        np.testing.assert_array_equal(w, a)
        assert not np.allclose(w, before)  # the last weights were not the averages
    for w, a in zip(seen["train_end"], avgs):  # done before on_train_end, as Keras
        np.testing.assert_array_equal(w, a)

    plain = _model(optimizers.SGD(0.1))
    plain.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert not any(v.name.endswith("_average") for v in plain.optimizer.variables)


# ------------------------------------------------------------------ config and saving


def test_config_round_trip_and_argument_checks():
    opt = optimizers.Adam(0.01, use_ema=True, ema_momentum=0.95, ema_overwrite_frequency=4,
                          gradient_accumulation_steps=5)
    cfg = opt.get_config()
    assert (cfg["use_ema"], cfg["ema_momentum"], cfg["ema_overwrite_frequency"],
            cfg["gradient_accumulation_steps"]) == (True, 0.95, 4, 5)
    assert optimizers.Adam.from_config(cfg).get_config() == cfg
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        optimizers.SGD(gradient_accumulation_steps=1)
    with pytest.raises(ValueError, match="ema_momentum"):
        optimizers.SGD(use_ema=True, ema_momentum=1.5)
    with pytest.raises(ValueError, match="ema_overwrite_frequency"):
        optimizers.SGD(use_ema=True, ema_overwrite_frequency=0.5)


def test_keras_file_round_trip_continues_identically(tmp_path):
    x, y = _data()
    model = _model(_opt())
    model.fit(x[:20], y[:20], batch_size=4, epochs=1, shuffle=False, verbose=0)  # 5 steps, mid-accumulation
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.optimizer.gradient_accumulation_steps == 3 and loaded.optimizer.use_ema
    assert len(model.optimizer.variables) == len(loaded.optimizer.variables) == 18
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        assert a.name.split("_")[-1] == b.name.split("_")[-1]
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for m in (model, loaded):
        m.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights() + model.optimizer.get_weights(),
                    loaded.get_weights() + loaded.optimizer.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_real_keras_file_loads_and_continues_identically():
    ref = np.load(os.path.join(FIXTURES, "keras315_ema_accumulation.npz"))
    model = keras.models.load_model(os.path.join(FIXTURES, "keras315_ema_accumulation.keras"))
    opt = model.optimizer
    assert (opt.use_ema, opt.ema_momentum, opt.ema_overwrite_frequency, opt.gradient_accumulation_steps) == \
        (True, 0.9, 3, 2)
    assert [v.name for v in opt.variables] == [p.split("/", 1)[1] for p in ref["opt_paths"]]
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_array_equal(w, ref[f"saved_w{i}"])
    for i, v in enumerate(opt.variables):
        np.testing.assert_array_equal(v.numpy(), ref[f"saved_opt{i}"])
    assert int(opt.iterations.numpy()) == 2  # 5 calls // 2
    hist = model.fit(ref["x"], ref["y"], batch_size=4, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(hist.history["loss"][0], ref["loss"], rtol=1e-5)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, ref[f"after_w{i}"], rtol=1e-5, atol=1e-6)
    for i, v in enumerate(opt.variables):
        np.testing.assert_allclose(v.numpy(), ref[f"after_opt{i}"], rtol=1e-5, atol=1e-6)


def test_train_on_batch_draws_new_dropout_masks_while_accumulating():
    # with accumulation `iterations` counts updates; the dropout key must follow calls (two calls, two masks)
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dropout(0.5), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.0, gradient_accumulation_steps=2), "mse")
    x, y = np.ones((8, 16), "float32"), np.zeros((8, 1), "float32")
    first, second = model.train_on_batch(x, y), model.train_on_batch(x, y)
    assert first != second
