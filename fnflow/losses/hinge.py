"""Hinge losses: hinge, squared hinge, categorical hinge."""

from __future__ import annotations

import fnflow.numpy as fnp
from fnflow.losses._util import _pair


def _hinge_labels(y_true):
    # Keras converts 0/1 labels to -1/1 only when *all* labels of the call are 0 or 1
    binary = fnp.all(fnp.logical_or(fnp.equal(y_true, 0), fnp.equal(y_true, 1)))
    return fnp.where(binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true, y_pred):
    """``mean(maximum(1 - y_true * y_pred, 0), axis=-1)``; 0/1 labels are first mapped to -1/1."""
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return fnp.mean(fnp.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """``mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)``; 0/1 labels are mapped to -1/1."""
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return fnp.mean(fnp.square(fnp.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """``maximum(neg - pos + 1, 0)`` with ``pos = sum(y_true * y_pred)``, ``neg = max((1 - y_true) * y_pred)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    pos = fnp.sum(y_true * y_pred, axis=-1)
    neg = fnp.max((1.0 - y_true) * y_pred, axis=-1)
    return fnp.maximum(neg - pos + 1.0, 0.0)


