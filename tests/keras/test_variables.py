"""Variable and StatelessScope: values, assignment, scopes, conversion protocol, operators."""

import numpy as np
import pytest

import fnflow
import fnflow.numpy as fnp
import fnflow_keras as keras
from fnflow_keras.variables import StatelessScope, Variable


def test_variable_basics():
    v = Variable(np.ones((2, 3)), name="w")
    assert v.shape == (2, 3) and v.dtype == "float32" and v.trainable and v.name == "w" and v.path == "w"
    v.assign(np.full((2, 3), 2.0))
    np.testing.assert_array_equal(v.numpy(), 2 * np.ones((2, 3)))
    v.assign_add(np.ones((2, 3)))
    v.assign_sub(np.ones((2, 3)) * 0.5)
    np.testing.assert_array_equal(np.asarray(v), 2.5 * np.ones((2, 3)))
    with pytest.raises(ValueError, match="shape"):
        v.assign(np.ones((3, 2)))
    i = Variable(np.arange(3))
    assert i.dtype == "int32"
    g = Variable("glorot_uniform", shape=(4, 5))
    assert g.shape == (4, 5) and np.all(np.abs(g.numpy()) <= np.sqrt(6 / 9))
    with pytest.raises(ValueError, match="shape"):
        Variable("zeros")


def test_variable_operators_and_protocol():
    v = Variable(np.array([[1.0, 2.0], [3.0, 4.0]]))
    x = np.array([[1.0, 0.0], [0.0, 1.0]], "float32")
    np.testing.assert_array_equal(np.asarray(fnp.matmul(x, v)), v.numpy())
    np.testing.assert_array_equal(np.asarray(v + 1), v.numpy() + 1)
    np.testing.assert_array_equal(np.asarray(2 * v), v.numpy() * 2)
    np.testing.assert_array_equal(np.asarray(x @ v), v.numpy())
    np.testing.assert_array_equal(np.asarray(-v), -v.numpy())
    np.testing.assert_array_equal(np.asarray(v.T), v.numpy().T)
    np.testing.assert_array_equal(np.asarray(v[0]), [1.0, 2.0])
    assert float(Variable(3.0)) == 3.0


def test_stateless_scope_reads_and_records():
    v = Variable(np.zeros(3), name="v")
    with StatelessScope({v: np.ones(3)}) as scope:
        np.testing.assert_array_equal(np.asarray(v.value), np.ones(3))
        v.assign(v.value + 1)
        np.testing.assert_array_equal(np.asarray(v.value), 2 * np.ones(3))
    np.testing.assert_array_equal(v.numpy(), np.zeros(3))  # untouched
    np.testing.assert_array_equal(np.asarray(scope.get(v)), 2 * np.ones(3))
    assert scope.updated_variables == [v]
    with pytest.raises(ValueError, match="shape"):
        StatelessScope([(v, np.ones(4))])


def test_stateless_scope_under_jit_and_grad():
    v = Variable(np.array([1.0, 2.0]))

    def f(w, x):
        with StatelessScope({v: w}) as scope:
            y = fnp.sum(v * x)
            v.assign(v.value * 2)
        return y, scope.get(v)

    y, new = fnflow.jit(f)(np.array([3.0, 4.0], "float32"), np.array([1.0, 1.0], "float32"))
    assert float(y) == 7.0 and np.allclose(np.asarray(new), [6.0, 8.0])
    g = fnflow.grad(lambda w: f(w, np.array([5.0, 6.0], "float32"))[0])(np.array([3.0, 4.0], "float32"))
    np.testing.assert_allclose(np.asarray(g), [5.0, 6.0])
    with pytest.raises(ValueError, match="traced"):
        fnflow.jit(lambda w: v.assign(w))(np.zeros(2, "float32"))


def test_scope_keys_and_seed_generator():
    gen = keras.random.SeedGenerator(1)
    a, b = gen.next(), gen.next()
    assert not np.array_equal(np.asarray(a), np.asarray(b))
    key = fnflow.random.key(5)
    with StatelessScope(rng_key=key):
        k1, k2 = gen.next(), gen.next()
    with StatelessScope(rng_key=key):
        k3 = gen.next()
    np.testing.assert_array_equal(np.asarray(k1), np.asarray(k3))
    assert not np.array_equal(np.asarray(k1), np.asarray(k2))
    x = keras.random.normal((3,), seed=7)
    np.testing.assert_array_equal(np.asarray(x), np.asarray(keras.random.normal((3,), seed=7)))
    assert keras.random.uniform((2, 2), seed=gen).shape == (2, 2)
    assert keras.random.randint((4,), 0, 3, seed=1).dtype == np.int32


def test_backend_config():
    assert keras.backend.floatx() == "float32" and keras.backend.epsilon() == 1e-7
    assert keras.backend.image_data_format() == "channels_last"
    keras.backend.clear_session()
    assert keras.layers.Dense(1).name == "dense"
    keras.backend.clear_session()
    assert keras.layers.Dense(1).name == "dense"


def test_ops_and_initializers():
    ops = keras.ops
    np.testing.assert_allclose(np.asarray(ops.relu(np.array([-1.0, 2.0], "float32"))), [0.0, 2.0])
    np.testing.assert_allclose(np.asarray(ops.softmax(np.zeros((1, 4), "float32"))), 0.25 * np.ones((1, 4)))
    assert ops.one_hot(np.array([1, 0]), 3).shape == (2, 3)
    assert ops.convert_to_numpy(ops.matmul(np.ones((2, 3), "float32"), np.ones((3, 1), "float32"))).shape == (2, 1)
    assert float(ops.cond(True, lambda: 1.0, lambda: 2.0)) == 1.0
    init = keras.initializers.get("he_normal")
    assert init(shape=(3, 4)).shape == (3, 4)
    const = keras.initializers.Constant(3.0)
    np.testing.assert_array_equal(np.asarray(const((2,))), [3.0, 3.0])
    seeded = keras.initializers.RandomNormal(seed=3)
    np.testing.assert_array_equal(np.asarray(seeded((4,))), np.asarray(seeded((4,))))
    assert keras.activations.get("relu") is keras.activations.relu
