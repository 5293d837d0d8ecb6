"""Confusion-matrix metrics: counts at thresholds, precision, recall and AUC (Keras 3's rules).

A prediction counts as positive at threshold ``t`` when ``y_pred > t``; labels
are positive when non-zero. When the thresholds are evenly spaced over
``[0, 1]`` (at least 3 of them, e.g. AUC's default), Keras buckets the
predictions instead (``ceil(p * (n - 1)) - 1``, predictions clipped to
``[0, 1]``), and so does this module, so the counts agree with Keras's
bit for bit at the bucket edges.
"""

from __future__ import annotations

import numpy as np

import fnflow.numpy as fnp
from fnflow import losses as L
from fnflow.core.abstract import get_aval
from fnflow.metrics.base import DTYPE, Metric, as_metric_float, make_metric, zeros
from fnflow.nn import sigmoid

__all__ = ["true_positives", "false_positives", "true_negatives", "false_negatives", "precision", "recall", "auc",
           "confusion_counts", "NEG_INF"]

NEG_INF = -1e10
"""The score Keras gives predictions outside the top k (and the default threshold with ``top_k``)."""

_KEYS = {"tp": "true_positives", "fp": "false_positives", "tn": "true_negatives", "fn": "false_negatives"}


def _thresholds_list(thresholds, default):
    if thresholds is None:
        return [float(default)]
    ts = [float(t) for t in (thresholds if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds])]
    bad = [t for t in ts if t < 0 or t > 1]
    if bad:
        raise ValueError(f"Threshold values must be in [0, 1], got {bad}")
    return ts


def _evenly(thresholds) -> bool:
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=L.EPSILON))


def _filter_top_k(x, k):
    """Keep the top ``k`` entries of the last axis (first index wins ties), the rest become ``NEG_INF``."""
    n = get_aval(x).shape[-1]
    a = fnp.expand_dims(x, -1)  # x[..., i, None] vs x[..., None, j]
    b = fnp.expand_dims(x, -2)
    j_before_i = np.arange(n)[None, :] < np.arange(n)[:, None]
    ahead = fnp.logical_or(fnp.greater(b, a), fnp.logical_and(fnp.equal(b, a), j_before_i))
    keep = fnp.astype(fnp.less(fnp.sum(fnp.astype(ahead, np.int32), axis=-1), k), get_aval(x).dtype)
    return x * keep + NEG_INF * (1.0 - keep)


def confusion_counts(y_true, y_pred, thresholds, sample_weight=None, top_k=None, class_id=None,
                     multi_label=False, label_weights=None, evenly=None):
    """``{"tp", "fp", "tn", "fn"}`` weighted counts at each threshold (Keras's ``update_confusion_matrix_variables``).

    Shapes ``(num_thresholds,)``, or ``(num_thresholds, num_labels)`` with
    ``multi_label``. ``sample_weight`` has rank 0 or ``y_true``'s rank (a
    ``(batch,)`` vector weights whole rows).
    """
    thresholds = [float(t) for t in thresholds]
    if evenly is None:
        evenly = _evenly(thresholds)
    y_true = as_metric_float(y_true)
    y_pred = as_metric_float(y_pred)
    y_pred, y_true = L.squeeze_or_expand_to_same_rank(y_pred, y_true)
    if sample_weight is not None:
        sw = fnp.expand_dims(as_metric_float(sample_weight), -1)
        _, sample_weight = L.squeeze_or_expand_to_same_rank(y_true, sw, expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if get_aval(y_pred).ndim == 1:
            raise ValueError("When class_id is provided, y_pred must be a 2D array with shape "
                             f"(num_samples, num_classes), found shape {get_aval(y_pred).shape}")
        y_true = y_true[..., class_id, None]
        y_pred = y_pred[..., class_id, None]
    shape = get_aval(y_pred).shape
    weights = None
    if sample_weight is not None:
        weights = fnp.broadcast_to(sample_weight, shape)
    if label_weights is not None and not multi_label:
        lw = fnp.broadcast_to(np.asarray(label_weights, DTYPE), shape)
        weights = lw if weights is None else weights * lw
    if multi_label:
        flat = (-1, shape[-1]) if len(shape) > 1 else (-1, 1)
    else:
        flat = (-1,)
    y_true = fnp.reshape(y_true, flat)
    y_pred = fnp.reshape(y_pred, flat)
    weights = fnp.ones_like(y_pred) if weights is None else fnp.reshape(weights, flat)
    pos = fnp.astype(fnp.not_equal(y_true, 0), DTYPE)
    n_t = len(thresholds)
    if evenly:
        # Keras's bucketed update: bucket(p) = ceil(p (n - 1)) - 1, and "p > t_i" reads "bucket >= i"
        with_eps = thresholds[0] < 0.0 or thresholds[-1] > 1.0
        bucket = fnp.ceil(fnp.clip(y_pred, 0.0, 1.0) * float(n_t - 1)) - 1.0
        if with_eps:
            bucket = fnp.maximum(bucket, 0.0)
        idx = np.arange(n_t, dtype=DTYPE).reshape((n_t,) + (1,) * len(flat))
        pred_pos = fnp.astype(fnp.greater_equal(bucket[None], idx), DTYPE)
    else:
        t = np.asarray(thresholds, DTYPE).reshape((n_t,) + (1,) * len(flat))
        pred_pos = fnp.astype(fnp.greater(y_pred[None], t), DTYPE)
    true_w = (pos * weights)[None]
    false_w = ((1.0 - pos) * weights)[None]
    return {"tp": fnp.sum(true_w * pred_pos, axis=1), "fp": fnp.sum(false_w * pred_pos, axis=1),
            "tn": fnp.sum(false_w * (1.0 - pred_pos), axis=1), "fn": fnp.sum(true_w * (1.0 - pred_pos), axis=1)}


def _counting(which, thresholds, default, name, direction, result, top_k=None, class_id=None, **config):
    ts = _thresholds_list(thresholds, default)
    evenly = _evenly(ts)

    def init(*_):
        return {_KEYS[w]: zeros((len(ts),)) for w in which}

    def update(state, y_true, y_pred, sample_weight=None):
        counts = confusion_counts(y_true, y_pred, ts, sample_weight, top_k=top_k, class_id=class_id, evenly=evenly)
        return {_KEYS[w]: state[_KEYS[w]] + counts[w] for w in which}

    def res(state):
        r = result(state)
        return r[0] if len(ts) == 1 else r

    return make_metric(init, update, res, name, direction, thresholds=thresholds, top_k=top_k, class_id=class_id,
                       **config)


def _condition(which, thresholds, name):
    return _counting((which,), thresholds, 0.5, name, None, lambda s: s[_KEYS[which]] + 0)


def true_positives(thresholds=None, name="true_positives") -> Metric:
    """Weighted count of positives predicted positive (``y_pred > threshold``, default 0.5), per threshold."""
    return _condition("tp", thresholds, name)


def false_positives(thresholds=None, name="false_positives") -> Metric:
    """Weighted count of negatives predicted positive, per threshold."""
    return _condition("fp", thresholds, name)


def true_negatives(thresholds=None, name="true_negatives") -> Metric:
    """Weighted count of negatives predicted negative, per threshold."""
    return _condition("tn", thresholds, name)


def false_negatives(thresholds=None, name="false_negatives") -> Metric:
    """Weighted count of positives predicted negative, per threshold."""
    return _condition("fn", thresholds, name)


def precision(thresholds=None, top_k=None, class_id=None, name="precision") -> Metric:
    """``tp / (tp + fp)`` (0 when undefined), per threshold (one threshold gives a scalar).

    The default threshold is 0.5, or ``NEG_INF`` with ``top_k`` (every top-k
    entry counts as predicted positive). ``class_id`` restricts to one column.
    """
    default = 0.5 if top_k is None else NEG_INF
    return _counting(("tp", "fp"), thresholds, default, name, "up",
                     lambda s: L.divide_no_nan(s["true_positives"], s["true_positives"] + s["false_positives"]),
                     top_k=top_k, class_id=class_id)


def recall(thresholds=None, top_k=None, class_id=None, name="recall") -> Metric:
    """``tp / (tp + fn)`` (0 when undefined), per threshold; options as :func:`precision`."""
    default = 0.5 if top_k is None else NEG_INF
    return _counting(("tp", "fn"), thresholds, default, name, "up",
                     lambda s: L.divide_no_nan(s["true_positives"], s["true_positives"] + s["false_negatives"]),
                     top_k=top_k, class_id=class_id)


# --------------------------------------------------------------------- AUC


def _auc_thresholds(num_thresholds, thresholds):
    if thresholds is not None:
        inner = sorted(float(t) for t in thresholds)
        evenly = _evenly(np.array([0.0] + inner + [1.0]))
    else:
        if num_thresholds <= 1:
            raise ValueError(f"Argument `num_thresholds` must be an integer > 1, got {num_thresholds}")
        inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        evenly = True
    # end points just outside [0, 1] so that predictions of exactly 0 or 1 fall inside
    return [0.0 - L.EPSILON] + inner + [1.0 + L.EPSILON], evenly


def _average_labels(by_label, label_weights):
    if label_weights is None:
        return fnp.mean(by_label)
    lw = np.asarray(label_weights, DTYPE)
    return L.divide_no_nan(fnp.sum(by_label * lw), np.asarray(lw.sum(), DTYPE))


def _interpolate_pr_auc(s, multi_label, label_weights):
    """Davis & Goadrich interpolation of the PR curve, in Keras's closed form."""
    tp, fp, fn = s["true_positives"], s["false_positives"], s["false_negatives"]
    dtp = tp[:-1] - tp[1:]
    p = tp + fp
    dp = p[:-1] - p[1:]
    slope = L.divide_no_nan(dtp, fnp.maximum(dp, 0.0))
    intercept = tp[1:] - slope * p[1:]
    both = fnp.logical_and(fnp.greater(p[:-1], 0), fnp.greater(p[1:], 0))
    ratio = fnp.where(both, L.divide_no_nan(p[:-1], fnp.maximum(p[1:], 0.0)), fnp.ones_like(p[1:]))
    ratio = fnp.where(fnp.greater(ratio, 0), ratio, fnp.ones_like(ratio))  # log stays finite (value unchanged)
    inc = L.divide_no_nan(slope * (dtp + intercept * fnp.log(ratio)), fnp.maximum(tp[1:] + fn[1:], 0.0))
    if multi_label:
        return _average_labels(fnp.sum(inc, axis=0), label_weights)
    return fnp.sum(inc)


def auc(num_thresholds=200, curve="ROC", summation_method="interpolation", thresholds=None, multi_label=False,
        num_labels=None, label_weights=None, from_logits=False, name="auc") -> Metric:
    """Area under the ROC or PR curve, from counts at ``num_thresholds`` thresholds (``keras.metrics.AUC``).

    The thresholds are ``[-eps, 1/(n-1), ..., (n-2)/(n-1), 1 + eps]`` (or the
    given ``thresholds`` between the two end points). ``summation_method``:
    ``"interpolation"`` (trapezoids for ROC; for PR, Davis & Goadrich's
    interpolation of tp and fp), ``"minoring"`` or ``"majoring"``. With
    ``multi_label`` the state is per label (``num_labels``, or the last axis
    of the ``y_pred`` given to ``init``) and the AUCs are averaged, weighted by
    ``label_weights``; otherwise labels are flattened and ``label_weights``
    weight the entries. ``from_logits`` applies a sigmoid first.
    """
    curve = {"roc": "ROC", "pr": "PR"}.get(str(curve).lower())
    if curve is None:
        raise ValueError('Invalid AUC curve value: expected "ROC" or "PR"')
    if summation_method not in ("interpolation", "majoring", "minoring"):
        raise ValueError(f"Invalid AUC summation method {summation_method!r}: expected "
                         '"interpolation", "majoring" or "minoring"')
    if num_labels and not multi_label:
        raise ValueError("`num_labels` is needed only when `multi_label` is True.")
    ts, evenly = _auc_thresholds(num_thresholds, thresholds)
    n_t = len(ts)

    def init(y_true=None, y_pred=None):
        if multi_label:
            labels = num_labels
            if labels is None:
                if y_pred is None:
                    raise ValueError("auc(multi_label=True) needs `num_labels` or an example y_pred for init")
                shape = np.shape(y_pred) if not hasattr(y_pred, "shape") else tuple(y_pred.shape)
                if len(shape) != 2:
                    raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`, got shape {shape}")
                labels = shape[1]
            shape = (n_t, labels)
        else:
            shape = (n_t,)
        return {k: zeros(shape) for k in ("true_positives", "false_positives", "true_negatives", "false_negatives")}

    def update(state, y_true, y_pred, sample_weight=None):
        if from_logits:
            y_pred = sigmoid(as_metric_float(y_pred))
        counts = confusion_counts(y_true, y_pred, ts, sample_weight, multi_label=multi_label,
                                  label_weights=None if multi_label else label_weights, evenly=evenly)
        return {_KEYS[k]: state[_KEYS[k]] + v for k, v in counts.items()}

    def result(s):
        if curve == "PR" and summation_method == "interpolation":
            return _interpolate_pr_auc(s, multi_label, label_weights)
        tp, fp, tn, fn = s["true_positives"], s["false_positives"], s["true_negatives"], s["false_negatives"]
        rec = L.divide_no_nan(tp, tp + fn)
        if curve == "ROC":
            x, y = L.divide_no_nan(fp, fp + tn), rec
        else:
            x, y = rec, L.divide_no_nan(tp, tp + fp)
        if summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif summation_method == "minoring":
            heights = fnp.minimum(y[:-1], y[1:])
        else:
            heights = fnp.maximum(y[:-1], y[1:])
        terms = (x[:-1] - x[1:]) * heights
        if multi_label:
            return _average_labels(fnp.sum(terms, axis=0), label_weights)
        return fnp.sum(terms)

    return make_metric(init, update, result, name, "up", num_thresholds=n_t, curve=curve,
                       summation_method=summation_method, multi_label=multi_label, num_labels=num_labels,
                       label_weights=label_weights, from_logits=from_logits,
                       thresholds=None if thresholds is None else ts[1:-1])
