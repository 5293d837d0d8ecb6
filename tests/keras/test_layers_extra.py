"""The Keras 3 layers added beside the first set: depthwise/separable/transposed-1D convolutions, Group- and
UnitNormalization, the noise/regularization layers, Attention/AdditiveAttention, EinsumDense and the image
preprocessing layers (Rescaling, Resizing, CenterCrop).

Numbers and configs come from real Keras 3.15.1 on JAX: ``fixtures/make_extra_layer_fixtures.py`` (run by hand
in a separate environment) wrote ``fixtures/keras315_extra_layers.json`` and ``fixtures/extra_layers.npz``.
"""

import json
import os

import numpy as np
import pytest

import fnflow
import fnflow.numpy as fnp
import fnflow_keras as keras
from fnflow_keras import layers
from fnflow_keras.utils import serialization_lib as sl
from tests.keras.layer_test import run_layer_test

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
with open(os.path.join(FIXTURES, "keras315_extra_layers.json")) as _f:
    KERAS = json.load(_f)


@pytest.fixture(scope="module")
def arrays():
    with np.load(os.path.join(FIXTURES, "extra_layers.npz")) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()


def _build(expr):
    return eval(expr, {"layers": layers})


# ------------------------------------------------------------------ configs real Keras writes


@pytest.mark.parametrize("expr", sorted(KERAS["configs"]))
def test_keras315_configs_load_and_save_the_same_keys(expr):
    config = KERAS["configs"][expr]
    obj = sl.deserialize_keras_object(config)
    assert type(obj).__name__ == config["class_name"]
    mine = sl.serialize_keras_object(obj)
    assert (mine["class_name"], mine["module"], mine["registered_name"]) == \
        (config["class_name"], config["module"], config["registered_name"])
    assert set(mine["config"]) == set(config["config"])
    # the same expression in fnflow_keras writes the same values (names and dtype policy aside)
    ours = sl.serialize_keras_object(_build(expr))["config"]
    for key, value in config["config"].items():
        if key in ("name", "dtype") or isinstance(value, dict):
            continue
        assert ours[key] == value, (key, ours[key], value)


# ------------------------------------------------------------------ numbers real Keras computes


def _inputs(arrays, name):
    xs = [arrays[f"{name}/x{i}"] for i in range(3) if f"{name}/x{i}" in arrays]
    masks = [arrays[f"{name}/m{i}"] for i in range(3) if f"{name}/m{i}" in arrays]
    return xs, masks or None


@pytest.mark.parametrize("name", sorted(KERAS["cases"]))
def test_outputs_weights_and_losses_equal_real_keras(name, arrays):
    case = KERAS["cases"][name]
    layer = _build(case["expr"])
    xs, masks = _inputs(arrays, name)
    inputs = xs if len(xs) > 1 else xs[0]
    kwargs = dict(case["call_kwargs"])
    if masks is not None:
        kwargs["mask"] = masks
    layer(inputs, **kwargs)
    assert [v.name for v in layer.weights] == case["weight_names"]
    assert [list(v.shape) for v in layer.weights] == case["weight_shapes"]
    layer.set_weights([arrays[f"{name}/w{i}"] for i in range(len(layer.weights))])
    layer._clear_losses()
    ys = layer(inputs, **kwargs)
    ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
    want = [arrays[f"{name}/y{i}"] for i in range(len(ys))]
    assert f"{name}/y{len(ys)}" not in arrays
    for got, exp in zip(ys, want):
        assert tuple(got.shape) == exp.shape
        np.testing.assert_allclose(np.asarray(got), exp, rtol=1e-5, atol=2e-5)
    np.testing.assert_allclose([float(v) for v in layer.losses], case["losses"], rtol=1e-5)


# ------------------------------------------------------------------ the per-layer contract


@pytest.mark.parametrize("cls,kwargs,shape,out,weights", [
    (layers.DepthwiseConv2D, {"kernel_size": 3, "depth_multiplier": 2, "padding": "same"}, (2, 5, 5, 3),
     (2, 5, 5, 6), [(3, 3, 3, 2), (6,)]),
    (layers.DepthwiseConv2D, {"kernel_size": (2, 3), "strides": 2}, (2, 6, 7, 2), (2, 3, 3, 2),
     [(2, 3, 2, 1), (2,)]),
    (layers.DepthwiseConv2D, {"kernel_size": 3, "depth_multiplier": 2, "data_format": "channels_first"},
     (2, 3, 5, 4), (2, 6, 3, 2), [(3, 3, 3, 2), (6,)]),
    (layers.DepthwiseConv1D, {"kernel_size": 3, "depth_multiplier": 3}, (2, 6, 2), (2, 4, 6), [(3, 2, 3), (6,)]),
    (layers.SeparableConv2D, {"filters": 2, "kernel_size": 2, "data_format": "channels_first"}, (2, 3, 4, 4),
     (2, 2, 3, 3), [(2, 2, 3, 1), (1, 1, 3, 2), (2,)]),
    (layers.Conv1DTranspose, {"filters": 2, "kernel_size": 3, "data_format": "channels_first"}, (2, 3, 4),
     (2, 2, 6), [(3, 2, 3), (2,)]),
    (layers.SeparableConv2D, {"filters": 4, "kernel_size": 3, "depth_multiplier": 2}, (2, 5, 5, 3), (2, 3, 3, 4),
     [(3, 3, 3, 2), (1, 1, 6, 4), (4,)]),
    (layers.SeparableConv1D, {"filters": 2, "kernel_size": 2, "padding": "same", "strides": 2}, (2, 7, 3),
     (2, 4, 2), [(2, 3, 1), (1, 3, 2), (2,)]),
    (layers.Conv1DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2}, (2, 4, 3), (2, 9, 2),
     [(3, 2, 3), (2,)]),
    (layers.Conv1DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same",
                              "output_padding": 1}, (2, 4, 3), (2, 8, 2), [(3, 2, 3), (2,)]),
    (layers.GroupNormalization, {"groups": 2}, (2, 3, 4), (2, 3, 4), [(4,), (4,)]),
    (layers.GroupNormalization, {"groups": 3, "axis": 1}, (2, 6, 2, 2), (2, 6, 2, 2), [(6,), (6,)]),
    (layers.EinsumDense, {"equation": "abc,cde->abde", "output_shape": (None, 2, 3), "bias_axes": "de"},
     (2, 4, 5), (2, 4, 2, 3), [(5, 2, 3), (2, 3)]),
    (layers.EinsumDense, {"equation": "...b,bc->...c", "output_shape": 3, "activation": "tanh"}, (2, 4, 5),
     (2, 4, 3), [(5, 3)]),
])
def test_layers_with_weights_contract(cls, kwargs, shape, out, weights):
    run_layer_test(cls, kwargs, shape, expected_output_shape=out, expected_num_trainable_weights=len(weights),
                   expected_weight_shapes=weights)


@pytest.mark.parametrize("cls,kwargs,shape,out", [
    (layers.UnitNormalization, {}, (2, 3, 4), (2, 3, 4)),
    (layers.UnitNormalization, {"axis": [1, 2]}, (2, 3, 4), (2, 3, 4)),
    (layers.Rescaling, {"scale": 0.5, "offset": 1.0}, (2, 3), (2, 3)),
    (layers.CenterCrop, {"height": 2, "width": 3}, (2, 4, 5, 2), (2, 2, 3, 2)),
    (layers.CenterCrop, {"height": 6, "width": 3}, (2, 4, 5, 2), (2, 6, 3, 2)),
    (layers.Resizing, {"height": 5, "width": 3}, (2, 4, 6, 2), (2, 5, 3, 2)),
    (layers.Resizing, {"height": 5, "width": 3, "interpolation": "nearest"}, (2, 4, 6, 2), (2, 5, 3, 2)),
    (layers.Resizing, {"height": 4, "width": 4, "pad_to_aspect_ratio": True}, (2, 4, 6, 1), (2, 4, 4, 1)),
    (layers.ActivityRegularization, {"l1": 0.1}, (2, 3), (2, 3)),
    (layers.SpatialDropout1D, {"rate": 0.5}, (2, 3, 4), (2, 3, 4)),
    (layers.SpatialDropout2D, {"rate": 0.5}, (2, 3, 3, 4), (2, 3, 3, 4)),
    (layers.GaussianNoise, {"stddev": 0.5}, (2, 3), (2, 3)),
    (layers.GaussianDropout, {"rate": 0.5}, (2, 3), (2, 3)),
    (layers.AlphaDropout, {"rate": 0.5}, (2, 3), (2, 3)),
])
@pytest.mark.parametrize("training", [False, True])
def test_weightless_layers_contract(cls, kwargs, shape, out, training):
    y = run_layer_test(cls, kwargs, shape, expected_output_shape=out, expected_num_trainable_weights=0,
                       training=training)
    assert np.all(np.isfinite(np.asarray(y)))


# ------------------------------------------------------------------ behaviour beyond the fixtures


def test_noise_layers_in_training():
    x = np.ones((200, 50), np.float32)
    keras.utils.set_random_seed(1)
    # inference: identity
    for layer in (layers.GaussianNoise(0.5), layers.GaussianDropout(0.3), layers.AlphaDropout(0.3),
                  layers.SpatialDropout1D(0.5)):
        xi = x if not isinstance(layer, layers.SpatialDropout1D) else x.reshape(20, 10, 50)
        np.testing.assert_array_equal(np.asarray(layer(xi)), xi)
    y = np.asarray(layers.GaussianNoise(0.5, seed=3)(x, training=True))
    assert abs(y.mean() - 1.0) < 0.02 and abs(y.std() - 0.5) < 0.02
    y = np.asarray(layers.GaussianDropout(0.2, seed=3)(x, training=True))
    assert abs(y.mean() - 1.0) < 0.02 and abs(y.std() - 0.5) < 0.02  # sqrt(0.2 / 0.8)
    # AlphaDropout keeps mean 0 and variance 1 of standard normal inputs
    z = np.random.default_rng(0).standard_normal((400, 100)).astype(np.float32)
    y = np.asarray(layers.AlphaDropout(0.2, seed=3)(z, training=True))
    assert abs(y.mean()) < 0.03 and abs(y.std() - 1.0) < 0.03
    # spatial dropout: whole channels, shared along the steps / the pixels
    y = np.asarray(layers.SpatialDropout1D(0.5, seed=4)(np.ones((8, 6, 5), np.float32), training=True))
    assert set(np.unique(y)) <= {0.0, 2.0} and np.all(y == y[:, :1, :]) and 0 < (y == 0).mean() < 1
    y = np.asarray(layers.SpatialDropout2D(0.5, seed=4, data_format="channels_first")(
        np.ones((8, 5, 3, 3), np.float32), training=True))
    assert np.all(y == y[:, :, :1, :1]) and 0 < (y == 0).mean() < 1
    with pytest.raises(ValueError, match="rank 3"):
        layers.SpatialDropout1D(0.5)(np.ones((2, 3), np.float32), training=True)


def test_noise_layers_inside_fit_are_random_and_train():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), layers.GaussianNoise(0.1), layers.Dense(8),
                              layers.GaussianDropout(0.1), layers.AlphaDropout(0.1), layers.Dense(1)])
    model.compile("adam", "mse")
    x = np.random.default_rng(0).standard_normal((32, 4)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))


def test_activity_regularization_adds_the_penalty_per_sample():
    x = np.array([[1.0, -2.0], [0.5, 0.0]], np.float32)
    layer = layers.ActivityRegularization(l1=0.1, l2=0.01)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    expected = (0.1 * np.abs(x).sum() + 0.01 * (x ** 2).sum()) / 2  # Keras: divided by the batch size
    np.testing.assert_allclose([float(v) for v in layer.losses], [expected], rtol=1e-6)
    assert "activity_regularizer" not in layer.get_config()


def test_attention_contract_symbolic_jit_grad_and_masks():
    rng = np.random.default_rng(0)
    q = rng.standard_normal((2, 3, 4)).astype(np.float32)
    v = rng.standard_normal((2, 5, 4)).astype(np.float32)
    for cls, kw in ((layers.Attention, {"use_scale": True}), (layers.Attention, {"score_mode": "concat"}),
                    (layers.AdditiveAttention, {})):
        keras.backend.clear_session()
        layer = cls(**kw)
        y = layer([q, v])
        assert y.shape == (2, 3, 4)
        clone = cls.from_config(layer.get_config())
        assert clone.get_config() == {**layer.get_config(), "name": clone.name}
        qi, vi = keras.Input((3, 4)), keras.Input((5, 4))
        out, scores = cls.from_config(layer.get_config())([qi, vi], return_attention_scores=True)
        assert out.shape == (None, 3, 4) and scores.shape == (None, 3, 5)
        model = keras.Model([qi, vi], out)
        model.set_weights(layer.get_weights())
        np.testing.assert_allclose(np.asarray(model.predict([q, v], verbose=0)), np.asarray(y), rtol=1e-5,
                                   atol=1e-6)
        params, state = model.params, model.state
        ya, _ = fnflow.jit(lambda p, s, a, b: model.apply(p, s, [a, b]))(params, state, q, v)
        np.testing.assert_allclose(np.asarray(ya), np.asarray(y), rtol=1e-5, atol=1e-6)
        if params:
            grads = fnflow.grad(lambda p: fnp.sum(model.apply(p, state, [q, v])[0] ** 2))(params)
            assert [g.shape for g in grads] == [p.shape for p in params]
    # a query mask zeroes those steps and becomes the output mask; the value mask hides those steps
    from fnflow_keras.utils.masking import get_keras_mask

    qm = np.array([[1, 1, 0], [1, 0, 1]], bool)
    vm = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    out, scores = layers.Attention()([q, v], mask=[qm, vm], return_attention_scores=True)
    assert np.all(np.asarray(out)[~qm] == 0)
    np.testing.assert_allclose(np.asarray(scores)[0, :, 3:], 0, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(get_keras_mask(out)), qm)
    # masks attached to the inputs are used too (as from an Embedding with mask_zero)
    keras.backend.clear_session()
    tokens_q = np.array([[1, 2, 0], [3, 0, 0]])
    tokens_v = np.array([[1, 2, 3, 0, 0], [4, 5, 0, 0, 0]])
    emb = layers.Embedding(6, 4, mask_zero=True)
    out = layers.Attention()([emb(tokens_q), emb(tokens_v)])
    np.testing.assert_array_equal(np.asarray(get_keras_mask(out)), tokens_q != 0)
    assert np.all(np.asarray(out)[tokens_q == 0] == 0)
    with pytest.raises(ValueError, match="list of inputs"):
        layers.Attention()(q)
    with pytest.raises(ValueError, match="score_mode"):
        layers.Attention(score_mode="general")


def test_attention_dropout_only_in_training():
    rng = np.random.default_rng(0)
    q = rng.standard_normal((2, 3, 4)).astype(np.float32)
    layer = layers.Attention(dropout=0.5, seed=1)
    a = np.asarray(layer([q, q]))
    np.testing.assert_array_equal(a, np.asarray(layer([q, q])))
    _, w = layer([q, q], training=True, return_attention_scores=True)
    b = np.asarray(layer([q, q], training=True))
    assert not np.allclose(a, b)
    np.testing.assert_allclose(np.asarray(w).sum(-1), 1.0, rtol=1e-5)  # the returned scores are not dropped
    keras.backend.clear_session()
    layers.Attention(dropout=0.5)
    assert layers.Dropout(0.1).name == "dropout"  # no hidden sublayer takes the default names


def test_einsum_dense_shapes_and_errors():
    layer = layers.EinsumDense("ab,bc->ac", output_shape=4, bias_axes="c")
    assert layer.compute_output_shape((None, 3)) == (None, 4)
    layer = layers.EinsumDense("abc,cde->abde", output_shape=(None, 2, 3))
    assert layer.compute_output_shape((None, 7, 5)) == (None, 7, 2, 3)
    layer = layers.EinsumDense("ab...,bc->ac...", output_shape=4)
    assert layer.compute_output_shape((None, 3, 5, 6)) == (None, 4, 5, 6)
    with pytest.raises(ValueError, match="Invalid einsum equation"):
        layers.EinsumDense("ab->b", output_shape=2).build((None, 3))
    with pytest.raises(ValueError, match="Bias dimension 'z'"):
        layers.EinsumDense("ab,bc->ac", output_shape=2, bias_axes="z").build((None, 3))
    with pytest.raises(ValueError, match="did not have a match"):
        layers.EinsumDense("ab,bqc->ac", output_shape=2).build((None, 3))
    with pytest.raises(NotImplementedError, match="LoRA"):
        layers.EinsumDense("ab,bc->ac", output_shape=2, lora_rank=2)
    # the glorot fans come from the equation: kernel (C=5, heads=2, dim=3) has fan_in 5, fan_out 6
    keras.utils.set_random_seed(0)
    layer = layers.EinsumDense("abc,cde->abde", output_shape=(None, 2, 3))
    layer.build((None, 4, 5))
    k = np.asarray(layer.kernel.numpy())
    assert np.abs(k).max() <= np.sqrt(6 / (5 + 6))
    assert layer.get_config()["kernel_initializer"]["config"]["input_axes"] is None


def test_separable_conv_is_depthwise_then_pointwise():
    x = np.random.default_rng(0).standard_normal((2, 6, 6, 3)).astype(np.float32)
    sep = layers.SeparableConv2D(4, 3, depth_multiplier=2, padding="same", use_bias=False)
    y = sep(x)
    dw = layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", use_bias=False)
    dw(x)
    dw.set_weights([sep.depthwise_kernel.numpy()])
    pw = layers.Conv2D(4, 1, use_bias=False)
    pw(dw(x))
    pw.set_weights([sep.pointwise_kernel.numpy()])
    np.testing.assert_allclose(np.asarray(y), np.asarray(pw(dw(x))), rtol=1e-5, atol=1e-6)


def test_group_normalization_instance_mode_and_errors():
    x = np.random.default_rng(0).standard_normal((2, 5, 4)).astype(np.float32)
    layer = layers.GroupNormalization(groups=-1, epsilon=0.0)
    y = np.asarray(layer(x))
    np.testing.assert_allclose(y, (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True), rtol=1e-4, atol=1e-5)
    assert layer.get_config()["groups"] == 4  # as Keras, -1 becomes the channel count when built
    with pytest.raises(ValueError, match="multiple"):
        layers.GroupNormalization(groups=3)(x)
    with pytest.raises(ValueError, match="groups"):
        layers.GroupNormalization(groups=0)


def test_unit_normalization_of_zeros_is_zero():
    y = np.asarray(layers.UnitNormalization()(np.zeros((2, 3), np.float32)))
    np.testing.assert_array_equal(y, 0.0)
    x = np.array([[3.0, 4.0]], np.float32)
    np.testing.assert_allclose(np.asarray(layers.UnitNormalization()(x)), [[0.6, 0.8]], rtol=1e-6)


def test_image_layers_details():
    img = np.arange(2 * 4 * 6 * 1, dtype=np.float32).reshape(2, 4, 6, 1)
    # nearest upsampling by 2 repeats pixels; identity sizes are the identity
    up = np.asarray(layers.Resizing(8, 12, interpolation="nearest")(img))
    np.testing.assert_array_equal(up, img.repeat(2, axis=1).repeat(2, axis=2))
    np.testing.assert_array_equal(np.asarray(layers.Resizing(4, 6)(img)), img)
    # integer images stay integers (rounded)
    ints = np.arange(16, dtype=np.int32).reshape(1, 4, 4, 1)
    out = layers.Resizing(2, 2)(ints)
    assert np.asarray(out).dtype == np.int32
    np.testing.assert_array_equal(np.asarray(out)[0, :, :, 0], [[2, 4], [10, 12]])  # means of 2x2 blocks, rounded
    # channels first and unbatched images
    cf = layers.CenterCrop(2, 2, data_format="channels_first")(np.transpose(img, (0, 3, 1, 2)))
    np.testing.assert_array_equal(np.asarray(cf), np.transpose(img[:, 1:3, 2:4], (0, 3, 1, 2)))
    np.testing.assert_array_equal(np.asarray(layers.CenterCrop(2, 2)(img[0])), img[0, 1:3, 2:4])
    # Rescaling of integers gives floats
    r = layers.Rescaling(1 / 255)(np.array([[0, 255]], np.uint8))
    assert np.asarray(r).dtype == np.float32
    np.testing.assert_allclose(np.asarray(r), [[0.0, 1.0]])
    with pytest.raises(NotImplementedError, match="bicubic"):
        layers.Resizing(2, 2, interpolation="bicubic")
    with pytest.raises(ValueError, match="Only one"):
        layers.Resizing(2, 2, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)


def test_new_layers_save_and_load(tmp_path):
    keras.utils.set_random_seed(0)
    inp = keras.Input((6, 6, 3))
    h = layers.Rescaling(0.5)(inp)
    h = layers.SeparableConv2D(4, 3, padding="same")(h)
    h = layers.DepthwiseConv2D(3)(h)
    h = layers.GroupNormalization(groups=2)(h)
    h = layers.SpatialDropout2D(0.2)(h)
    h = layers.Resizing(2, 2)(h)
    h = layers.Reshape((4, 4))(h)
    h = layers.EinsumDense("abc,cd->abd", output_shape=(None, 3), bias_axes="d")(h)
    h = layers.Conv1DTranspose(2, 3)(h)
    out = layers.Attention(use_scale=True)([h, h])
    model = keras.Model(inp, out)
    x = np.random.default_rng(0).standard_normal((2, 6, 6, 3)).astype(np.float32)
    pred = model.predict(x, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), pred, rtol=1e-5, atol=1e-6)


def test_upsampling2d_bilinear_matches_keras():
    x = np.arange(2 * 3 * 4 * 2, dtype="float32").reshape(2, 3, 4, 2) ** 1.5 / 10
    y = np.asarray(layers.UpSampling2D((2, 3), interpolation="bilinear")(x))
    assert y.shape == (2, 6, 12, 2)
    # rows printed by Keras 3.15.1 (JAX backend) for the same input
    np.testing.assert_allclose(y[1, 0, :, 1], [12.5, 12.5, 13.00987, 13.51974, 14.02961, 14.55873, 15.08786, 15.61698,
                                               16.16468, 16.71237, 17.26007, 17.26007], rtol=1e-5)
    np.testing.assert_allclose(y[1, 5, :4, 1], [26.25281, 26.25281, 26.90087, 27.54893], rtol=1e-5)
    y2 = np.asarray(layers.UpSampling2D(2, data_format="channels_first", interpolation="bilinear")(
        np.transpose(x, (0, 3, 1, 2))))
    np.testing.assert_allclose(y2[0, 0, 1], [0.56569, 0.67494, 0.89345, 1.16183, 1.4801, 1.83239, 2.2187, 2.41185],
                               rtol=1e-4)
    assert layers.UpSampling2D.from_config(layers.UpSampling2D(interpolation="bilinear").get_config()) \
        .interpolation == "bilinear"
    with pytest.raises(NotImplementedError, match="interpolation='bicubic' is not available"):
        layers.UpSampling2D(interpolation="bicubic")
