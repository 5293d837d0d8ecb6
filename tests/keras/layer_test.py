"""``run_layer_test``: the per-layer contract (build, call, shapes, weights, config round trip, symbolic call,
``model.apply`` under jit equal to the eager call, gradients through it), in the style of Keras's own harness."""

from __future__ import annotations

import numpy as np

import fnflow
import fnflow.numpy as fnp
import fnflow_keras as keras


def _make_input(shape, dtype, rng):
    if np.dtype(dtype).kind in "iu":
        return rng.integers(0, 5, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def run_layer_test(layer_cls, init_kwargs, input_shape, input_dtype="float32", input_data=None,
                   expected_output_shape=None, expected_num_trainable_weights=None,
                   expected_num_non_trainable_weights=0, expected_weight_shapes=None, expected_weight_names=None,
                   call_kwargs=None, training=False, check_grads=True, seed=0):
    """Check one layer against the contract; returns the eager output for further numeric checks."""
    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)  # the weights must not depend on which tests ran before
    call_kwargs = call_kwargs or {}
    x = input_data if input_data is not None else _make_input(input_shape, input_dtype, rng)
    layer = layer_cls(**init_kwargs)
    assert not layer.built or not layer.weights
    y = layer(x, **call_kwargs)
    assert layer.built
    if expected_output_shape is not None:
        got = [tuple(t.shape) for t in y] if isinstance(y, (list, tuple)) else tuple(y.shape)
        assert got == expected_output_shape, (got, expected_output_shape)
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights
    assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights
    if expected_weight_shapes is not None:
        assert [v.shape for v in layer.weights] == [tuple(s) for s in expected_weight_shapes]
    if expected_weight_names is not None:
        assert [v.name for v in layer.weights] == list(expected_weight_names)
    assert layer.count_params() == sum(int(np.prod(v.shape)) for v in layer.weights)

    # config round trip: same config, same outputs with the same weights
    config = layer.get_config()
    clone = layer_cls.from_config(config)
    assert clone.get_config() == {**config, "name": clone.name}
    y2 = clone(x, **call_kwargs)
    clone.set_weights(layer.get_weights())
    y2 = clone(x, **call_kwargs)
    if not training:
        for a, b in zip(_flat(y), _flat(y2)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)

    # symbolic call: batch dimension unknown
    inp = keras.Input(shape=tuple(input_shape[1:]), dtype=input_dtype)
    sym = layer_cls.from_config(config)(inp, **call_kwargs)
    for s, a in zip(_flat(sym), _flat(y)):
        assert s.shape[1:] == tuple(a.shape[1:]), (s.shape, a.shape)

    # the pure function: model.apply jitted equals the eager call; gradients flow
    model = keras.Model(inp, sym)
    model.set_weights(layer.get_weights())
    params, state = model.params, model.state
    ya, _ = fnflow.jit(lambda p, s, v: model.apply(p, s, v, training=training))(params, state, x)
    ye = model(x, training=training)
    if not training:
        for a, b in zip(_flat(ya), _flat(ye)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)
    if check_grads and params:
        def loss(p):
            out, _ = model.apply(p, state, x, training=training, key=fnflow.random.key(0))
            return sum(fnp.sum(fnp.sin(o)) for o in _flat(out))

        grads = fnflow.jit(fnflow.grad(loss))(params)
        assert [g.shape for g in grads] == [p.shape for p in params]
        # directional derivative vs a central difference (float32: loose tolerance)
        direction = [rng.standard_normal(p.shape).astype(np.float32) for p in params]
        eps = 1e-2
        plus = loss([p + eps * d for p, d in zip(params, direction)])
        minus = loss([p - eps * d for p, d in zip(params, direction)])
        fd = (float(plus) - float(minus)) / (2 * eps)
        an = sum(float(np.sum(np.asarray(g) * d)) for g, d in zip(grads, direction))
        assert abs(fd - an) <= 2e-2 * max(1.0, abs(an)), (fd, an)
    return y


def _flat(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]
