"""keras.constraints: values, wiring into layers, application by the optimizer (eager and jitted), saving.

Literal expected numbers marked "real Keras" were printed by Keras 3.15.1 on the JAX backend (run by hand in a
separate environment); ``fixtures/keras315_constraints.keras`` was saved by it too (script in the docstring of
``test_load_real_keras_file_and_fit_matches_real_keras``).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import fnflow
import fnflow_keras as keras
from fnflow_keras import constraints as C

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
EPS = 1e-7  # keras.backend.epsilon(), added to the norm in the denominator

W = (np.arange(12, dtype="float32").reshape(3, 4) - 5.0) / 3.0


def _np_norms(w, axis):
    return np.sqrt(np.sum(np.square(w.astype(np.float64)), axis=axis, keepdims=True))


# ------------------------------------------------------------------ values


def test_values_match_real_keras_2d():
    # real Keras: print(c(W).tolist()) for each constraint
    unit = [[-0.8451542258262634, -0.7071067094802856, -0.5070925354957581, -0.30151134729385376],
            [-0.16903084516525269, 0.0, 0.16903084516525269, 0.30151134729385376],
            [0.5070925354957581, 0.7071067094802856, 0.8451542258262634, 0.9045340418815613]]
    min_max = [[-1.3874119520187378, -1.1424620151519775, -0.8324471712112427, -0.5165868997573853],
               [-0.27748239040374756, 0.0, 0.27748239040374756, 0.5165868997573853],
               [0.8324471712112427, 1.1424620151519775, 1.3874119520187378, 1.5497606992721558]]
    non_neg = [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.3333333432674408, 0.6666666865348816],
               [1.0, 1.3333333730697632, 1.6666666269302368, 2.0]]
    max_norm_axis1 = [[-1.3608275651931763, -1.0886621475219727, -0.8164965510368347, -0.5443310737609863],
                      [-0.3333333134651184, 0.0, 0.3333333134651184, 0.6666666269302368],
                      [0.6469966769218445, 0.8626622557640076, 1.0783277750015259, 1.293993353843689]]
    np.testing.assert_allclose(C.MaxNorm(1.0)(W), unit, rtol=1e-6, atol=1e-7)  # every column norm > 1
    np.testing.assert_allclose(C.UnitNorm()(W), unit, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(C.MinMaxNorm(0.5, 1.5, 0.7)(W), min_max, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(C.NonNeg()(W), non_neg)
    np.testing.assert_allclose(C.MaxNorm(2.0, axis=1)(W), max_norm_axis1, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("axis", [0, 1, [0, 1], (0, 1, 2)])
def test_norm_constraints_against_numpy_4d(axis):
    rng = np.random.RandomState(0)
    w = (rng.randn(3, 3, 2, 5) * rng.uniform(0.1, 3.0, size=(1, 1, 1, 5))).astype("float32")
    ax = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    norms = _np_norms(w, ax)
    expected = {
        "max": w * (np.clip(norms, 0, 1.2) / (EPS + norms)),
        "unit": w / (EPS + norms),
        "minmax": w * ((0.3 * np.clip(norms, 0.8, 1.5) + 0.7 * norms) / (EPS + norms)),
    }
    got = {"max": C.MaxNorm(1.2, axis=axis)(w), "unit": C.UnitNorm(axis=axis)(w),
           "minmax": C.MinMaxNorm(0.8, 1.5, rate=0.3, axis=axis)(w)}
    for k in expected:
        assert got[k].shape == w.shape and got[k].dtype == np.float32, k
        np.testing.assert_allclose(got[k], expected[k], rtol=2e-6, atol=1e-7, err_msg=k)
    assert np.all(_np_norms(np.asarray(got["max"]), ax) <= 1.2 + 1e-5)
    np.testing.assert_allclose(_np_norms(np.asarray(got["unit"]), ax), 1.0, rtol=1e-5)


def test_nonneg_and_dtypes():
    w = np.array([[-1.5, 0.0], [2.0, -0.0]], "float64")
    out = C.NonNeg()(w)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[0.0, 0.0], [2.0, 0.0]])
    assert C.MaxNorm(1.0)(w).dtype == np.float64
    assert C.UnitNorm()(np.ones((2, 2), "int32")).dtype == np.float32  # the norm is a float: Keras casts w to it
    assert C.Constraint()(w) is w  # the base class is the identity


def test_constraints_work_on_traced_values():
    rng = np.random.RandomState(1)
    w = rng.randn(4, 3).astype("float32") * 2
    for c in (C.MaxNorm(0.7), C.UnitNorm(axis=1), C.MinMaxNorm(0.2, 0.9, 0.5), C.NonNeg()):
        np.testing.assert_allclose(fnflow.jit(c)(w), c(w), rtol=1e-6, atol=1e-7, err_msg=type(c).__name__)
    # differentiable like any fnflow function: d/dw sum(UnitNorm(w)) is finite
    g = fnflow.grad(lambda v: fnflow.numpy.sum(C.UnitNorm()(v)))(w.astype("float64"))
    assert np.all(np.isfinite(g))


# ------------------------------------------------------------------ get / serialize


def test_get_names_classes_instances_dicts_callables():
    assert C.get(None) is None
    assert isinstance(C.get("max_norm"), C.MaxNorm) and C.get("max_norm").max_value == 2
    assert isinstance(C.get("MaxNorm"), C.MaxNorm)
    assert isinstance(C.get("non_neg"), C.NonNeg) and isinstance(C.get("NonNeg"), C.NonNeg)
    assert isinstance(C.get("unit_norm"), C.UnitNorm) and isinstance(C.get("min_max_norm"), C.MinMaxNorm)
    assert isinstance(C.get(C.UnitNorm), C.UnitNorm)  # a class is instantiated
    c = C.MinMaxNorm(0.1, 0.2, 0.3, axis=[0, 1])
    assert C.get(c) is c

    def fn(w):
        return w

    assert C.get(fn) is fn
    assert C.max_norm is C.MaxNorm and C.min_max_norm is C.MinMaxNorm and C.non_neg is C.NonNeg
    assert C.unit_norm is C.UnitNorm
    got = C.get({"class_name": "MaxNorm", "config": {"max_value": 3}})  # a dict without module
    assert isinstance(got, C.MaxNorm) and got.max_value == 3 and got.axis == 0
    assert keras.constraints is C


def test_get_bad_identifier_names_it():
    with pytest.raises(ValueError, match="maxnorm_typo"):
        C.get("maxnorm_typo")
    with pytest.raises(ValueError, match="Could not interpret constraint identifier"):
        C.get(42)


def test_serialize_matches_real_keras_and_round_trips():
    # real Keras: keras.constraints.serialize(...)
    assert C.serialize(C.MaxNorm(1.5)) == {"module": "keras.constraints", "class_name": "MaxNorm",
                                           "config": {"max_value": 1.5, "axis": 0}, "registered_name": None}
    assert C.serialize(C.NonNeg()) == {"module": "keras.constraints", "class_name": "NonNeg", "config": {},
                                       "registered_name": None}
    assert C.serialize(C.Constraint()) == {"module": "keras.constraints", "class_name": "Constraint",
                                           "config": {}, "registered_name": None}
    assert C.serialize(C.UnitNorm(axis=(0, 1)))["config"] == {"axis": [0, 1]}
    assert C.serialize(None) is None
    for c in (C.MaxNorm(1.5, axis=[0, 1]), C.MinMaxNorm(0.1, 0.9, 0.5, 1), C.NonNeg(), C.UnitNorm(2),
              C.Constraint()):
        back = C.deserialize(C.serialize(c))
        assert type(back) is type(c) and back.get_config() == C.serialize(c)["config"]
        assert type(C.get(C.serialize(c))) is type(c)


@keras.saving.register_keras_serializable(package="TestConstraints")
class Clip(C.Constraint):
    """A user constraint: clip every weight to [-limit, limit]."""

    def __init__(self, limit=0.5):
        self.limit = limit

    def __call__(self, w):
        return fnflow.numpy.clip(w, -self.limit, self.limit)

    def get_config(self):
        return {"limit": self.limit}


def test_custom_constraint_subclass_round_trips_in_a_layer():
    d = keras.layers.Dense(2, kernel_constraint=Clip(0.25))
    cfg = d.get_config()
    assert cfg["kernel_constraint"]["registered_name"] == "TestConstraints>Clip"
    d2 = keras.layers.Dense.from_config(cfg)
    assert isinstance(d2.kernel_constraint, Clip) and d2.kernel_constraint.limit == 0.25


# ------------------------------------------------------------------ wiring into layers


def _build(layer, shape):
    layer(np.ones(shape, "float32"))
    return layer


LAYERS = [
    (lambda: keras.layers.Dense(3, kernel_constraint="max_norm", bias_constraint="non_neg"), (2, 4),
     {"kernel": "MaxNorm", "bias": "NonNeg"}),
    (lambda: keras.layers.EinsumDense("ab,bc->ac", (3,), bias_axes="c", kernel_constraint="unit_norm",
                                      bias_constraint="non_neg"), (2, 4), {"kernel": "UnitNorm", "bias": "NonNeg"}),
    (lambda: keras.layers.Conv2D(2, 3, kernel_constraint=C.MaxNorm(1.0, axis=[0, 1, 2]),
                                 bias_constraint="non_neg"), (1, 5, 5, 3), {"kernel": "MaxNorm", "bias": "NonNeg"}),
    (lambda: keras.layers.Conv1DTranspose(2, 3, kernel_constraint="non_neg"), (1, 5, 3), {"kernel": "NonNeg"}),
    (lambda: keras.layers.DepthwiseConv2D(3, depthwise_constraint="non_neg", bias_constraint="unit_norm"),
     (1, 5, 5, 3), {"kernel": "NonNeg", "bias": "UnitNorm"}),
    (lambda: keras.layers.SeparableConv2D(2, 3, depthwise_constraint="unit_norm", pointwise_constraint="non_neg",
                                          bias_constraint="max_norm"), (1, 5, 5, 3),
     {"depthwise_kernel": "UnitNorm", "pointwise_kernel": "NonNeg", "bias": "MaxNorm"}),
    (lambda: keras.layers.BatchNormalization(gamma_constraint="non_neg", beta_constraint="max_norm"), (2, 3),
     {"gamma": "NonNeg", "beta": "MaxNorm"}),
    (lambda: keras.layers.LayerNormalization(gamma_constraint="non_neg", beta_constraint="unit_norm"), (2, 3),
     {"gamma": "NonNeg", "beta": "UnitNorm"}),
    (lambda: keras.layers.GroupNormalization(1, gamma_constraint="non_neg"), (2, 3), {"gamma": "NonNeg"}),
    (lambda: keras.layers.PReLU(alpha_constraint="non_neg"), (2, 3), {"alpha": "NonNeg"}),
    (lambda: keras.layers.Embedding(5, 2, embeddings_constraint="unit_norm"), (2, 3), {"embeddings": "UnitNorm"}),
    (lambda: keras.layers.LSTM(2, kernel_constraint="max_norm", recurrent_constraint="unit_norm",
                               bias_constraint="non_neg"), (1, 4, 3),
     {"kernel": "MaxNorm", "recurrent_kernel": "UnitNorm", "bias": "NonNeg"}),
    (lambda: keras.layers.GRU(2, kernel_constraint="non_neg"), (1, 4, 3), {"kernel": "NonNeg"}),
    (lambda: keras.layers.SimpleRNN(2, bias_constraint="non_neg"), (1, 4, 3), {"bias": "NonNeg"}),
]


def _constraint_names(layer):
    return {w.name: type(w.constraint).__name__ for w in layer.weights if w.constraint is not None}


@pytest.mark.parametrize("make,shape,expected", LAYERS, ids=[f"layer{i}" for i in range(len(LAYERS))])
def test_layer_variables_keep_constraints_through_config(make, shape, expected):
    layer = _build(make(), shape)
    assert _constraint_names(layer) == expected
    cfg = layer.get_config()
    written = {k: v for k, v in cfg.items() if k.endswith("_constraint") and v is not None}
    assert written and all(v["module"] == "keras.constraints" for v in written.values())
    assert sorted(v["class_name"] for v in written.values()) == sorted(expected.values())
    clone = _build(type(layer).from_config(cfg), shape)
    assert _constraint_names(clone) == expected


def test_multi_head_attention_passes_constraints_to_its_projections():
    mha = keras.layers.MultiHeadAttention(2, 3, kernel_constraint="max_norm", bias_constraint="non_neg")
    q = np.ones((1, 4, 5), "float32")
    mha(q, q)
    clone = keras.layers.MultiHeadAttention.from_config(mha.get_config())
    clone(q, q)
    for layer in (mha, clone):
        names = {w.path.split("/", 1)[1]: type(w.constraint).__name__ for w in layer.weights}
        assert names == {f"{p}/{k}": ("MaxNorm" if k == "kernel" else "NonNeg")
                         for p in ("query", "key", "value", "attention_output") for k in ("kernel", "bias")}


def test_add_weight_and_variable_keep_the_constraint():
    layer = keras.layers.Layer()
    v = layer.add_weight(shape=(2,), initializer="ones", constraint="non_neg")
    assert isinstance(v.constraint, C.NonNeg)
    assert layer.add_weight(shape=(2,)).constraint is None
    var = keras.Variable(np.ones(3, "float32"), constraint=C.UnitNorm())
    assert isinstance(var.constraint, C.UnitNorm)
    # the initial value is not projected (Keras applies constraints only after optimizer updates)
    np.testing.assert_array_equal(var.numpy(), [1.0, 1.0, 1.0])


# ------------------------------------------------------------------ applied by the optimizer


def _data(bias_shift=0.0):
    rng = np.random.RandomState(0)
    x = rng.randn(64, 5).astype("float32")
    y = (x @ (rng.randn(5, 3) * 3) + bias_shift).astype("float32")
    return x, y


def _fit_dense(kernel_constraint=None, bias_constraint=None, bias_shift=0.0, jit_compile=True):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, kernel_constraint=kernel_constraint,
                                                                    bias_constraint=bias_constraint)])
    model.compile(keras.optimizers.SGD(0.1), "mse", jit_compile=jit_compile)
    x, y = _data(bias_shift)
    model.fit(x, y, epochs=4, batch_size=16, verbose=0)
    return model.layers[0]


@pytest.mark.parametrize("jit_compile", [True, False])
def test_fit_keeps_max_norm_kernel(jit_compile):
    free = _fit_dense(jit_compile=jit_compile)
    assert np.all(np.linalg.norm(free.kernel.numpy(), axis=0) > 1.5)  # the constraint has something to do
    layer = _fit_dense(kernel_constraint=C.MaxNorm(1.0), jit_compile=jit_compile)
    norms = np.linalg.norm(layer.kernel.numpy(), axis=0)
    assert np.all(norms <= 1.0 + 1e-5)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)  # pushed to the bound each step


def test_fit_keeps_non_negative_bias():
    free = _fit_dense(bias_shift=-2.0)
    assert np.all(free.bias.numpy() < -0.5)
    layer = _fit_dense(bias_constraint="non_neg", bias_shift=-2.0)
    assert np.all(layer.bias.numpy() >= 0.0)
    np.testing.assert_array_equal(layer.bias.numpy(), 0.0)


def test_apply_gradients_applies_constraints_like_real_keras():
    d = keras.layers.Dense(2, kernel_constraint=C.MaxNorm(1.0), bias_constraint=C.NonNeg())
    d.build((None, 3))
    d.set_weights([W[:, :2].copy(), np.array([0.05, -0.1], "float32")])
    opt = keras.optimizers.SGD(0.5)
    grads = [np.ones((3, 2), "float32"), np.array([0.2, -0.4], "float32")]
    opt.apply_gradients(zip(grads, d.trainable_weights))
    # real Keras: the same layer, weights, optimizer and gradients
    np.testing.assert_allclose(d.kernel.numpy(), [[-0.9124211668968201, -0.8835412263870239],
                                                  [-0.3509312570095062, -0.24096578359603882],
                                                  [0.21055874228477478, 0.4016096591949463]], rtol=1e-6)
    np.testing.assert_allclose(d.bias.numpy(), [0.0, 0.10000000149011612], rtol=1e-6)


def test_apply_skips_variables_without_gradient_and_custom_optimizers_apply_too():
    a = keras.Variable(np.array([3.0, 4.0], "float32"), constraint=C.MaxNorm(1.0), name="a")
    b = keras.Variable(np.array([-1.0, 2.0], "float32"), constraint=C.NonNeg(), name="b")

    class PlainSGD(keras.optimizers.Optimizer):
        def update_step(self, gradient, variable, learning_rate):
            variable.assign(variable - learning_rate * gradient)

    opt = PlainSGD(learning_rate=1.0)
    opt.apply([np.zeros(2, "float32"), np.array([1.0, 0.0], "float32")], [a, b])
    np.testing.assert_allclose(a.numpy(), [0.6, 0.8], rtol=1e-6)
    np.testing.assert_array_equal(b.numpy(), [0.0, 2.0])
    # Keras leaves variables without a gradient alone (not projected)
    c = keras.Variable(np.array([3.0, 4.0], "float32"), constraint=C.MaxNorm(1.0), name="c")
    d = keras.Variable(np.array([1.0], "float32"), name="d")
    keras.optimizers.SGD(1.0).apply([None, np.array([1.0], "float32")], [c, d])
    np.testing.assert_array_equal(c.numpy(), [3.0, 4.0])


def test_stateless_apply_is_pure_and_constrains():
    v = keras.Variable(np.array([3.0, 4.0], "float32"), constraint=C.UnitNorm())
    opt = keras.optimizers.SGD(0.0)
    opt.build([v])
    new_tv, _ = fnflow.jit(opt.stateless_apply)([x.value for x in opt._state_variables],
                                                [np.zeros(2, "float32")], [v.value])
    np.testing.assert_allclose(new_tv[0], [0.6, 0.8], rtol=1e-6)
    np.testing.assert_array_equal(v.numpy(), [3.0, 4.0])


# ------------------------------------------------------------------ saving


def test_keras_file_round_trip_keeps_constraints(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)),
                              keras.layers.Dense(3, kernel_constraint=C.MaxNorm(0.5, axis=[0]),
                                                 bias_constraint="non_neg", name="dense"),
                              keras.layers.Dense(1, kernel_constraint=C.MinMaxNorm(0.2, 0.4, rate=0.5),
                                                 name="dense_1")])
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    got = {w.path: (type(w.constraint).__name__, w.constraint.get_config()) for w in loaded.weights
           if w.constraint is not None}
    assert got == {"dense/kernel": ("MaxNorm", {"max_value": 0.5, "axis": [0]}), "dense/bias": ("NonNeg", {}),
                   "dense_1/kernel": ("MinMaxNorm", {"min_value": 0.2, "max_value": 0.4, "rate": 0.5,
                                                     "axis": 0})}
    model_json = keras.models.model_from_json(model.to_json())
    assert type(model_json.layers[0].kernel_constraint) is C.MaxNorm


def test_load_real_keras_file_and_fit_matches_real_keras():
    """``fixtures/keras315_constraints.keras`` was written by real Keras 3.15.1 (JAX backend)::

        keras.utils.set_random_seed(3)
        m = keras.Sequential([keras.Input((3,)),
            keras.layers.Dense(4, kernel_constraint=MaxNorm(1.5), bias_constraint="non_neg", name="d1"),
            keras.layers.Dense(2, kernel_constraint=MinMaxNorm(0.5, 1.0, rate=0.5, axis=[0]), name="d2")])
        m.save("keras315_constraints.keras")

    and the expected weights below come from loading it in real Keras and running the same ``fit``.
    """
    model = keras.models.load_model(os.path.join(FIXTURES, "keras315_constraints.keras"))
    assert _constraint_names(model.layers[0]) == {"kernel": "MaxNorm", "bias": "NonNeg"}
    assert model.layers[1].kernel.constraint.get_config() == {"min_value": 0.5, "max_value": 1.0, "rate": 0.5,
                                                              "axis": [0]}
    # real Keras: m.predict([[1.0, -2.0, 0.5]])
    np.testing.assert_allclose(model.predict(np.array([[1.0, -2.0, 0.5]], "float32"), verbose=0),
                               [[3.590764045715332, -2.6076605319976807]], rtol=1e-6)
    x = (np.arange(24, dtype="float32").reshape(8, 3) - 11.0) / 6.0
    y = np.stack([np.sin(np.arange(8)), np.cos(np.arange(8))], 1).astype("float32") * 3
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
    expected = {  # real Keras, after the same fit
        "d1/kernel": [[0.6406750082969666, -0.13682889938354492, 0.4610477685928345, 0.5727972388267517],
                      [-0.9224541783332825, 0.5656293630599976, -0.7890274524688721, -0.4697079658508301],
                      [0.10523014515638351, -0.8499660491943359, -0.1391497105360031, 0.5262408256530762]],
        "d1/bias": [0.0009709380683489144, 0.0, 0.007591733243316412, 0.0],
        "d2/kernel": [[0.45792192220687866, -0.4366975724697113], [-0.09124591946601868, -0.7178263664245605],
                      [0.6296794414520264, -0.46080654859542847], [0.05665431171655655, -0.3883945941925049]],
        "d2/bias": [0.07778587192296982, 0.09374435991048813],
    }
    for w in model.weights:
        np.testing.assert_allclose(w.numpy(), expected[w.path], rtol=1e-5, atol=1e-6, err_msg=w.path)
    # the MinMaxNorm (rate 0.5) moved the second column's norm halfway back towards 1.0 (real Keras: 1.034008)
    np.testing.assert_allclose(np.linalg.norm(model.layers[1].kernel.numpy(), axis=0), [0.78595436, 1.034008],
                               rtol=1e-5)
