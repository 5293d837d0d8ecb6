"""fnflow.metrics: Keras's documented results, NumPy brute-force references, streaming = one big update,
jitted updates, sample weights, reset."""

import numpy as np
import pytest

import fnflow
import fnflow.losses as L
import fnflow.metrics as M

EPS = 1e-7
rng = np.random.RandomState(0)


def run(metric, batches, jit=False):
    """Feed ``batches`` of (y_true, y_pred[, sample_weight]) through ``metric``; return the result."""
    first = batches[0]
    state = metric.init(first[0], first[1])
    update = fnflow.jit(metric.update) if jit else metric.update
    for b in batches:
        state = update(state, *b)
    return metric.result(state)


def split(arrays, sizes=(3, 1, 4)):
    """Cut aligned arrays (first axis) into consecutive batches of ``sizes`` (the last one takes the rest)."""
    out, start = [], 0
    for i, s in enumerate(sizes):
        stop = len(arrays[0]) if i == len(sizes) - 1 else start + s
        out.append(tuple(a[start:stop] for a in arrays))
        start = stop
    return out


def check_streaming(metric, arrays, sizes=(3, 1, 4), rtol=1e-5):
    """Several updates == one update == the same under jit."""
    whole = run(metric, [tuple(arrays)])
    np.testing.assert_allclose(run(metric, split(arrays, sizes)), whole, rtol=rtol, atol=1e-6)
    np.testing.assert_allclose(run(metric, split(arrays, sizes), jit=True), whole, rtol=rtol, atol=1e-6)
    return whole


# ------------------------------------------------------------ Keras's documented examples


def test_keras_documented_results():
    cases = [
        (M.accuracy(), ([[1], [2], [3], [4]], [[0], [2], [3], [4]]), 0.75),
        (M.accuracy(), ([[1], [2], [3], [4]], [[0], [2], [3], [4]], [1, 1, 0, 0]), 0.5),
        (M.binary_accuracy(), ([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]]), 0.75),
        (M.binary_accuracy(), ([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]], [1, 0, 0, 1]), 0.5),
        (M.categorical_accuracy(), ([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], [0.7, 0.3]), 0.3),
        (M.sparse_categorical_accuracy(), ([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]]), 0.5),
        (M.sparse_categorical_accuracy(), ([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]], [0.7, 0.3]), 0.3),
        (M.top_k_categorical_accuracy(k=1), ([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]), 0.5),
        (M.sparse_top_k_categorical_accuracy(k=1), ([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], [0.7, 0.3]), 0.3),
        (M.false_positives(), ([0, 1, 0, 0], [0, 0, 1, 1]), 2.0),
        (M.false_positives(), ([0, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 0]), 1.0),
        (M.false_negatives(), ([0, 1, 1, 1], [0, 1, 0, 0]), 2.0),
        (M.true_negatives(), ([0, 1, 0, 0], [1, 1, 0, 0]), 2.0),
        (M.true_positives(), ([0, 1, 1, 1], [1, 0, 1, 1], [0, 0, 1, 0]), 1.0),
        (M.precision(), ([0, 1, 1, 1], [1, 0, 1, 1]), 2 / 3),
        (M.precision(), ([0, 1, 1, 1], [1, 0, 1, 1], [0, 0, 1, 0]), 1.0),
        (M.precision(top_k=2), ([0, 0, 1, 1], [1, 1, 1, 1]), 0.0),
        (M.precision(top_k=4), ([0, 0, 1, 1], [1, 1, 1, 1]), 0.5),
        (M.recall(), ([0, 1, 1, 1], [1, 0, 1, 1]), 2 / 3),
        (M.recall(), ([0, 1, 1, 1], [1, 0, 1, 1], [0, 0, 1, 0]), 1.0),
        (M.auc(num_thresholds=3), ([0, 0, 1, 1], [0, 0.5, 0.3, 0.9]), 0.75),
        (M.auc(num_thresholds=3), ([0, 0, 1, 1], [0, 0.5, 0.3, 0.9], [1, 0, 0, 1]), 1.0),
        (M.mean_iou(2), ([0, 0, 1, 1], [0, 1, 0, 1]), 1 / 3),
        (M.mean_iou(2), ([0, 0, 1, 1], [0, 1, 0, 1], [0.3, 0.3, 0.3, 0.1]), 0.23809525),
        (M.iou(2, [0]), ([0, 0, 1, 1], [0, 1, 0, 1], [0.3, 0.3, 0.3, 0.1]), 1 / 3),
        (M.binary_iou(threshold=0.3), ([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7]), 1 / 3),
        (M.binary_iou(threshold=0.3), ([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7], [0.2, 0.3, 0.4, 0.1]), 0.17361112),
        (M.r2_score(), ([[1.0], [4.0], [3.0]], [[2.0], [4.0], [4.0]]), 0.57142854),
        (M.mean_squared_error(), ([[0, 1], [0, 0]], [[1, 1], [0, 0]]), 0.25),
        (M.mean_absolute_error(), ([[0, 1], [0, 0]], [[1, 1], [0, 0]], [1, 0]), 0.5),
        (M.mean_absolute_percentage_error(), ([[0, 1], [0, 0]], [[1, 1], [0, 0]]), 250000000.0),
        (M.mean_squared_logarithmic_error(), ([[0, 1], [0, 0]], [[1, 1], [0, 0]], [1, 0]), 0.24022643),
        (M.root_mean_squared_error(), ([[0, 1], [0, 0]], [[1, 1], [0, 0]]), 0.5),
        (M.root_mean_squared_error(), ([[0, 1], [0, 0]], [[1, 1], [0, 0]], [1, 0]), 0.70710677),
        (M.cosine_similarity(axis=1), ([[0., 1.], [1., 1.]], [[1., 0.], [1., 1.]], [0.3, 0.7]), 0.6999999),
        (M.log_cosh_error(), ([[0, 1], [0, 0]], [[1, 1], [0, 0]]), 0.10844523),
    ]
    for metric, args, expected in cases:
        np.testing.assert_allclose(metric(*[np.asarray(a) for a in args]), expected, rtol=1e-5,
                                   err_msg=metric.name)


def test_keras_documented_f_scores_and_one_hot_iou():
    yt = np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]], np.int32)
    yp = np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]], np.float32)
    np.testing.assert_allclose(M.fbeta_score(beta=2.0, threshold=0.5)(yt, yp), [0.3846154, 0.90909094, 0.8333334],
                               rtol=1e-5)
    np.testing.assert_allclose(M.f1_score(threshold=0.5)(yt, yp), [0.5, 0.8, 0.6666667], rtol=1e-5)
    yt = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]])
    yp = np.array([[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]])
    w = np.array([0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(M.one_hot_iou(3, [0, 2])(yt, yp, w), (0.1 / 0.7) / 2, rtol=1e-5)
    np.testing.assert_allclose(M.one_hot_mean_iou(3)(yt, yp, w), (0.1 / 0.7) / 3, rtol=1e-5)


# ------------------------------------------------------------ mean, sum, wrappers


def test_mean_and_sum():
    m = M.mean()
    s = m.update(m.init(), np.array([1.0, 3, 5, 7]))
    np.testing.assert_allclose(m.result(s), 4.0)
    s = m.update(m.init(), np.array([1.0, 3, 5, 7]), np.array([1, 1, 0, 0]))
    np.testing.assert_allclose(m.result(s), 2.0)
    np.testing.assert_allclose(m.result(m.init()), 0.0)  # no NaN before the first update
    s = m.update(m.update(m.init(), np.float32(2.0)), np.float32(4.0), 3.0)  # scalars with weights
    np.testing.assert_allclose(m.result(s), (2 + 12) / 4)
    # per-timestep values (batch, t) are averaged per sample; (batch, t) weights too
    v = np.arange(6.0).reshape(2, 3)
    w = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    s = m.update(m.init(), v, w)
    np.testing.assert_allclose(m.result(s), (np.mean(v * w, 1).sum()) / np.mean(w, 1).sum())
    t = M.sum()
    np.testing.assert_allclose(t.result(t.update(t.init(), np.array([1.0, 3, 5, 7]), np.array([1, 1, 0, 0]))), 4.0)
    assert M.mean().init()["total"].dtype == np.float32


def test_mean_metric_wrapper_equals_weighted_mean_of_loss():
    t = rng.randn(8, 3).astype(np.float32)
    p = rng.randn(8, 3).astype(np.float32)
    w = rng.uniform(0, 2, 8).astype(np.float32)
    m = M.mean_metric_wrapper(L.huber, delta=0.5)
    assert m.direction == "down" and m.get_config()["delta"] == 0.5
    got = check_streaming(m, (t, p, w))
    per = L.huber(t, p, delta=0.5)
    np.testing.assert_allclose(got, np.sum(per * w) / np.sum(w), rtol=1e-5)


def test_crossentropy_metrics():
    x = rng.randn(8, 4).astype(np.float32)
    labels = rng.randint(0, 4, 8)
    got = check_streaming(M.sparse_categorical_crossentropy(from_logits=True), (labels, x))
    np.testing.assert_allclose(got, np.mean(L.sparse_categorical_crossentropy(labels, x, from_logits=True)), rtol=1e-5)
    got = check_streaming(M.categorical_crossentropy(label_smoothing=0.1), (np.eye(4)[labels], np.exp(x)))
    np.testing.assert_allclose(got, np.mean(L.categorical_crossentropy(np.eye(4)[labels], np.exp(x),
                                                                       label_smoothing=0.1)), rtol=1e-5)
    # ignore_class: Keras's metric wrapper merges the mask into explicit weights only
    m = M.mean_metric_wrapper(L.sparse_categorical_crossentropy, from_logits=True, ignore_class=0)
    per = L.sparse_categorical_crossentropy(labels, x, from_logits=True, ignore_class=0)
    np.testing.assert_allclose(m(labels, x), np.mean(per), rtol=1e-5)
    w = np.ones(8, np.float32)
    np.testing.assert_allclose(m(labels, x, w), np.sum(per) / np.sum(labels != 0), rtol=1e-5)


# ------------------------------------------------------------ accuracies


def test_accuracies_against_numpy():
    x = rng.randn(8, 5).astype(np.float32)
    labels = rng.randint(0, 5, 8)
    w = rng.uniform(0, 1, 8).astype(np.float32)
    hits = (np.argmax(x, -1) == labels).astype(np.float64)
    wmean = np.sum(hits * w) / np.sum(w)
    np.testing.assert_allclose(check_streaming(M.sparse_categorical_accuracy(), (labels, x, w)), wmean, rtol=1e-5)
    np.testing.assert_allclose(check_streaming(M.categorical_accuracy(), (np.eye(5)[labels], x, w)), wmean, rtol=1e-5)
    rank = np.sum(x > x[np.arange(8), labels][:, None], -1)
    for k in (1, 2, 3):
        top = np.sum((rank < k) * w) / np.sum(w)
        np.testing.assert_allclose(check_streaming(M.sparse_top_k_categorical_accuracy(k=k), (labels, x, w)), top,
                                   rtol=1e-5)
        np.testing.assert_allclose(check_streaming(M.top_k_categorical_accuracy(k=k), (np.eye(5)[labels], x, w)),
                                   top, rtol=1e-5)
    yb = rng.randint(0, 2, (8, 3)).astype(np.float32)
    pb = rng.uniform(0, 1, (8, 3)).astype(np.float32)
    per = np.mean((pb > 0.3) == yb, -1)
    np.testing.assert_allclose(check_streaming(M.binary_accuracy(threshold=0.3), (yb, pb, w)),
                               np.sum(per * w) / np.sum(w), rtol=1e-5)


def test_accuracy_functions_shapes_and_ties():
    # ties: the first maximum is the prediction (argmax), and in_top_k counts ties as inside
    assert M.sparse_categorical_accuracy_fn(np.array([1]), np.array([[0.5, 0.5]])).tolist() == [0.0]
    assert M.sparse_top_k_categorical_accuracy_fn(np.array([1]), np.array([[0.5, 0.5, 0.1]]), k=1).tolist() == [1.0]
    assert M.sparse_categorical_accuracy_fn(np.array([[1], [0]]), np.eye(2)).shape == (2,)
    assert M.binary_accuracy_fn(np.array([1.0, 0.0]), np.array([[0.7], [0.2]])).shape == (2,)
    # sequences: (batch, time) labels against (batch, time, classes)
    labels = np.array([[0, 1], [2, 2]])
    scores = np.eye(3)[[[0, 2], [2, 2]]]
    np.testing.assert_allclose(M.sparse_categorical_accuracy_fn(labels, scores), [[1, 0], [1, 1]])
    np.testing.assert_allclose(M.sparse_top_k_categorical_accuracy_fn(labels, scores, k=1), [[1, 0], [1, 1]])


# ------------------------------------------------------------ confusion counts, precision, recall


def np_counts(y, p, thresholds, w=None):
    w = np.ones(p.size) if w is None else np.broadcast_to(w, p.shape).reshape(-1)
    y, p = y.reshape(-1) != 0, p.reshape(-1)
    pos = p[None] > np.asarray(thresholds)[:, None]
    return {"tp": np.sum((pos & y) * w, 1), "fp": np.sum((pos & ~y) * w, 1),
            "tn": np.sum((~pos & ~y) * w, 1), "fn": np.sum((~pos & y) * w, 1)}


@pytest.mark.parametrize("thresholds", [None, 0.3, [0.1, 0.5, 0.8], [0.0, 0.25, 0.5, 0.75, 1.0]])
def test_counts_precision_recall(thresholds):
    y = rng.randint(0, 2, 12).astype(np.float32)
    p = rng.uniform(0, 1, 12).astype(np.float32)
    w = rng.uniform(0, 2, 12).astype(np.float32)
    ts = [0.5] if thresholds is None else np.atleast_1d(thresholds).tolist()
    ref = np_counts(y, p, ts, w)
    squeeze = (lambda a: a[0]) if len(ts) == 1 else (lambda a: a)
    for name, metric in [("tp", M.true_positives), ("fp", M.false_positives), ("tn", M.true_negatives),
                         ("fn", M.false_negatives)]:
        got = check_streaming(metric(thresholds), (y, p, w), sizes=(5, 3, 4))
        np.testing.assert_allclose(got, squeeze(ref[name]), rtol=1e-5)
    prec = ref["tp"] / np.where(ref["tp"] + ref["fp"] > 0, ref["tp"] + ref["fp"], 1)
    rec = ref["tp"] / np.where(ref["tp"] + ref["fn"] > 0, ref["tp"] + ref["fn"], 1)
    np.testing.assert_allclose(check_streaming(M.precision(thresholds), (y, p, w), (5, 3, 4)), squeeze(prec),
                               rtol=1e-5)
    np.testing.assert_allclose(check_streaming(M.recall(thresholds), (y, p, w), (5, 3, 4)), squeeze(rec), rtol=1e-5)


def test_precision_recall_top_k_and_class_id():
    y = rng.randint(0, 2, (6, 4)).astype(np.float32)
    p = rng.uniform(0, 1, (6, 4)).astype(np.float32)
    order = np.argsort(-p, -1, kind="stable")
    in_top2 = np.zeros_like(y, bool)
    np.put_along_axis(in_top2, order[:, :2], True, -1)
    tp = np.sum(in_top2 & (y > 0))
    np.testing.assert_allclose(check_streaming(M.precision(top_k=2), (y, p), (2, 1, 3)), tp / np.sum(in_top2),
                               rtol=1e-6)
    np.testing.assert_allclose(check_streaming(M.recall(top_k=2), (y, p), (2, 1, 3)), tp / np.sum(y), rtol=1e-6)
    c = 2
    pred = p[:, c] > 0.5
    np.testing.assert_allclose(M.precision(class_id=c)(y, p), np.sum(pred & (y[:, c] > 0)) / max(np.sum(pred), 1))
    np.testing.assert_allclose(M.recall(class_id=c, top_k=2)(y, p),
                               np.sum(in_top2[:, c] & (y[:, c] > 0)) / max(np.sum(y[:, c]), 1))
    # (batch,) weights weight whole rows
    w = rng.uniform(0, 1, 6).astype(np.float32)
    tpw = np.sum((p > 0.5) & (y > 0), axis=1) @ w
    fpw = np.sum((p > 0.5) & (y == 0), axis=1) @ w
    np.testing.assert_allclose(check_streaming(M.precision(), (y, p, w), (2, 1, 3)), tpw / (tpw + fpw), rtol=1e-5)


def test_filter_top_k_ties_take_the_first():
    p = np.array([[0.5, 0.5, 0.5, 0.1]], np.float32)
    tp = M.true_positives(thresholds=0.0)
    np.testing.assert_allclose(M.precision(top_k=2)(np.array([[0, 0, 1, 0]]), p), 0.0)
    np.testing.assert_allclose(M.precision(top_k=2)(np.array([[1, 0, 0, 0]]), p), 0.5)
    assert float(tp(np.array([[1, 1, 1, 1]]), p)) == 4.0


# ------------------------------------------------------------ AUC against a NumPy brute force


def np_auc_thresholds(n):
    return np.array([-EPS] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1 + EPS])


def _riemann(x, y, method):
    if method == "interpolation":
        h = (y[:-1] + y[1:]) / 2
    elif method == "minoring":
        h = np.minimum(y[:-1], y[1:])
    else:
        h = np.maximum(y[:-1], y[1:])
    return np.sum((x[:-1] - x[1:]) * h, axis=0)


def _nan0(a, b):
    return np.where(b > 0, a / np.where(b > 0, b, 1), 0.0)


def np_pr_interpolated(c):
    """Integrate precision d(recall) with tp and predicted positives linear between thresholds (midpoints)."""
    tp, p = c["tp"], c["tp"] + c["fp"]
    total = c["tp"] + c["fn"]
    s = (np.arange(4000) + 0.5) / 4000
    area = 0.0
    for i in range(len(tp) - 1):
        dtp = tp[i] - tp[i + 1]
        if dtp == 0 or total[i + 1] == 0:
            continue
        tps = tp[i + 1] + s * dtp
        ps = p[i + 1] + s * (p[i] - p[i + 1])
        area += np.mean(tps / ps) * dtp / total[i + 1]
    return area


def np_auc(y, p, n=200, curve="ROC", method="interpolation", w=None, thresholds=None):
    ts = np_auc_thresholds(n) if thresholds is None else np.array([-EPS] + sorted(thresholds) + [1 + EPS])
    c = np_counts(y, p.astype(np.float64), ts, w)
    if curve == "PR" and method == "interpolation":
        return np_pr_interpolated(c)
    rec = _nan0(c["tp"], c["tp"] + c["fn"])
    if curve == "ROC":
        return _riemann(_nan0(c["fp"], c["fp"] + c["tn"]), rec, method)
    return _riemann(rec, _nan0(c["tp"], c["tp"] + c["fp"]), method)


@pytest.mark.parametrize("curve", ["ROC", "PR"])
@pytest.mark.parametrize("method", ["interpolation", "minoring", "majoring"])
def test_auc_against_brute_force(curve, method):
    y = rng.randint(0, 2, 40).astype(np.float32)
    p = np.clip(0.3 * y + rng.uniform(0, 0.7, 40), 0, 1).astype(np.float32)
    w = rng.uniform(0, 2, 40).astype(np.float32)
    for n in (3, 7, 200):
        m = M.auc(num_thresholds=n, curve=curve, summation_method=method)
        got = check_streaming(m, (y, p, w), sizes=(10, 25, 5))
        np.testing.assert_allclose(got, np_auc(y, p, n, curve, method, w), rtol=2e-4, atol=1e-6,
                                   err_msg=f"n={n}")


def test_auc_custom_thresholds_and_logits():
    y = rng.randint(0, 2, 30).astype(np.float32)
    x = (rng.randn(30) + y).astype(np.float32)
    p = 1 / (1 + np.exp(-x.astype(np.float64)))
    ts = [0.7, 0.2, 0.45, 0.5]  # uneven: compared directly with y_pred > t
    m = M.auc(thresholds=ts)
    assert m.get_config()["num_thresholds"] == 6
    np.testing.assert_allclose(check_streaming(m, (y, p.astype(np.float32))), np_auc(y, p, thresholds=ts), rtol=1e-5)
    np.testing.assert_allclose(check_streaming(M.auc(from_logits=True, curve="PR"), (y, x)),
                               np_auc(y, p, curve="PR"), rtol=2e-4)
    # evenly spaced custom thresholds take the bucketed path and agree too
    even = [0.25, 0.5, 0.75]
    np.testing.assert_allclose(M.auc(thresholds=even)(y, p.astype(np.float32)), np_auc(y, p, thresholds=even),
                               rtol=1e-5)


def test_auc_edges():
    # predictions exactly 0 and 1 fall inside the epsilon end points; a perfect ranking has AUC 1
    y = np.array([0, 0, 1, 1], np.float32)
    np.testing.assert_allclose(M.auc()(y, np.array([0.0, 0.1, 0.9, 1.0], np.float32)), 1.0)
    # out-of-range predictions are clipped on the bucketed path
    np.testing.assert_allclose(M.auc()(y, np.array([-3.0, 0.1, 0.9, 7.0], np.float32)), 1.0)
    # only one class seen: recall or fp-rate are 0/0 -> 0, no NaN
    assert np.isfinite(M.auc()(np.ones(4, np.float32), np.array([0.1, 0.4, 0.6, 0.9], np.float32)))
    assert float(M.auc(curve="PR")(np.zeros(4, np.float32), np.array([0.1, 0.4, 0.6, 0.9], np.float32))) == 0.0
    # (batch, 1) predictions against (batch,) labels
    np.testing.assert_allclose(M.auc()(y, np.array([[0.0], [0.1], [0.9], [1.0]], np.float32)), 1.0)


def test_auc_multi_label():
    y = rng.randint(0, 2, (20, 3)).astype(np.float32)
    p = np.clip(0.4 * y + rng.uniform(0, 0.6, (20, 3)), 0, 1).astype(np.float32)
    per_label = [np_auc(y[:, j], p[:, j], 50) for j in range(3)]
    m = M.auc(num_thresholds=50, multi_label=True)
    assert m.init(y, p)["true_positives"].shape == (50, 3)
    np.testing.assert_allclose(check_streaming(m, (y, p), (5, 5, 10)), np.mean(per_label), rtol=1e-5)
    lw = [1.0, 0.0, 3.0]
    m = M.auc(num_thresholds=50, multi_label=True, num_labels=3, label_weights=lw)
    np.testing.assert_allclose(run(m, [(y, p)]), np.dot(per_label, lw) / 4, rtol=1e-5)
    pr = [np_auc(y[:, j], p[:, j], 50, "PR") for j in range(3)]
    np.testing.assert_allclose(run(M.auc(50, "PR", multi_label=True, num_labels=3), [(y, p)]), np.mean(pr),
                               rtol=2e-4)
    # flattened (multi_label=False) with label_weights weights the entries
    flat = np_auc(y, p, 50, w=np.broadcast_to(np.array(lw), y.shape))
    np.testing.assert_allclose(M.auc(50, label_weights=lw)(y, p), flat, rtol=1e-5)
    with pytest.raises(ValueError, match="num_labels"):
        M.auc(multi_label=True).init()


# ------------------------------------------------------------ F-scores


def np_fbeta(y, p, beta, threshold, w, average):
    pred = (p > threshold) if threshold is not None else ((p >= p.max(-1, keepdims=True)) & (np.abs(p) > 1e-9))
    pred = pred.astype(np.float64)
    w = w[:, None]
    ax = None if average == "micro" else 0
    tp, fp = np.sum(pred * y * w, ax), np.sum(pred * (1 - y) * w, ax)
    fn, sup = np.sum((1 - pred) * y * w, ax), np.sum(y * w, ax)
    pr, rc = tp / (tp + fp + EPS), tp / (tp + fn + EPS)
    f = (1 + beta ** 2) * pr * rc / (beta ** 2 * pr + rc + EPS)
    if average == "weighted":
        return np.sum(f * sup / (np.sum(sup) + EPS))
    return np.mean(f) if average else f


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
@pytest.mark.parametrize("threshold", [None, 0.4])
def test_fbeta_against_numpy(average, threshold):
    y = np.eye(4)[rng.randint(0, 4, 10)].astype(np.float32)
    p = rng.uniform(0, 1, (10, 4)).astype(np.float32)
    w = rng.uniform(0, 2, 10).astype(np.float32)
    m = M.fbeta_score(average=average, beta=0.5, threshold=threshold)
    np.testing.assert_allclose(check_streaming(m, (y, p, w), (4, 4, 2)), np_fbeta(y, p, 0.5, threshold, w, average),
                               rtol=1e-5)
    assert m.init(y, p)["true_positives"].shape == (() if average == "micro" else (4,))
    assert M.f1_score(num_classes=4).init()["false_negatives"].shape == (4,)
    with pytest.raises(ValueError):
        M.fbeta_score(average="samples")


# ------------------------------------------------------------ IoU, R2


def test_mean_iou_against_numpy():
    n = 4
    y = rng.randint(0, n, (5, 6))
    p = rng.randint(0, n, (5, 6))
    w = rng.uniform(0, 1, (5, 6)).astype(np.float32)
    cm = np.zeros((n, n))
    np.add.at(cm, (y.ravel(), p.ravel()), w.ravel())
    tp = np.diag(cm)
    denom = cm.sum(0) + cm.sum(1) - tp
    expected = np.sum(tp / (denom + EPS)) / (np.sum(denom > 1e-9) + EPS)
    np.testing.assert_allclose(check_streaming(M.mean_iou(n), (y, p, w), (2, 1, 2)), expected, rtol=1e-5)
    # ignore_class drops those labels; dense inputs go through argmax
    keep = y != 1
    cm2 = np.zeros((n, n))
    np.add.at(cm2, (y[keep], p[keep]), w[keep])
    tp2 = np.diag(cm2)
    d2 = cm2.sum(0) + cm2.sum(1) - tp2
    got = M.mean_iou(n, ignore_class=1, sparse_y_pred=False)(y, np.eye(n)[p], w)
    np.testing.assert_allclose(got, np.sum(tp2 / (d2 + EPS)) / (np.sum(d2 > 1e-9) + EPS), rtol=1e-5)


def np_r2(y, p, w, agg):
    w = np.broadcast_to(w[:, None], y.shape)
    mean = np.sum(w * y, 0) / np.sum(w, 0)
    ss_tot = np.sum(w * (y - mean) ** 2, 0)
    raw = 1 - np.sum(w * (y - p) ** 2, 0) / ss_tot
    if agg == "uniform_average":
        return np.mean(raw)
    if agg == "variance_weighted_average":
        return np.sum(ss_tot * raw) / np.sum(ss_tot)
    return raw


@pytest.mark.parametrize("agg", [None, "uniform_average", "variance_weighted_average"])
def test_r2_against_numpy(agg):
    y = rng.randn(12, 3).astype(np.float32)
    p = (y + 0.5 * rng.randn(12, 3)).astype(np.float32)
    w = rng.uniform(0.5, 2, 12).astype(np.float32)
    got = check_streaming(M.r2_score(class_aggregation=agg), (y, p, w), (5, 3, 4), rtol=1e-4)
    np.testing.assert_allclose(got, np_r2(y, p, w, agg), rtol=1e-4)
    # adjusted R2 with n = 36 values and 2 regressors; too many regressors keep the plain score
    r2 = np_r2(y, p, np.ones(12), "uniform_average")
    np.testing.assert_allclose(M.r2_score(num_regressors=2)(y, p), 1 - (1 - r2) * 35 / 33, rtol=1e-4)
    np.testing.assert_allclose(M.r2_score(num_regressors=40)(y, p), r2, rtol=1e-4)


# ------------------------------------------------------------ the record itself


ALL = [M.mean_squared_error(), M.accuracy(), M.binary_accuracy(), M.auc(), M.auc(curve="PR"),
       M.precision(thresholds=[0.2, 0.7]), M.recall(top_k=1), M.true_positives(), M.f1_score(average="macro"),
       M.mean_iou(3), M.r2_score(), M.categorical_accuracy(), M.root_mean_squared_error()]


@pytest.mark.parametrize("metric", ALL, ids=lambda m: m.name)
def test_reset_equals_init_and_jitted_update(metric):
    y = np.eye(3)[rng.randint(0, 3, 6)].astype(np.float32)
    p = rng.uniform(0, 1, (6, 3)).astype(np.float32)
    if metric.name == "mean_iou":
        y, p = np.argmax(y, -1), np.argmax(p, -1)
    state = metric.init(y, p)
    fresh = fnflow.tree_util.tree_map(np.asarray, state)
    w = rng.uniform(0, 1, 6).astype(np.float32)
    s1 = metric.update(state, y, p, w)
    s2 = fnflow.jit(metric.update)(state, y, p, w)
    for k in s1:
        np.testing.assert_allclose(s2[k], s1[k], rtol=1e-6, atol=1e-7)
        assert np.asarray(s1[k]).dtype == np.float32
    reset = metric.reset(s1)
    assert fnflow.tree_util.tree_structure(reset) == fnflow.tree_util.tree_structure(fresh)
    for k in fresh:
        np.testing.assert_array_equal(reset[k], fresh[k])
    np.testing.assert_allclose(fnflow.jit(metric.result)(s1), metric.result(s1), rtol=1e-6)
    assert hash(metric) is not None and fnflow.tree_util.tree_leaves(metric) == []


def test_update_inside_a_jitted_training_step():
    """The use the module is for: loss, grad and metric updates in one compiled step."""
    acc, auc_m = M.sparse_categorical_accuracy(), M.auc(num_thresholds=20, multi_label=True, num_labels=3)
    loss = L.Loss(L.sparse_categorical_crossentropy, from_logits=True)

    @fnflow.jit
    def step(w, states, x, y):
        logits = x @ w
        l, g = fnflow.value_and_grad(lambda w: loss(y, x @ w))(w)
        s_acc = acc.update(states[0], y, logits)
        s_auc = auc_m.update(states[1], fnflow.nn.one_hot(y, 3), fnflow.nn.softmax(logits))
        return w - 0.1 * g, (s_acc, s_auc), l

    x = rng.randn(16, 5).astype(np.float32)
    y = rng.randint(0, 3, 16).astype(np.int32)
    w = np.zeros((5, 3), np.float32)
    states = (acc.init(), auc_m.init())
    for i in range(3):
        w, states, l = step(w, states, x[i * 5:(i + 1) * 5], y[i * 5:(i + 1) * 5])
    assert np.isfinite(l)
    assert 0.0 <= float(acc.result(states[0])) <= 1.0
    assert float(states[0]["count"]) == 15.0


def test_get():
    assert M.get("accuracy").name == "accuracy"
    assert M.get("mse").name == "mean_squared_error"
    assert M.get("AUC").name == "auc"
    assert M.get("sparse_categorical_accuracy").direction == "up"
    m = M.get(L.mean_absolute_error)
    assert m.name == "mean_absolute_error" and m.direction == "down"
    assert M.get(m) is m
    with pytest.raises(ValueError):
        M.get("nope")
