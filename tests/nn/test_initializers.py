"""Initializers: Keras's names, defaults, fans, distributions, determinism, get()."""

import math

import numpy as np
import pytest

import fnflow
import fnflow.nn.initializers as I
import fnflow.random as fr

K = fr.key(0)


def test_fans():
    assert I.compute_fans(()) == (1, 1)
    assert I.compute_fans((7,)) == (7, 7)
    assert I.compute_fans((3, 5)) == (3, 5)
    assert I.compute_fans((3, 3, 4, 8)) == (36, 72)  # receptive field 9
    assert I.compute_fans((5, 4, 2, 6)) == (5 * 4 * 2, 5 * 4 * 6)


def test_constant_initializers():
    np.testing.assert_array_equal(I.zeros(K, (2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(I.ones(K, 4), np.ones(4))
    np.testing.assert_array_equal(I.constant(2.5)(K, (2,)), [2.5, 2.5])
    np.testing.assert_array_equal(I.identity(K, (2, 3)), np.eye(2, 3))
    np.testing.assert_array_equal(I.Identity(gain=2.0)(K, (2, 2)), 2 * np.eye(2))
    with pytest.raises(ValueError):
        I.identity(K, (2, 2, 2))
    assert I.zeros(K, (2,), np.float64).dtype == np.float64
    with pytest.raises(TypeError, match="float"):
        I.zeros(K, (2,), np.int32)


SHAPE = (400, 300)  # 120000 samples: sample std within ~0.5% of the true one


@pytest.mark.parametrize("init, std, bound", [
    (I.random_uniform, 0.1 / math.sqrt(12), 0.05),
    (I.random_normal, 0.05, None),
    (I.truncated_normal, 0.05 * 0.87962566103423978, 0.1),
    (I.glorot_uniform, math.sqrt(2 / 700), math.sqrt(6 / 700)),
    (I.glorot_normal, math.sqrt(2 / 700), 2 * math.sqrt(2 / 700) / 0.87962566103423978),
    (I.he_uniform, math.sqrt(2 / 400), math.sqrt(6 / 400)),
    (I.he_normal, math.sqrt(2 / 400), 2 * math.sqrt(2 / 400) / 0.87962566103423978),
    (I.lecun_uniform, math.sqrt(1 / 400), math.sqrt(3 / 400)),
    (I.lecun_normal, math.sqrt(1 / 400), 2 * math.sqrt(1 / 400) / 0.87962566103423978),
    (I.variance_scaling(2.0, "fan_out", "untruncated_normal"), math.sqrt(2 / 300), None),
    (I.variance_scaling(3.0, "fan_avg", "uniform"), math.sqrt(3 / 350), math.sqrt(9 / 350)),
])
def test_random_distributions(init, std, bound):
    w = np.asarray(init(K, SHAPE))
    assert w.shape == SHAPE and w.dtype == np.float32
    assert abs(w.mean()) < 4 * std / math.sqrt(w.size) + 1e-7
    assert abs(w.std() / std - 1) < 0.01
    if bound is not None:
        assert np.abs(w).max() <= bound * (1 + 1e-6)
        assert np.abs(w).max() > 0.95 * bound
    np.testing.assert_array_equal(init(K, SHAPE), w)  # same key, same weights
    assert not np.array_equal(init(fr.key(1), SHAPE), w)


def test_conv_kernel_fans():
    w = np.asarray(I.he_uniform(K, (3, 3, 16, 32)))
    assert np.abs(w).max() <= math.sqrt(6 / (9 * 16)) and np.abs(w).max() > 0.95 * math.sqrt(6 / (9 * 16))


@pytest.mark.parametrize("shape", [(6, 6), (5, 8), (8, 5), (2, 3, 4)])
def test_orthogonal(shape):
    q = np.asarray(I.orthogonal(K, shape), np.float64).reshape(-1, shape[-1])
    small = min(q.shape)
    g = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
    np.testing.assert_allclose(g, np.eye(small), atol=1e-5)
    np.testing.assert_allclose(np.asarray(I.Orthogonal(gain=3.0)(K, shape)), 3 * np.asarray(I.orthogonal(K, shape)),
                               rtol=1e-6)
    # traced keys (jit / vmap over keys) use Gram-Schmidt; same matrix as the eager QR path
    np.testing.assert_allclose(fnflow.jit(lambda k: I.orthogonal(k, shape))(K), I.orthogonal(K, shape), atol=1e-5)
    with pytest.raises(ValueError):
        I.orthogonal(K, (4,))


def test_vmap_over_keys():
    ws = fnflow.vmap(lambda k: I.glorot_uniform(k, (3, 2)))(fr.split(K, 4))
    assert ws.shape == (4, 3, 2)
    np.testing.assert_array_equal(ws[1], I.glorot_uniform(fr.split(K, 4)[1], (3, 2)))


def test_get():
    assert I.get("glorot_uniform") == I.glorot_uniform
    assert I.get("GlorotUniform") == I.glorot_uniform
    assert I.get("he_normal") == I.HeNormal()
    assert I.get("uniform") == I.RandomUniform(-0.05, 0.05)
    assert I.get("normal") == I.random_normal
    assert I.get("zeros") == I.zeros and I.get("Zeros") == I.zeros
    assert I.get("variance_scaling") == I.VarianceScaling(1.0, "fan_in", "truncated_normal")
    assert I.get(I.Orthogonal) == I.orthogonal
    fn = lambda key, shape, dtype=np.float32: np.ones(shape, dtype)  # noqa: E731
    assert I.get(fn) is fn
    cfg = {"class_name": "RandomNormal", "config": {"mean": 1.0, "stddev": 2.0, "seed": None}}
    assert I.get(cfg) == I.RandomNormal(1.0, 2.0)
    with pytest.raises(ValueError, match="unknown initializer"):
        I.get("nope")
    with pytest.raises(ValueError, match="mode"):
        I.variance_scaling(1.0, "fan_sideways")
    with pytest.raises(ValueError, match="scale"):
        I.VarianceScaling(-1.0)
    hash(I.glorot_uniform)  # usable as static configuration
