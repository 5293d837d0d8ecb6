"""MultiHeadAttention: Keras's weight layout, values vs NumPy, masks, dropout, the contract."""

import numpy as np
import pytest
from layer_harness import run_layer_test

import fnflow
import fnflow.nn as nn
import fnflow.random as fr

RNG = np.random.RandomState(0)


def np_mha(q_in, v_in, k_in, p, mask=None):
    q = np.einsum("btd,dnh->btnh", q_in, p.query_kernel) + p.query_bias
    k = np.einsum("bsd,dnh->bsnh", k_in, p.key_kernel) + p.key_bias
    v = np.einsum("bsd,dnh->bsnh", v_in, p.value_kernel) + p.value_bias
    q = q / np.sqrt(p.query_kernel.shape[2])
    s = np.einsum("btnh,bsnh->bnts", q, k)
    if mask is not None:
        s = np.where(mask[:, None], s, -1e9)
    s = s - s.max(-1, keepdims=True)
    a = np.exp(s) / np.exp(s).sum(-1, keepdims=True)
    ctx = np.einsum("bnts,bsnh->btnh", a, v)
    return np.einsum("btnh,nho->bto", ctx, p.output_kernel) + p.output_bias, a


def randomize(layer):
    return fnflow.tree_util.tree_map(lambda w: RNG.uniform(-0.5, 0.5, np.shape(w)), layer)


def test_mha_shapes_and_defaults():
    m = nn.MultiHeadAttention.init(fr.key(0), 6, num_heads=2, key_dim=3, value_dim=4, value_input_dim=5,
                                   output_dim=7)
    shapes = {"query_kernel": (6, 2, 3), "key_kernel": (5, 2, 3), "value_kernel": (5, 2, 4),
              "output_kernel": (2, 4, 7), "query_bias": (2, 3), "key_bias": (2, 3), "value_bias": (2, 4),
              "output_bias": (7,)}
    from layer_harness import param_shapes

    assert param_shapes(m) == shapes
    assert np.all(np.asarray(m.query_bias) == 0)
    # Keras's glorot-uniform on a 3-D kernel (dim, heads, key_dim): fans are heads*dim and key_dim*dim
    limit = np.sqrt(6 / (2 * 6 + 3 * 6))
    assert np.abs(np.asarray(m.query_kernel)).max() <= limit
    q, v = RNG.randn(2, 3, 6).astype(np.float32), RNG.randn(2, 4, 5).astype(np.float32)
    out, scores = m(q, v, return_attention_scores=True)
    assert out.shape == (2, 3, 7) and scores.shape == (2, 2, 3, 4)


def test_mha_values_cross_attention():
    m = randomize(nn.MultiHeadAttention.init(fr.key(0), 4, num_heads=2, key_dim=3, value_input_dim=5,
                                             key_input_dim=6))
    q, v, k = RNG.randn(2, 3, 4), RNG.randn(2, 5, 5), RNG.randn(2, 5, 6)
    out, a = m(q, v, k, return_attention_scores=True)
    want, wa = np_mha(q, v, k, m)
    np.testing.assert_allclose(out, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a, wa, rtol=1e-10, atol=1e-12)


def test_mha_masks():
    m = randomize(nn.MultiHeadAttention.init(fr.key(1), 4, num_heads=2, key_dim=2))
    x = RNG.randn(2, 5, 4)
    mask = RNG.rand(2, 5, 5) > 0.3
    mask[:, :, 0] = True
    out, a = m(x, attention_mask=mask, return_attention_scores=True)
    want, wa = np_mha(x, x, x, m, mask)
    np.testing.assert_allclose(out, want, rtol=1e-10, atol=1e-12)
    assert np.all(np.asarray(a)[~np.broadcast_to(mask[:, None], a.shape)] == 0)
    causal = np.tril(np.ones((5, 5), bool))
    out_c = m(x, use_causal_mask=True)
    np.testing.assert_allclose(out_c, np_mha(x, x, x, m, np.broadcast_to(causal, (2, 5, 5)))[0], rtol=1e-10)
    both = m(x, attention_mask=mask, use_causal_mask=True)
    np.testing.assert_allclose(both, np_mha(x, x, x, m, mask & causal)[0], rtol=1e-10)


def test_mha_dropout():
    m = nn.MultiHeadAttention.init(fr.key(0), 4, num_heads=2, key_dim=2, dropout=0.5)
    x = RNG.randn(2, 5, 4).astype(np.float32)
    np.testing.assert_array_equal(m(x), m(x, training=False))
    a = m(x, key=fr.key(1), training=True)
    np.testing.assert_array_equal(a, m(x, key=fr.key(1), training=True))
    assert not np.allclose(a, m(x))
    with pytest.raises(ValueError, match="key"):
        m(x, training=True)


def test_mha_contract(tmp_path):
    m = nn.MultiHeadAttention.init(fr.key(0), 4, num_heads=2, key_dim=3)
    x = RNG.randn(2, 3, 4).astype(np.float32)
    run_layer_test(m, x, output_shape=(2, 3, 4), tmp_path=tmp_path)
    run_layer_test(m, x, call=lambda lay, x: lay(x, use_causal_mask=True), grad_order=2, output_shape=(2, 3, 4),
                   check_checkpoint=False)
