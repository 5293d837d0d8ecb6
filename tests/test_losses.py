"""fnflow.losses against NumPy transcriptions of Keras 3's formulas, Keras's own documented examples,
finite-difference gradients, and jit / vmap."""

import zlib

import numpy as np
import pytest

import fnflow
import fnflow.losses as L
from fnflow.testing import check_grads

EPS = 1e-7
rng = np.random.RandomState(0)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ------------------------------------------------------------ NumPy references (Keras's formulas)


def np_bce(t, p):
    p = np.clip(p, EPS, 1 - EPS)
    return np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p)), axis=-1)


def np_cce(t, p):
    p = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    return -np.sum(t * np.log(p), axis=-1)


def np_hinge_labels(t):
    return 2 * t - 1 if np.all((t == 0) | (t == 1)) else t


def np_norm(x):
    n = np.sqrt(np.sum(x * x, -1, keepdims=True))
    return x / np.maximum(n, EPS)


REFS = {
    "mean_squared_error": lambda t, p: np.mean((t - p) ** 2, -1),
    "mean_absolute_error": lambda t, p: np.mean(np.abs(t - p), -1),
    "mean_absolute_percentage_error": lambda t, p: 100 * np.mean(np.abs((t - p) / np.maximum(np.abs(t), EPS)), -1),
    "mean_squared_logarithmic_error":
        lambda t, p: np.mean((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2, -1),
    "huber": lambda t, p: np.mean(np.where(np.abs(p - t) <= 1, 0.5 * (p - t) ** 2, np.abs(p - t) - 0.5), -1),
    "log_cosh": lambda t, p: np.mean(np.log(np.cosh(p - t)), -1),
    "cosine_similarity": lambda t, p: -np.sum(np_norm(t) * np_norm(p), -1),
    "binary_crossentropy": np_bce,
    "categorical_crossentropy": np_cce,
    "kl_divergence": lambda t, p: np.sum(np.clip(t, EPS, 1) * np.log(np.clip(t, EPS, 1) / np.clip(p, EPS, 1)), -1),
    "poisson": lambda t, p: np.mean(p - t * np.log(p + EPS), -1),
    "hinge": lambda t, p: np.mean(np.maximum(1 - np_hinge_labels(t) * p, 0), -1),
    "squared_hinge": lambda t, p: np.mean(np.maximum(1 - np_hinge_labels(t) * p, 0) ** 2, -1),
    "categorical_hinge": lambda t, p: np.maximum(np.max((1 - t) * p, -1) - np.sum(t * p, -1) + 1, 0),
}


def _data(name, shape=(4, 3)):
    """(y_true, y_pred) in float64, in each loss's domain and away from kinks."""
    r = np.random.RandomState(zlib.crc32(name.encode()))
    if name in ("binary_crossentropy", "hinge", "squared_hinge"):
        t = r.randint(0, 2, shape).astype(np.float64)
        p = r.uniform(0.1, 0.9, shape) if name == "binary_crossentropy" else r.uniform(-2, 2, shape)
    elif name in ("categorical_crossentropy", "categorical_hinge", "kl_divergence"):
        t = np.eye(shape[-1])[r.randint(0, shape[-1], shape[:-1])]
        p = _softmax(0.5 * r.randn(*shape))  # probabilities away from 0 (finite differences of 1/p**3)
        if name == "kl_divergence":
            t = _softmax(r.randn(*shape))
    elif name in ("poisson", "mean_squared_logarithmic_error"):
        t, p = r.uniform(0.5, 3, shape), r.uniform(0.5, 3, shape)
    else:
        t, p = r.randn(*shape), r.randn(*shape) * 2
    return t, p


@pytest.mark.parametrize("name", sorted(REFS))
def test_values_against_numpy(name):
    t, p = _data(name)
    fn = getattr(L, name)
    for dt in (np.float64, np.float32):
        got = fn(t.astype(dt), p.astype(dt))
        assert got.shape == (4,) and got.dtype == dt
        np.testing.assert_allclose(got, REFS[name](t, p), rtol=1e-5 if dt == np.float32 else 1e-12, atol=1e-6)


@pytest.mark.parametrize("name", sorted(REFS))
def test_first_order_gradients(name):
    t, p = _data(name)
    fn = getattr(L, name)
    check_grads(lambda pred: fn(t, pred), (p,), order=1)


SMOOTH = ["mean_squared_error", "log_cosh", "cosine_similarity", "poisson", "kl_divergence",
          "mean_squared_logarithmic_error", "categorical_crossentropy", "binary_crossentropy"]


@pytest.mark.parametrize("name", SMOOTH)
def test_second_order_gradients(name):
    t, p = _data(name)
    fn = getattr(L, name)
    check_grads(lambda pred: fn(t, pred), (p,), order=2)


@pytest.mark.parametrize("kind", ["binary", "categorical", "sparse"])
def test_logits_gradients_order_2(kind):
    x = rng.randn(4, 3)
    if kind == "binary":
        t = rng.randint(0, 2, (4, 3)).astype(np.float64)
        f = lambda z: L.binary_crossentropy(t, z, from_logits=True, label_smoothing=0.1)  # noqa: E731
    elif kind == "categorical":
        t = np.eye(3)[[0, 2, 1, 1]]
        f = lambda z: L.categorical_crossentropy(t, z, from_logits=True, label_smoothing=0.2)  # noqa: E731
    else:
        f = lambda z: L.sparse_categorical_crossentropy(np.array([0, 2, 1, 1]), z, from_logits=True)  # noqa: E731
    check_grads(f, (x,), order=2)


def test_keras_documented_examples():
    np.testing.assert_allclose(L.categorical_crossentropy([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]),
                               [0.0513, 2.303], atol=1e-3)
    np.testing.assert_allclose(L.sparse_categorical_crossentropy([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]),
                               [0.0513, 2.303], atol=1e-3)
    np.testing.assert_allclose(L.binary_crossentropy([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]), [0.916, 0.714],
                               atol=1e-3)
    np.testing.assert_allclose(L.binary_focal_crossentropy([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], gamma=2),
                               [0.330, 0.206], atol=1e-3)
    np.testing.assert_allclose(L.categorical_focal_crossentropy([[0, 1, 0], [0, 0, 1]],
                                                                [[0.05, 0.9, 0.05], [0.1, 0.85, 0.05]]),
                               [2.63401289e-04, 6.75912094e-01], rtol=1e-4)
    np.testing.assert_allclose(np.mean(L.huber([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])), 0.155, atol=1e-6)
    np.testing.assert_allclose(np.mean(L.log_cosh([[0., 1.], [0., 0.]], [[1., 1.], [0., 0.]])), 0.108, atol=1e-3)
    np.testing.assert_allclose(L.cosine_similarity([[0., 1.], [1., 1.], [1., 1.]], [[1., 0.], [1., 1.], [-1., -1.]]),
                               [0., -1., 1.], atol=1e-6)


def test_huber_delta_and_kink():
    t, p = np.zeros((1, 3)), np.array([[0.5, 2.0, -3.0]])
    d = 1.5
    expected = np.mean([0.5 * 0.25, d * 2.0 - 0.5 * d * d, d * 3.0 - 0.5 * d * d])
    np.testing.assert_allclose(L.huber(t, p, delta=d), [expected])
    # |e| == delta uses the quadratic branch (<=), which meets the linear one
    np.testing.assert_allclose(L.huber(np.zeros((1, 1)), np.full((1, 1), d), delta=d), [0.5 * d * d])


def test_log_cosh_large_errors_do_not_overflow():
    out = L.log_cosh(np.zeros((1, 2), np.float32), np.array([[1000.0, -1000.0]], np.float32))
    np.testing.assert_allclose(out, [1000 - np.log(2)], rtol=1e-6)


# ------------------------------------------------------------ crossentropy details


def test_bce_logits_match_probabilities_and_are_stable():
    x = rng.randn(5, 4)
    t = rng.randint(0, 2, (5, 4)).astype(np.float64)
    np.testing.assert_allclose(L.binary_crossentropy(t, x, from_logits=True),
                               L.binary_crossentropy(t, _sigmoid(x)), rtol=1e-6)
    big = np.array([[1000.0, -1000.0]], np.float32)
    out = L.binary_crossentropy(np.array([[0.0, 1.0]], np.float32), big, from_logits=True)
    np.testing.assert_allclose(out, [1000.0])
    g = fnflow.grad(lambda z: L.binary_crossentropy(np.array([[0.0, 1.0]], np.float32), z, from_logits=True)[0])(big)
    np.testing.assert_allclose(g, [[0.5, -0.5]])
    # probabilities are clipped: p = 0 for a positive gives -log(1e-7)
    np.testing.assert_allclose(L.binary_crossentropy([[1.0]], [[0.0]]), [-np.log(EPS)], rtol=1e-6)


def test_cce_logits_match_probabilities_and_are_stable():
    x = rng.randn(5, 4)
    t = np.eye(4)[rng.randint(0, 4, 5)]
    np.testing.assert_allclose(L.categorical_crossentropy(t, x, from_logits=True),
                               L.categorical_crossentropy(t, _softmax(x)), rtol=1e-6)
    labels = rng.randint(0, 4, 5)
    np.testing.assert_allclose(L.sparse_categorical_crossentropy(labels, x, from_logits=True),
                               L.categorical_crossentropy(np.eye(4)[labels], x, from_logits=True), rtol=1e-12)
    big = np.array([[1000.0, -1000.0, 0.0]], np.float32)
    np.testing.assert_allclose(L.categorical_crossentropy([[0, 1.0, 0]], big, from_logits=True), [2000.0])
    assert np.all(np.isfinite(fnflow.grad(lambda z: L.sparse_categorical_crossentropy(
        np.array([1]), z, from_logits=True)[0])(big)))


def test_cce_renormalizes_probabilities():
    p = np.array([[1.0, 2.0, 1.0]])  # not normalized: Keras divides by the sum first
    np.testing.assert_allclose(L.categorical_crossentropy([[0, 1.0, 0]], p), [np.log(2)], rtol=1e-6)


def test_label_smoothing():
    t = np.array([[0.0, 1.0, 0.0]])
    p = np.array([[0.2, 0.5, 0.3]])
    s = 0.3
    ts = t * (1 - s) + s / 3
    np.testing.assert_allclose(L.categorical_crossentropy(t, p, label_smoothing=s), np_cce(ts, p))
    tb = np.array([[0.0, 1.0]])
    pb = np.array([[0.3, 0.8]])
    np.testing.assert_allclose(L.binary_crossentropy(tb, pb, label_smoothing=s), np_bce(tb * (1 - s) + s / 2, pb))
    np.testing.assert_allclose(L.binary_crossentropy(tb, np.log(pb / (1 - pb)), from_logits=True, label_smoothing=s),
                               np_bce(tb * (1 - s) + s / 2, pb), rtol=1e-6)


def test_bce_axis():
    t = rng.randint(0, 2, (2, 3)).astype(np.float64)
    p = rng.uniform(0.1, 0.9, (2, 3))
    np.testing.assert_allclose(L.binary_crossentropy(t, p, axis=0), np.mean(np_bce(t[..., None], p[..., None]), 0))


def test_cce_axis():
    x = rng.randn(3, 2)
    t = np.eye(3)[:, [0, 2]]
    np.testing.assert_allclose(L.categorical_crossentropy(t, x, from_logits=True, axis=0),
                               np_cce(t.T, _softmax(x, 0).T), rtol=1e-6)


@pytest.mark.parametrize("shape", [(4,), (4, 1)])
def test_sparse_label_shapes_and_dtypes(shape):
    p = _softmax(rng.randn(4, 3))
    labels = np.array([0, 2, 1, 2])
    expected = -np.log(np.clip(p[np.arange(4), labels], EPS, 1 - EPS))
    for dt in (np.int32, np.int64, np.float32):
        out = L.sparse_categorical_crossentropy(labels.reshape(shape).astype(dt), p)
        assert out.shape == (4,)
        np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_sparse_ignore_class():
    x = rng.randn(4, 3)
    labels = np.array([0, -1, 2, -1])
    out = L.sparse_categorical_crossentropy(labels, x, from_logits=True, ignore_class=-1)
    full = L.sparse_categorical_crossentropy(np.array([0, 0, 2, 0]), x, from_logits=True)
    np.testing.assert_allclose(out, [full[0], 0, full[2], 0])
    # the Loss record masks them out of the average (Keras: sum / number of valid entries)
    loss = L.Loss(L.sparse_categorical_crossentropy, from_logits=True, ignore_class=-1)
    np.testing.assert_allclose(loss(labels, x), (full[0] + full[2]) / 2)
    np.testing.assert_allclose(L.Loss(L.sparse_categorical_crossentropy, reduction="sum", from_logits=True,
                                      ignore_class=-1)(labels, x), full[0] + full[2])
    # probabilities: ignored rows stay finite, and so do the gradients
    p = _softmax(x)
    g = fnflow.grad(lambda q: L.Loss(L.sparse_categorical_crossentropy, ignore_class=-1)(labels, q))(p)
    assert np.all(np.isfinite(g)) and np.all(g[[1, 3]] == 0)


# ------------------------------------------------------------ hinge, cosine


def test_hinge_label_conversion_is_all_or_nothing():
    p = np.array([[0.3, -0.4]])
    np.testing.assert_allclose(L.hinge([[0.0, 1.0]], p), [np.mean(np.maximum(1 - np.array([-1, 1]) * p, 0))])
    # -1/1 labels are used as they are
    np.testing.assert_allclose(L.hinge([[-1.0, 1.0]], p), [np.mean(np.maximum(1 - np.array([-1, 1]) * p, 0))])
    # a mix of 0, 1 and 2 is not "binary": nothing is converted (Keras checks the whole batch)
    expected = np.mean(np.maximum(1 - np.array([0, 2]) * p, 0) ** 2)
    np.testing.assert_allclose(L.squared_hinge([[0.0, 2.0]], p), [expected])


def test_cosine_zero_vector():
    out = L.cosine_similarity(np.zeros((1, 3)), np.ones((1, 3)))
    np.testing.assert_allclose(out, [0.0])
    g = fnflow.grad(lambda p: L.cosine_similarity(np.ones((1, 3)), p)[0])(np.zeros((1, 3)))
    assert np.all(np.isfinite(g))


def test_rank_alignment():
    t = np.array([1.0, 2.0, 3.0])
    p = np.array([[1.5], [2.0], [2.0]])
    # (n,) against (n, 1): y_true becomes (n, 1) -> per-sample losses of shape (n,)
    np.testing.assert_allclose(L.mse(t, p), [0.25, 0.0, 1.0])
    np.testing.assert_allclose(L.Loss("mse")(t, p), np.mean([0.25, 0.0, 1.0]))


# ------------------------------------------------------------ reductions


VALUES = np.array([1.0, 2.0, 3.0, 4.0])
WEIGHTS = np.array([1.0, 0.0, 2.0, 0.5])


@pytest.mark.parametrize("reduction, expected", [
    ("sum_over_batch_size", (1 + 6 + 2) / 4), ("mean", (1 + 6 + 2) / 4), ("sum", 9.0),
    ("mean_with_sample_weight", 9.0 / 3.5), ("none", [1, 0, 6, 2]), (None, [1, 0, 6, 2])])
def test_reductions_with_weights(reduction, expected):
    np.testing.assert_allclose(L.reduce_loss(VALUES, WEIGHTS, reduction), expected)


@pytest.mark.parametrize("reduction, expected", [
    ("sum_over_batch_size", 2.5), ("mean", 2.5), ("sum", 10.0), ("mean_with_sample_weight", 2.5),
    ("none", VALUES), (None, VALUES)])
def test_reductions_without_weights(reduction, expected):
    np.testing.assert_allclose(L.reduce_loss(VALUES, None, reduction), expected)


def test_reduction_weight_shapes_and_edge_cases():
    # (n, 1) weights are squeezed; a scalar weight broadcasts
    np.testing.assert_allclose(L.reduce_loss(VALUES, WEIGHTS[:, None]), 9.0 / 4)
    np.testing.assert_allclose(L.reduce_loss(VALUES, 2.0), 5.0)
    # per-timestep losses (n, t) with per-timestep weights: divided by n * t
    v = np.arange(6.0).reshape(2, 3)
    w = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    np.testing.assert_allclose(L.reduce_loss(v, w), (0 + 1 + 4 + 5) / 6)
    np.testing.assert_allclose(L.reduce_loss(v, w, "mean_with_sample_weight"), (0 + 1 + 4 + 5) / 4)
    # all-zero weights give 0, not NaN
    np.testing.assert_allclose(L.reduce_loss(VALUES, np.zeros(4), "mean_with_sample_weight"), 0.0)
    # 0-d values are returned as they are
    np.testing.assert_allclose(L.reduce_loss(np.float32(3.0), 2.0), 6.0)
    with pytest.raises(ValueError, match="reduction"):
        L.reduce_loss(VALUES, reduction="average")


def test_reduction_with_mask():
    mask = np.array([True, False, True, True])
    np.testing.assert_allclose(L.reduce_loss(VALUES, mask=mask), (1 + 3 + 4) / 3)
    np.testing.assert_allclose(L.reduce_loss(VALUES, WEIGHTS, mask=mask), (1 + 6 + 2) / 3)
    np.testing.assert_allclose(L.reduce_loss(VALUES, mask=mask, reduction="sum"), 8.0)
    np.testing.assert_allclose(L.reduce_loss(VALUES, mask=np.zeros(4, bool)), 0.0)


def test_loss_record():
    t = rng.randint(0, 2, (4, 3)).astype(np.float32)
    p = rng.uniform(0.1, 0.9, (4, 3)).astype(np.float32)
    w = np.array([1.0, 2.0, 0.0, 1.0], np.float32)
    loss = L.Loss(L.binary_crossentropy, label_smoothing=0.1)
    assert loss.name == "binary_crossentropy" and loss.config == {"label_smoothing": 0.1}
    expected = np.sum(np_bce(t * 0.9 + 0.05, p) * w) / 4
    np.testing.assert_allclose(loss(t, p, w), expected, rtol=1e-6)
    assert hash(loss) == hash(L.Loss(L.binary_crossentropy, label_smoothing=0.1))
    assert fnflow.tree_util.tree_leaves(loss) == []
    assert L.Loss(L.huber).name == "huber_loss"
    assert L.Loss("mse", reduction="sum")(t, p).shape == ()
    with pytest.raises(ValueError):
        L.Loss(L.mse, reduction="bad")


def test_get():
    assert L.get("mse") is L.mean_squared_error
    assert L.get("MAE") is L.mean_absolute_error
    assert L.get("categorical_crossentropy") is L.categorical_crossentropy
    assert L.get("bce") is L.binary_crossentropy
    assert L.get("kld") is L.kl_divergence
    assert isinstance(L.get("SparseCategoricalCrossentropy"), L.Loss)
    assert L.get(None) is None and L.get(L.hinge) is L.hinge
    with pytest.raises(ValueError):
        L.get("nope")


# ------------------------------------------------------------ transforms


@pytest.mark.parametrize("name", sorted(REFS) + ["sparse_categorical_crossentropy"])
def test_jit_and_vmap_equal_eager(name):
    if name == "sparse_categorical_crossentropy":
        t, p = np.array([0, 2, 1, 1], np.int32), _softmax(rng.randn(4, 3)).astype(np.float32)
    else:
        t, p = (a.astype(np.float32) for a in _data(name))
    fn = getattr(L, name)
    eager = fn(t, p)
    np.testing.assert_allclose(fnflow.jit(fn)(t, p), eager, rtol=1e-6, atol=1e-7)
    per_row = fnflow.vmap(lambda a, b: fn(a[None], b[None])[0])(t, p)
    if name not in ("hinge", "squared_hinge"):  # hinge's 0/1 check is per call, so per row under vmap
        np.testing.assert_allclose(per_row, eager, rtol=1e-6, atol=1e-7)
    step = fnflow.jit(lambda a, b, w: L.reduce_loss(fn(a, b), w))
    w = np.array([1.0, 0.5, 0.0, 2.0], np.float32)
    np.testing.assert_allclose(step(t, p, w), L.reduce_loss(eager, w), rtol=1e-6)


def test_grad_through_jitted_loss_record():
    x = rng.randn(4, 3).astype(np.float32)
    labels = np.array([0, 2, 1, 1], np.int32)
    loss = L.Loss(L.sparse_categorical_crossentropy, from_logits=True)
    g = fnflow.jit(fnflow.grad(lambda z: loss(labels, z)))(x)
    expected = (_softmax(x.astype(np.float64)) - np.eye(3)[labels]) / 4
    np.testing.assert_allclose(g, expected, rtol=1e-5, atol=1e-6)
