"""Accuracy metrics: the per-sample functions of ``keras.metrics`` and their mean metrics."""

from __future__ import annotations

import numpy as np

import fnflow.numpy as fnp
from fnflow import losses as L
from fnflow.core.abstract import get_aval
from fnflow.metrics.base import DTYPE, Metric, mean_metric_wrapper
from fnflow.ops._util import asvalue

__all__ = [
    "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
    "accuracy_fn", "binary_accuracy_fn", "categorical_accuracy_fn", "sparse_categorical_accuracy_fn",
    "top_k_categorical_accuracy_fn", "sparse_top_k_categorical_accuracy_fn",
]


def _arr(x):
    if isinstance(x, (list, tuple, np.generic, int, float, bool)):
        x = np.asarray(x)
    return asvalue(x)


def _shape(x):
    return get_aval(x).shape


def _matches(a, b):
    return fnp.astype(fnp.equal(a, b), DTYPE)


def accuracy_fn(y_true, y_pred):
    """Per sample: the fraction of entries (last axis) where ``y_pred == y_true`` exactly."""
    y_pred = _arr(y_pred)
    y_true = fnp.astype(_arr(y_true), get_aval(y_pred).dtype)
    y_true, y_pred = L.squeeze_or_expand_to_same_rank(y_true, y_pred)
    return fnp.mean(_matches(y_true, y_pred), axis=-1)


def binary_accuracy_fn(y_true, y_pred, threshold=0.5):
    """Per sample: the fraction of entries where ``(y_pred > threshold) == y_true``."""
    y_true, y_pred = L.squeeze_or_expand_to_same_rank(_arr(y_true), _arr(y_pred))
    y_pred = fnp.astype(fnp.greater(y_pred, threshold), get_aval(y_true).dtype)
    return fnp.mean(_matches(y_true, y_pred), axis=-1)


def categorical_accuracy_fn(y_true, y_pred):
    """Per sample: 1 where ``argmax(y_true) == argmax(y_pred)`` over the last axis (first maximum wins)."""
    y_true, y_pred = fnp.argmax(_arr(y_true), axis=-1), _arr(y_pred)
    reshape = None
    if len(_shape(y_true)) == len(_shape(y_pred)):
        reshape = _shape(y_true)
        y_true = fnp.squeeze(y_true, -1)
    m = _matches(y_true, fnp.argmax(y_pred, axis=-1).astype(get_aval(y_true).dtype))
    return fnp.reshape(m, reshape) if reshape is not None else m


def sparse_categorical_accuracy_fn(y_true, y_pred):
    """Per sample: 1 where the integer label ``y_true`` (shape ``(n,)`` or ``(n, 1)``) is ``argmax(y_pred)``."""
    y_true, y_pred = _arr(y_true), _arr(y_pred)
    shape = _shape(y_true)
    reshape = False
    if len(shape) == len(_shape(y_pred)) and shape[-1] == 1:
        y_true = fnp.squeeze(y_true, -1)
        reshape = True
    pred = fnp.argmax(y_pred, axis=-1)
    dt = get_aval(y_true).dtype
    # compare in the labels' dtype (float labels compare with float argmax)
    m = _matches(y_true, pred.astype(dt) if dt != get_aval(pred).dtype else pred)
    if reshape:
        m = fnp.reshape(m, shape)
    if len(_shape(m)) > 1 and _shape(m)[-1] == 1:
        m = fnp.squeeze(m, -1)
    return m


def _in_top_k(labels, y_pred, k):
    """Whether the prediction at each label is among the ``k`` largest (ties count in, as Keras's ``in_top_k``)."""
    labels = fnp.astype(labels, np.int32)
    at_label = fnp.take_along_axis(y_pred, fnp.expand_dims(labels, -1), axis=-1)
    return fnp.less(fnp.sum(fnp.astype(fnp.greater(y_pred, at_label), np.int32), axis=-1), k)


def _top_k_matches(labels, y_pred, k):
    shape = _shape(labels)
    if len(_shape(y_pred)) > 2:
        y_pred = fnp.reshape(y_pred, (-1, _shape(y_pred)[-1]))
    if len(shape) > 1:
        labels = fnp.reshape(labels, (-1,))
    m = fnp.astype(_in_top_k(labels, y_pred, k), DTYPE)
    return fnp.reshape(m, shape) if len(shape) > 1 else m


def top_k_categorical_accuracy_fn(y_true, y_pred, k=5):
    """Per sample: 1 where ``argmax(y_true)`` is among the top ``k`` predictions."""
    return _top_k_matches(fnp.argmax(_arr(y_true), axis=-1), _arr(y_pred), k)


def sparse_top_k_categorical_accuracy_fn(y_true, y_pred, k=5):
    """Per sample: 1 where the integer label is among the top ``k`` predictions (labels ``(n,)`` or ``(n, 1)``)."""
    y_true = _arr(y_true)
    return _top_k_matches(y_true, _arr(y_pred), k)


# ------------------------------------------------------------ the metrics


def accuracy(name="accuracy") -> Metric:
    """How often ``y_pred`` equals ``y_true`` exactly (``keras.metrics.Accuracy``)."""
    return mean_metric_wrapper(accuracy_fn, name, "up")


def binary_accuracy(threshold=0.5, name="binary_accuracy") -> Metric:
    """How often ``y_pred > threshold`` matches the 0/1 labels (``keras.metrics.BinaryAccuracy``)."""
    if threshold is not None and not 0 < threshold < 1:
        raise ValueError(f"binary_accuracy: threshold must be in (0, 1), got {threshold}")
    return mean_metric_wrapper(binary_accuracy_fn, name, "up", threshold=threshold)


def categorical_accuracy(name="categorical_accuracy") -> Metric:
    """How often the argmax of ``y_pred`` matches that of one-hot ``y_true``."""
    return mean_metric_wrapper(categorical_accuracy_fn, name, "up")


def sparse_categorical_accuracy(name="sparse_categorical_accuracy") -> Metric:
    """How often the argmax of ``y_pred`` equals the integer label."""
    return mean_metric_wrapper(sparse_categorical_accuracy_fn, name, "up")


def top_k_categorical_accuracy(k=5, name="top_k_categorical_accuracy") -> Metric:
    """How often the one-hot target is among the top ``k`` predictions."""
    return mean_metric_wrapper(top_k_categorical_accuracy_fn, name, "up", k=k)


def sparse_top_k_categorical_accuracy(k=5, name="sparse_top_k_categorical_accuracy") -> Metric:
    """How often the integer target is among the top ``k`` predictions."""
    return mean_metric_wrapper(sparse_top_k_categorical_accuracy_fn, name, "up", k=k)
