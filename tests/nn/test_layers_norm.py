"""BatchNorm (explicit state, training and inference, moving statistics) and LayerNorm vs NumPy."""

import numpy as np
import pytest
from layer_harness import run_layer_test

import fnflow
import fnflow.nn as nn
import fnflow.numpy as fnp
import fnflow.random as fr

RNG = np.random.RandomState(0)


def np_bn(x, mean, var, gamma, beta, eps=1e-3):
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def test_batchnorm_init():
    bn, state = nn.BatchNorm.init(fr.key(0), 4)
    assert (bn.momentum, bn.epsilon, bn.axis) == (0.99, 1e-3, -1)
    np.testing.assert_array_equal(bn.gamma, np.ones(4))
    np.testing.assert_array_equal(bn.beta, np.zeros(4))
    np.testing.assert_array_equal(state.moving_mean, np.zeros(4))
    np.testing.assert_array_equal(state.moving_variance, np.ones(4))
    fresh = bn.init_state()
    np.testing.assert_array_equal(fresh.moving_variance, state.moving_variance)


def test_batchnorm_training_and_update():
    bn, state = nn.BatchNorm.init(fr.key(0), 3, dtype=np.float64)
    gamma, beta = RNG.randn(3), RNG.randn(3)
    bn = nn.tree_at(lambda m: (m.gamma, m.beta), bn, (gamma, beta))
    x = RNG.randn(5, 2, 3) * 2 + 1
    y, new = bn(x, state, training=True)
    mean, var = x.mean((0, 1)), x.var((0, 1))
    np.testing.assert_allclose(y, np_bn(x, mean, var, gamma, beta), rtol=1e-12)
    np.testing.assert_allclose(new.moving_mean, 0.99 * 0 + 0.01 * mean, rtol=1e-12)
    np.testing.assert_allclose(new.moving_variance, 0.99 * 1 + 0.01 * var, rtol=1e-12)
    # inference uses the moving statistics and keeps the state
    y2, same = bn(x, new, training=False)
    np.testing.assert_allclose(y2, np_bn(x, new.moving_mean, new.moving_variance, gamma, beta), rtol=1e-12)
    assert same is new


def test_batchnorm_axis_and_options():
    bn, state = nn.BatchNorm.init(fr.key(0), 3, axis=1, momentum=0.5, epsilon=1e-5, center=False, dtype=np.float64)
    assert bn.beta is None
    x = RNG.randn(4, 3, 2)
    y, new = bn(x, state, training=True)
    mean, var = x.mean((0, 2)), x.var((0, 2))
    np.testing.assert_allclose(y, (x - mean[:, None]) / np.sqrt(var[:, None] + 1e-5), rtol=1e-10)
    np.testing.assert_allclose(new.moving_mean, 0.5 * mean, rtol=1e-12)
    with pytest.raises(ValueError, match="features"):
        bn(np.zeros((4, 2, 3)), state)
    with pytest.raises(TypeError, match="state"):
        bn(x)  # noqa


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_contract(tmp_path, training):
    bn, state = nn.BatchNorm.init(fr.key(0), 3)
    state = nn.BatchNormState(fnp.asarray(RNG.randn(3).astype(np.float32)),
                              fnp.asarray(RNG.uniform(0.5, 2, 3).astype(np.float32)))
    x = RNG.randn(4, 3).astype(np.float32)

    def call(layer, x):
        return layer(x, state, training=training)[0]

    run_layer_test(bn, x, call=call, weight_shapes={"gamma": (3,), "beta": (3,)}, output_shape=(4, 3),
                   grad_order=2 if training else 1, tmp_path=tmp_path)


def test_batchnorm_state_is_not_differentiated():
    bn, state = nn.BatchNorm.init(fr.key(0), 2)
    x = RNG.randn(4, 2).astype(np.float32)

    def loss(layer, x):
        y, new = layer(x, state, training=True)
        return fnp.sum(new.moving_mean) + fnp.sum(new.moving_variance)

    g = fnflow.grad(loss, argnums=(0, 1))(bn, x)
    assert all(np.all(np.asarray(v) == 0) for v in fnflow.tree_util.tree_leaves(g))
    # a jitted training step returns the new state
    step = fnflow.jit(lambda b, s, x: b(x, s, training=True))
    y, new = step(bn, state, x)
    np.testing.assert_allclose(new.moving_mean, 0.01 * x.mean(0), rtol=1e-5)


def test_layernorm_values(tmp_path):
    ln = nn.LayerNorm.init(fr.key(0), 4, dtype=np.float64)
    assert ln.epsilon == 1e-3
    gamma, beta = RNG.randn(4), RNG.randn(4)
    ln = nn.tree_at(lambda m: (m.gamma, m.beta), ln, (gamma, beta))
    x = RNG.randn(2, 3, 4) * 3
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    np.testing.assert_allclose(ln(x), (x - mean) / np.sqrt(var + 1e-3) * gamma + beta, rtol=1e-10)
    run_layer_test(nn.LayerNorm.init(fr.key(0), 4), x.astype(np.float32), weight_shapes={"gamma": (4,), "beta": (4,)},
                   output_shape=(2, 3, 4), grad_order=2, tmp_path=tmp_path)


def test_layernorm_multiple_axes():
    ln = nn.LayerNorm.init(fr.key(0), (3, 2), axis=(1, 2), dtype=np.float64, scale=False)
    beta = RNG.randn(3, 2)
    ln = nn.tree_at(lambda m: m.beta, ln, beta)
    x = RNG.randn(2, 3, 2)
    mean, var = x.mean((1, 2), keepdims=True), x.var((1, 2), keepdims=True)
    np.testing.assert_allclose(ln(x), (x - mean) / np.sqrt(var + 1e-3) + beta, rtol=1e-10)
    # parameters follow the order of `axis`
    ln2 = nn.LayerNorm(None, beta.T, axis=(2, 1))
    np.testing.assert_allclose(ln2(x), ln(x), rtol=1e-12)
    with pytest.raises(ValueError):
        nn.LayerNorm.init(fr.key(0), 3, axis=(1, 2))
