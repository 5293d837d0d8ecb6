"""Embedding: Keras default init, lookup values, gradients to the table, the contract."""

import numpy as np
from layer_harness import run_layer_test

import fnflow
import fnflow.nn as nn
import fnflow.random as fr


def test_embedding(tmp_path):
    layer = nn.Embedding.init(fr.key(0), 10, 4)
    e = np.asarray(layer.embeddings)
    assert e.shape == (10, 4) and np.all(np.abs(e) <= 0.05) and np.abs(e).max() > 0.03
    ids = np.array([[1, 2, 9], [0, 2, 2]], np.int32)
    np.testing.assert_array_equal(layer(ids), e[ids])
    np.testing.assert_array_equal(layer(ids.astype(np.float32)), e[ids])  # cast to int like Keras
    run_layer_test(layer, ids, weight_shapes={"embeddings": (10, 4)}, output_shape=(2, 3, 4), grad_order=2,
                   tmp_path=tmp_path)
    assert (layer.input_dim, layer.output_dim) == (10, 4)


def test_embedding_grad_accumulates_repeats():
    layer = nn.Embedding.init(fr.key(0), 5, 2)
    ids = np.array([2, 2, 4])
    g = fnflow.grad(lambda lay: lay(ids).sum())(layer)
    want = np.zeros((5, 2))
    want[2], want[4] = 2, 1
    np.testing.assert_array_equal(g.embeddings, want)
