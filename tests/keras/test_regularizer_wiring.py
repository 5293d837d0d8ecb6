"""Arguments that must not be silently dropped: regularizers passed on to sublayers and weights, LoRA refused."""

import numpy as np
import pytest

import fnflow_keras as keras


def test_multi_head_attention_regularizes_its_four_projections_as_keras():
    mha = keras.layers.MultiHeadAttention(2, 4, kernel_regularizer=keras.regularizers.L2(0.01),
                                          activity_regularizer=keras.regularizers.L1(0.02))
    x = np.linspace(-1, 1, 24, dtype="float32").reshape(2, 3, 4)
    mha(x, x)
    projections = [mha._query_dense, mha._key_dense, mha._value_dense, mha._output_dense]
    kernels = [0.01 * np.sum(np.asarray(p.kernel.value, np.float64) ** 2) for p in projections]
    q, k, v = (np.einsum("bti,ihk->bthk", x, np.asarray(p.kernel.value)) for p in projections[:3])
    scores = np.einsum("bthk,bshk->bhts", q / 2.0, k)
    w = np.exp(scores - scores.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    o = np.einsum("bhts,bshv,hvo->bto", w, v, np.asarray(mha._output_dense.kernel.value))
    # Keras's activity regularizers divide by the batch size
    activity = [0.02 * np.abs(y).sum() / 2 for y in (q, k, v, o)]
    assert len(mha.losses) == 8  # as real Keras 3.15: a kernel and an activity term per projection
    np.testing.assert_allclose(sorted(float(v) for v in mha.losses), sorted(kernels + activity), rtol=1e-5)
    config = mha.get_config()
    assert config["kernel_regularizer"]["class_name"] == "L2" and config["bias_regularizer"] is None
    assert config["activity_regularizer"]["config"]["l1"] == np.float32(0.02)
    again = keras.layers.MultiHeadAttention.from_config(config)
    again(x, x)
    assert len(again.losses) == 8


def test_prelu_alpha_regularizer():
    layer = keras.layers.PReLU(alpha_initializer=keras.initializers.Constant(0.5), alpha_regularizer="l2")
    layer(np.ones((2, 3), "float32"))
    np.testing.assert_allclose([float(v) for v in layer.losses], [0.01 * 3 * 0.25], rtol=1e-6)
    assert layer.get_config()["alpha_regularizer"] == {"module": "keras.regularizers", "class_name": "L2",
                                                       "config": {"l2": 0.01}, "registered_name": None}


def test_embedding_activity_regularizer_survives_its_config():
    layer = keras.layers.Embedding(5, 3, activity_regularizer="l2")
    layer(np.array([[1, 2]]))
    again = keras.layers.Embedding.from_config(layer.get_config())
    again(np.array([[1, 2]]))
    again.set_weights(layer.get_weights())
    again(np.array([[1, 2]]))  # the losses of the latest call
    want = 0.01 * np.sum(np.asarray(layer.embeddings.value)[[1, 2]] ** 2)  # divided by the batch size, 1
    np.testing.assert_allclose([float(v) for v in again.losses], [want], rtol=1e-5)


@pytest.mark.parametrize("make", [lambda: keras.layers.Dense(2, lora_rank=4),
                                  lambda: keras.layers.Embedding(5, 3, lora_rank=2),
                                  lambda: keras.layers.EinsumDense("ab,bc->ac", output_shape=2, lora_rank=2)])
def test_lora_is_refused_not_ignored(make):
    with pytest.raises(NotImplementedError, match=r"LoRA \(lora_rank=\d\) is not supported"):
        make()
