"""Intersection-over-union metrics from a streaming confusion matrix (``keras.metrics.IoU`` family)."""

from __future__ import annotations

import numpy as np

import fnflow.numpy as fnp
from fnflow import losses as L
from fnflow.core.abstract import get_aval
from fnflow.metrics.base import DTYPE, Metric, as_metric_float, make_metric, zeros
from fnflow.nn import one_hot

__all__ = ["confusion_matrix", "iou", "mean_iou", "binary_iou", "one_hot_iou", "one_hot_mean_iou"]


def confusion_matrix(labels, predictions, num_classes, weights=None):
    """``cm[i, j]`` = total weight of entries with label ``i`` predicted ``j`` (float32, ``(n, n)``).

    Labels and predictions are truncated to integers; values outside
    ``[0, num_classes)`` contribute nothing.
    """
    labels = fnp.astype(fnp.reshape(as_metric_float(labels), (-1,)), np.int32)
    predictions = fnp.astype(fnp.reshape(as_metric_float(predictions), (-1,)), np.int32)
    rows = one_hot(labels, num_classes, dtype=DTYPE)
    cols = one_hot(predictions, num_classes, dtype=DTYPE)
    if weights is not None:
        cols = cols * fnp.reshape(as_metric_float(weights), (-1, 1))
    return fnp.matmul(fnp.transpose(rows), cols)


def iou(num_classes, target_class_ids, ignore_class=None, sparse_y_true=True, sparse_y_pred=True, axis=-1,
        name="iou", _threshold=None) -> Metric:
    """Mean of ``tp / (tp + fp + fn)`` over ``target_class_ids`` (``keras.metrics.IoU``).

    Classes whose denominator is 0 are left out of the mean. Dense
    (one-hot or score) inputs are reduced with ``argmax`` over ``axis`` when
    ``sparse_y_true`` / ``sparse_y_pred`` is False; ``ignore_class`` labels
    are left out; ``sample_weight`` broadcasts to the labels.
    """
    target_class_ids = [int(t) for t in target_class_ids]
    if max(target_class_ids) >= num_classes:
        raise ValueError(f"Target class id {max(target_class_ids)} is out of range [0, {num_classes})")

    def init(*_):
        return {"total_confusion_matrix": zeros((num_classes, num_classes))}

    def update(state, y_true, y_pred, sample_weight=None):
        if not sparse_y_true:
            y_true = fnp.argmax(y_true, axis=axis)
        if not sparse_y_pred:
            y_pred = fnp.argmax(y_pred, axis=axis)
        y_true = fnp.reshape(as_metric_float(y_true), (-1,))
        y_pred = as_metric_float(y_pred)
        if _threshold is not None:  # binary_iou: scores at or above the threshold are class 1
            y_pred = fnp.astype(fnp.greater_equal(y_pred, _threshold), DTYPE)
        y_pred = fnp.reshape(y_pred, (-1,))
        sw = np.ones((), DTYPE) if sample_weight is None else as_metric_float(sample_weight)
        if get_aval(sw).ndim > 1:
            sw = fnp.reshape(sw, (-1,))
        sw = fnp.broadcast_to(sw, get_aval(y_true).shape)
        if ignore_class is not None:
            valid = fnp.astype(fnp.not_equal(y_true, float(ignore_class)), DTYPE)
            y_true, y_pred, sw = y_true * valid, y_pred * valid, sw * valid
        cm = confusion_matrix(y_true, y_pred, num_classes, sw)
        return {"total_confusion_matrix": state["total_confusion_matrix"] + cm}

    def result(s):
        cm = s["total_confusion_matrix"]
        tp = fnp.diagonal(cm)
        denom = fnp.sum(cm, axis=0) + fnp.sum(cm, axis=1) - tp
        ids = np.asarray(target_class_ids, np.int32)
        tp, denom = fnp.take(tp, ids), fnp.take(denom, ids)
        valid = fnp.sum(fnp.astype(fnp.greater(denom, 1e-9), DTYPE))
        return fnp.sum(tp / (denom + L.EPSILON), axis=-1) / (valid + L.EPSILON)

    return make_metric(init, update, result, name, "up", num_classes=num_classes,
                       target_class_ids=target_class_ids, ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                       sparse_y_pred=sparse_y_pred, axis=axis)


def mean_iou(num_classes, ignore_class=None, sparse_y_true=True, sparse_y_pred=True, axis=-1,
             name="mean_iou") -> Metric:
    """The IoU averaged over all ``num_classes`` classes (``keras.metrics.MeanIoU``)."""
    return iou(num_classes, range(num_classes), ignore_class, sparse_y_true, sparse_y_pred, axis, name)


def binary_iou(target_class_ids=(0, 1), threshold=0.5, name="binary_iou") -> Metric:
    """IoU of a binary task: scores ``>= threshold`` are class 1 (``keras.metrics.BinaryIoU``)."""
    return iou(2, target_class_ids, name=name, _threshold=threshold)


def one_hot_iou(num_classes, target_class_ids, ignore_class=None, sparse_y_pred=False, axis=-1,
                name="one_hot_iou") -> Metric:
    """IoU with one-hot labels (``keras.metrics.OneHotIoU``)."""
    return iou(num_classes, target_class_ids, ignore_class, False, sparse_y_pred, axis, name)


def one_hot_mean_iou(num_classes, ignore_class=None, sparse_y_pred=False, axis=-1,
                     name="one_hot_mean_iou") -> Metric:
    """Mean IoU with one-hot labels (``keras.metrics.OneHotMeanIoU``)."""
    return iou(num_classes, range(num_classes), ignore_class, False, sparse_y_pred, axis, name)
