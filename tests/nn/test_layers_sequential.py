"""Sequential: the apply protocol (keys, training, state), nesting, a small training loop."""

import attrs
import numpy as np
import pytest
from layer_harness import run_layer_test

import fnflow
import fnflow.nn as nn
import fnflow.numpy as fnp
import fnflow.random as fr

RNG = np.random.RandomState(0)


def mlp(key):
    k1, k2, k3 = fr.split(key, 3)
    return nn.Sequential([nn.Dense.init(k1, 4, 8, activation="relu"), nn.Dropout(0.5),
                          nn.BatchNorm.init(k2, 8), nn.Dense.init(k3, 8, 3)])


def test_sequential_matches_manual_chain():
    model = mlp(fr.key(0))
    assert len(model) == 4 and model.stateful and model.stochastic
    state = model.init_state()
    assert state[0] is None and isinstance(state[2], nn.BatchNormState)
    x = RNG.randn(6, 4).astype(np.float32)
    key = fr.key(5)
    y, new = model(x, state, key=key, training=True)
    h = model[0](x)
    h = model[1](h, key=fr.fold_in(key, 1), training=True)
    h, bn_state = model[2](h, state[2], training=True)
    np.testing.assert_allclose(y, model[3](h), rtol=1e-6)
    np.testing.assert_allclose(new[2].moving_mean, bn_state.moving_mean, rtol=1e-6)
    # inference: no key, state unchanged, deterministic
    y1, s1 = model(x, new, training=False)
    assert s1[2] is new[2]
    h = model[2](model[0](x), new[2])[0]
    np.testing.assert_allclose(y1, model[3](h), rtol=1e-6)


def test_sequential_errors_and_stateless():
    model = mlp(fr.key(0))
    with pytest.raises(ValueError, match="stateful"):
        model(np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match="key"):
        model(np.ones((2, 4), np.float32), model.init_state(), training=True)
    with pytest.raises(TypeError, match="Module"):
        nn.Sequential([np.ones(3)])
    plain = nn.Sequential([nn.Dense.init(fr.key(1), 4, 3, activation="tanh"), nn.Dense.init(fr.key(2), 3, 2)])
    assert not plain.stateful and plain.init_state() is None
    x = RNG.randn(5, 4).astype(np.float32)
    np.testing.assert_allclose(plain(x), plain[1](plain[0](x)), rtol=1e-6)
    assert isinstance(plain[:1], nn.Sequential) and len(plain[:1]) == 1
    run_layer_test(plain, x, output_shape=(5, 2), grad_order=2, check_checkpoint=False)


def test_nested_sequential_and_custom_module(tmp_path):
    @attrs.frozen
    class Noise(nn.Module):
        scale: float = nn.static_field(default=1.0)
        stochastic = True

        def __call__(self, x, *, key=None, training=False):
            return fnp.add(x, fnp.multiply(fr.normal(key, fnp.shape(x)), self.scale)) if training else x

        def apply(self, x, state=None, *, key=None, training=False):
            return self(x, key=key, training=training), state

    inner = nn.Sequential([nn.Dense.init(fr.key(1), 3, 3), Noise(0.1)])
    model = nn.Sequential([inner, nn.LayerNorm.init(fr.key(2), 3)])
    assert model.stochastic and not model.stateful
    x = RNG.randn(2, 3).astype(np.float32)
    a = model(x, key=fr.key(0), training=True)
    np.testing.assert_array_equal(a, model(x, key=fr.key(0), training=True))
    assert not np.allclose(a, model(x))
    run_layer_test(model, x, output_shape=(2, 3), tmp_path=tmp_path)


def test_training_loop_lowers_loss():
    model = mlp(fr.key(0))
    state = model.init_state()
    x = RNG.randn(32, 4).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[RNG.randint(0, 3, 32)]

    def loss_fn(model, state, x, y, key):
        logits, state = model(x, state, key=key, training=True)
        return -fnp.mean(fnp.sum(nn.log_softmax(logits) * y, axis=-1)), state

    @fnflow.jit
    def step(model, state, x, y, key):
        (loss, state), g = fnflow.value_and_grad(loss_fn, has_aux=True)(model, state, x, y, key)
        model = fnflow.tree_util.tree_map(lambda p, d: p - 0.1 * d, model, g)
        return model, state, loss

    key = fr.key(1)
    losses = []
    for i in range(30):
        model, state, loss = step(model, state, x, y, fr.fold_in(key, i))
        losses.append(float(loss))
    assert losses[-1] < 0.7 * losses[0]
    assert float(np.abs(np.asarray(state[2].moving_mean)).sum()) > 0
