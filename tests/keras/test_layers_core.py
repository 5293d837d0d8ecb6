"""Core, conv, pooling, merging, normalization, embedding, activation and reshaping layers."""

import numpy as np
import pytest

import fnflow_keras as keras
from fnflow_keras import layers
from tests.keras.layer_test import run_layer_test


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()


def test_dense_contract_and_numerics():
    x = np.random.default_rng(0).standard_normal((3, 4)).astype("float32")
    layer = layers.Dense(5, activation="relu")
    y = layer(x)
    w, b = layer.get_weights()
    np.testing.assert_allclose(np.asarray(y), np.maximum(x @ w + b, 0), rtol=1e-5, atol=1e-6)
    run_layer_test(layers.Dense, {"units": 5, "activation": "tanh"}, (3, 4), expected_output_shape=(3, 5),
                   expected_num_trainable_weights=2, expected_weight_shapes=[(4, 5), (5,)],
                   expected_weight_names=["kernel", "bias"])


def test_dense_defaults_and_names():
    d = layers.Dense(3)
    assert d.name == "dense" and layers.Dense(2).name == "dense_1"
    d.build((None, 4))
    assert np.all(d.bias.numpy() == 0)
    limit = np.sqrt(6 / (4 + 3))
    assert np.all(np.abs(d.kernel.numpy()) <= limit)
    assert d.get_config()["kernel_initializer"]["class_name"] == "GlorotUniform"


@pytest.mark.parametrize("cls,kwargs,shape,out", [
    (layers.Activation, {"activation": "softmax"}, (2, 3), (2, 3)),
    (layers.Dropout, {"rate": 0.5}, (2, 3), (2, 3)),
    (layers.Flatten, {}, (2, 3, 4), (2, 12)),
    (layers.Reshape, {"target_shape": (6, -1)}, (2, 3, 4), (2, 6, 2)),
    (layers.Permute, {"dims": (2, 1)}, (2, 3, 4), (2, 4, 3)),
    (layers.RepeatVector, {"n": 3}, (2, 4), (2, 3, 4)),
    (layers.ReLU, {"max_value": 1.0}, (2, 3), (2, 3)),
    (layers.LeakyReLU, {}, (2, 3), (2, 3)),
    (layers.Softmax, {}, (2, 3), (2, 3)),
    (layers.ELU, {}, (2, 3), (2, 3)),
    (layers.ZeroPadding2D, {"padding": 1}, (1, 3, 3, 2), (1, 5, 5, 2)),
    (layers.UpSampling2D, {}, (1, 3, 3, 2), (1, 6, 6, 2)),
    (layers.Cropping2D, {"cropping": ((1, 0), (0, 1))}, (1, 3, 3, 2), (1, 2, 2, 2)),
    (layers.MaxPooling2D, {}, (2, 4, 5, 3), (2, 2, 2, 3)),
    (layers.AveragePooling2D, {"padding": "same"}, (2, 5, 5, 3), (2, 3, 3, 3)),
    (layers.MaxPooling1D, {"pool_size": 2}, (2, 6, 3), (2, 3, 3)),
    (layers.AveragePooling1D, {}, (2, 6, 3), (2, 3, 3)),
    (layers.GlobalMaxPooling2D, {}, (2, 4, 5, 3), (2, 3)),
    (layers.GlobalAveragePooling1D, {}, (2, 4, 3), (2, 3)),
])
def test_weightless_layers(cls, kwargs, shape, out):
    run_layer_test(cls, kwargs, shape, expected_output_shape=out, expected_num_trainable_weights=0)


def test_leaky_relu_default_slope():
    y = layers.LeakyReLU()(np.array([-1.0, 2.0], "float32"))
    np.testing.assert_allclose(np.asarray(y), [-0.3, 2.0], rtol=1e-6)


def test_prelu():
    run_layer_test(layers.PReLU, {"alpha_initializer": "ones"}, (2, 3), expected_output_shape=(2, 3),
                   expected_num_trainable_weights=1, expected_weight_names=["alpha"])


def test_dropout_training_and_key():
    layer = layers.Dropout(0.5, seed=1)
    x = np.ones((100, 10), "float32")
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    y = np.asarray(layer(x, training=True))
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.3 < (y == 0).mean() < 0.7
    inp = keras.Input((10,))
    model = keras.Model(inp, layers.Dropout(0.5)(inp))
    a, _ = model.apply([], [], x, training=True, key=keras.random.draw_key(3))
    b, _ = model.apply([], [], x, training=True, key=keras.random.draw_key(3))
    c, _ = model.apply([], [], x, training=True, key=keras.random.draw_key(4))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(a), np.asarray(c))


def test_conv2d_numerics_vs_numpy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 6, 3)).astype("float32")
    layer = layers.Conv2D(4, (3, 2), strides=(1, 2), padding="valid")
    y = np.asarray(layer(x))
    w, b = layer.get_weights()
    assert w.shape == (3, 2, 3, 4)
    ref = np.zeros((2, 3, 3, 4), "float32")
    for i in range(3):
        for j in range(3):
            patch = x[:, i:i + 3, 2 * j:2 * j + 2, :]
            ref[:, i, j] = np.einsum("bhwc,hwcf->bf", patch, w) + b
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kwargs,shape,out", [
    ({"filters": 4, "kernel_size": 3}, (2, 6, 6, 3), (2, 4, 4, 4)),
    ({"filters": 4, "kernel_size": 3, "padding": "same", "strides": 2}, (2, 5, 5, 3), (2, 3, 3, 4)),
    ({"filters": 2, "kernel_size": 2, "dilation_rate": 2}, (1, 5, 5, 2), (1, 3, 3, 2)),
])
def test_conv2d(kwargs, shape, out):
    run_layer_test(layers.Conv2D, kwargs, shape, expected_output_shape=out, expected_num_trainable_weights=2)


def test_conv1d_and_causal():
    run_layer_test(layers.Conv1D, {"filters": 3, "kernel_size": 3}, (2, 7, 2), expected_output_shape=(2, 5, 3),
                   expected_num_trainable_weights=2, expected_weight_shapes=[(3, 2, 3), (3,)])
    run_layer_test(layers.Conv1D, {"filters": 3, "kernel_size": 3, "padding": "causal"}, (2, 7, 2),
                   expected_output_shape=(2, 7, 3))


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("strides", [1, 2])
def test_conv2d_transpose_is_conv_gradient(padding, strides):
    """Conv2DTranspose equals the input-gradient of Conv2D with the same kernel (its definition)."""
    import fnflow
    import fnflow.numpy as fnp

    rng = np.random.default_rng(1)
    ct = layers.Conv2DTranspose(3, 3, strides=strides, padding=padding)
    x = rng.standard_normal((1, 4, 4, 2)).astype("float32")
    y = ct(x)
    (kernel, bias) = ct.get_weights()
    assert kernel.shape == (3, 3, 3, 2)
    conv = layers.Conv2D(2, 3, strides=strides, padding=padding, use_bias=False)
    conv.build((None,) + tuple(y.shape[1:]))
    conv.set_weights([kernel])
    _, vjp = fnflow.vjp(lambda z: conv(z), fnp.zeros(y.shape, "float32"))
    (ref,) = vjp(fnp.asarray(x))
    np.testing.assert_allclose(np.asarray(y), np.asarray(ref) + bias, rtol=1e-4, atol=1e-5)
    run_layer_test(layers.Conv2DTranspose, {"filters": 3, "kernel_size": 3, "strides": strides, "padding": padding},
                   (1, 4, 4, 2), expected_output_shape=tuple(y.shape))


def test_pooling_numerics():
    x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(np.asarray(layers.MaxPooling2D()(x))[0, :, :, 0], [[5, 7], [13, 15]])
    np.testing.assert_allclose(np.asarray(layers.AveragePooling2D()(x))[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]])
    # "same" average pooling divides by the number of real (unpadded) elements
    y = np.asarray(layers.AveragePooling2D(2, padding="same")(np.ones((1, 3, 3, 1), "float32")))
    np.testing.assert_allclose(y, np.ones((1, 2, 2, 1)))


@pytest.mark.parametrize("cls,fn", [(layers.Add, lambda a, b: a + b), (layers.Subtract, lambda a, b: a - b),
                                    (layers.Multiply, lambda a, b: a * b), (layers.Average, lambda a, b: (a + b) / 2),
                                    (layers.Maximum, np.maximum), (layers.Minimum, np.minimum)])
def test_merges(cls, fn):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3)).astype("float32"), rng.standard_normal((2, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(cls()([a, b])), fn(a, b), rtol=1e-6)
    i1, i2 = keras.Input((3,)), keras.Input((3,))
    out = cls()([i1, i2])
    assert out.shape == (None, 3)


def test_concatenate_and_dot():
    a, b = np.ones((2, 3), "float32"), np.zeros((2, 4), "float32")
    assert layers.Concatenate()([a, b]).shape == (2, 7)
    i1, i2 = keras.Input((3,)), keras.Input((4,))
    assert layers.concatenate([i1, i2]).shape == (None, 7)
    x, y = np.arange(6, dtype="float32").reshape(2, 3), np.ones((2, 3), "float32")
    np.testing.assert_allclose(np.asarray(layers.Dot(axes=1)([x, y])), [[3.0], [12.0]])
    cos = np.asarray(layers.Dot(axes=1, normalize=True)([x, x]))
    np.testing.assert_allclose(cos, [[1.0], [1.0]], rtol=1e-5)


def test_batch_normalization_moving_stats_in_apply():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((8, 3)) * 2 + 5).astype("float32")
    run_layer_test(layers.BatchNormalization, {}, (8, 3), expected_output_shape=(8, 3),
                   expected_num_trainable_weights=2, expected_num_non_trainable_weights=2,
                   expected_weight_names=["gamma", "beta", "moving_mean", "moving_variance"])
    inp = keras.Input((3,))
    bn = layers.BatchNormalization(momentum=0.9)
    model = keras.Model(inp, bn(inp))
    import fnflow

    y, new_state = fnflow.jit(lambda p, s, v: model.apply(p, s, v, training=True))(model.params, model.state, x)
    np.testing.assert_allclose(np.asarray(new_state[0]), 0.1 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(new_state[1]), 0.9 + 0.1 * x.var(0), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(y), (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3), rtol=1e-4, atol=1e-4)
    assert np.all(bn.moving_mean.numpy() == 0)  # apply is pure
    bn(x, training=True)  # eager training call assigns
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.1 * x.mean(0), rtol=1e-5)
    y_inf = np.asarray(bn(x))
    ref = (x - bn.moving_mean.numpy()) / np.sqrt(bn.moving_variance.numpy() + 1e-3)
    np.testing.assert_allclose(y_inf, ref, rtol=1e-4, atol=1e-4)


def test_layer_normalization():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5)).astype("float32")
    y = np.asarray(layers.LayerNormalization()(x))
    ref = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-5)
    run_layer_test(layers.LayerNormalization, {}, (2, 5), expected_output_shape=(2, 5),
                   expected_weight_names=["gamma", "beta"])


def test_normalization_adapt():
    data = np.array([[0.0, 10.0], [2.0, 30.0], [4.0, 20.0]], "float32")
    norm = layers.Normalization()
    norm.adapt(data)
    y = np.asarray(norm(data))
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-6)
    np.testing.assert_allclose(y.std(0), 1, rtol=1e-5)
    assert [v.name for v in norm.weights] == ["mean", "variance"]
    fixed = layers.Normalization(mean=2.0, variance=4.0)
    np.testing.assert_allclose(np.asarray(fixed(np.array([[4.0]], "float32"))), [[1.0]])


def test_embedding():
    x = np.array([[0, 1, 2], [3, 4, 0]], "int32")
    layer = layers.Embedding(5, 2)
    y = layer(x)
    assert y.shape == (2, 3, 2)
    table = layer.get_weights()[0]
    assert table.shape == (5, 2) and np.all(np.abs(table) <= 0.05)
    np.testing.assert_array_equal(np.asarray(y), table[x])
    run_layer_test(layers.Embedding, {"input_dim": 5, "output_dim": 2}, (2, 3), input_dtype="int32",
                   expected_output_shape=(2, 3, 2), expected_weight_names=["embeddings"])


def test_multi_head_attention_numerics():
    rng = np.random.default_rng(0)
    q = rng.standard_normal((2, 4, 5)).astype("float32")
    v = rng.standard_normal((2, 6, 5)).astype("float32")
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    y, scores = mha(q, v, return_attention_scores=True)
    wq, bq, wk, bk, wv, bv, wo, bo = mha.get_weights()
    assert [w.shape for w in (wq, bq, wo, bo)] == [(5, 2, 3), (2, 3), (2, 3, 5), (5,)]
    Q = np.einsum("btd,dhk->bthk", q, wq) + bq
    K = np.einsum("bsd,dhk->bshk", v, wk) + bk
    V = np.einsum("bsd,dhk->bshk", v, wv) + bv
    s = np.einsum("bthk,bshk->bhts", Q / np.sqrt(3), K)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    ref = np.einsum("bthv,hvo->bto", np.einsum("bhts,bshv->bthv", p, V), wo) + bo
    np.testing.assert_allclose(np.asarray(scores), p, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(y), ref, rtol=1e-4, atol=1e-5)
    a, b = keras.Input((4, 5)), keras.Input((6, 5))
    assert layers.MultiHeadAttention(2, 3)(a, b).shape == (None, 4, 5)
