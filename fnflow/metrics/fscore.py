"""F-scores (``keras.metrics.FBetaScore`` / ``F1Score``) over ``(batch, num_classes)`` inputs."""

from __future__ import annotations

import numpy as np

import fnflow.numpy as fnp
from fnflow import losses as L
from fnflow.core.abstract import get_aval
from fnflow.metrics.base import Metric, as_metric_float, make_metric, zeros

__all__ = ["fbeta_score", "f1_score"]

_VARS = ("true_positives", "false_positives", "false_negatives", "intermediate_weights")


def fbeta_score(average=None, beta=1.0, threshold=None, num_classes=None, name="fbeta_score") -> Metric:
    """``(1 + b**2) p r / (b**2 p + r)`` from streaming tp/fp/fn counts, per class or averaged.

    ``threshold=None`` marks the row maximum (if non-zero) as the predicted
    class; otherwise ``y_pred > threshold``. ``average``: ``None`` (one score
    per class), ``"micro"`` (global counts), ``"macro"`` (unweighted mean of
    the class scores) or ``"weighted"`` (mean weighted by the number of true
    instances). The state has one entry per class: ``num_classes``, or the
    last axis of the ``y_pred`` given to ``init``. Keras's epsilon (1e-7) is
    added to every denominator, as Keras does.
    """
    if average not in (None, "micro", "macro", "weighted"):
        raise ValueError(f"Invalid `average` {average!r}: expected None, 'micro', 'macro' or 'weighted'")
    beta = float(beta)
    if beta <= 0.0:
        raise ValueError(f"Invalid `beta` {beta}: it should be > 0")
    if threshold is not None:
        threshold = float(threshold)
        if threshold > 1.0 or threshold <= 0.0:
            raise ValueError(f"Invalid `threshold` {threshold}: it should verify 0 < threshold <= 1")
    axis = None if average == "micro" else 0

    def init(y_true=None, y_pred=None):
        if average == "micro":
            shape = ()
        else:
            n = num_classes
            if n is None:
                if y_pred is None:
                    raise ValueError("fbeta_score needs `num_classes` or an example y_pred for init")
                n = tuple(np.shape(y_pred) if not hasattr(y_pred, "shape") else y_pred.shape)[-1]
            shape = (n,)
        return {v: zeros(shape) for v in _VARS}

    def update(state, y_true, y_pred, sample_weight=None):
        y_true, y_pred = as_metric_float(y_true), as_metric_float(y_pred)
        if get_aval(y_pred).ndim != 2 or get_aval(y_true).ndim != 2:
            raise ValueError("FBetaScore expects 2D inputs with shape (batch_size, output_dim), got "
                             f"y_pred.shape={get_aval(y_pred).shape} and y_true.shape={get_aval(y_true).shape}")
        if threshold is None:
            top = fnp.max(y_pred, axis=-1, keepdims=True)
            pred = fnp.logical_and(fnp.greater_equal(y_pred, top), fnp.greater(fnp.abs(y_pred), 1e-9))
        else:
            pred = fnp.greater(y_pred, threshold)
        pred = fnp.astype(pred, np.float32)
        sw = None if sample_weight is None else fnp.expand_dims(as_metric_float(sample_weight), 1)

        def wsum(v):
            return fnp.sum(v if sw is None else v * sw, axis=axis)

        return {"true_positives": state["true_positives"] + wsum(pred * y_true),
                "false_positives": state["false_positives"] + wsum(pred * (1.0 - y_true)),
                "false_negatives": state["false_negatives"] + wsum((1.0 - pred) * y_true),
                "intermediate_weights": state["intermediate_weights"] + wsum(y_true)}

    def result(s):
        eps = L.EPSILON
        tp = s["true_positives"]
        p = tp / (tp + s["false_positives"] + eps)
        r = tp / (tp + s["false_negatives"] + eps)
        b2 = beta * beta
        f = p * r / (b2 * p + r + eps) * (1.0 + b2)
        if average == "weighted":
            w = s["intermediate_weights"]
            return fnp.sum(f * (w / (fnp.sum(w) + eps)))
        if average is not None:
            return fnp.mean(f)
        return f

    return make_metric(init, update, result, name, "up", average=average, beta=beta, threshold=threshold,
                       num_classes=num_classes)


def f1_score(average=None, threshold=None, num_classes=None, name="f1_score") -> Metric:
    """:func:`fbeta_score` with ``beta=1``: the harmonic mean of precision and recall."""
    return fbeta_score(average, 1.0, threshold, num_classes, name)
