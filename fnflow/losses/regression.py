"""Regression losses: squared, absolute, percentage, logarithmic, Huber, log-cosh, cosine."""

from __future__ import annotations

import math

import fnflow.numpy as fnp
from fnflow.losses._util import EPSILON, _l2_normalize, _pair
from fnflow.nn import softplus


def mean_squared_error(y_true, y_pred):
    """``mean(square(y_true - y_pred), axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    return fnp.mean(fnp.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """``mean(abs(y_true - y_pred), axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    return fnp.mean(fnp.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """``100 * mean(abs((y_true - y_pred) / max(abs(y_true), eps)), axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    diff = fnp.abs((y_true - y_pred) / fnp.maximum(fnp.abs(y_true), EPSILON))
    return 100.0 * fnp.mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """``mean(square(log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)), axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    first = fnp.log(fnp.maximum(y_pred, EPSILON) + 1.0)
    second = fnp.log(fnp.maximum(y_true, EPSILON) + 1.0)
    return fnp.mean(fnp.square(first - second), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """Mean over the last axis of ``0.5 e**2`` where ``|e| <= delta``, else ``delta |e| - 0.5 delta**2``."""
    y_true, y_pred = _pair(y_true, y_pred)
    err = y_pred - y_true
    abs_err = fnp.abs(err)
    quad = 0.5 * fnp.square(err)
    lin = delta * abs_err - 0.5 * delta * delta
    return fnp.mean(fnp.where(fnp.less_equal(abs_err, delta), quad, lin), axis=-1)


def log_cosh(y_true, y_pred):
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``, as ``x + softplus(-2x) - log 2`` (no overflow)."""
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    return fnp.mean(x + softplus(-2.0 * x) - math.log(2.0), axis=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    """The *negative* cosine similarity along ``axis`` (Keras's loss): ``-sum(l2n(y_true) * l2n(y_pred))``.

    A zero vector has similarity 0 with everything.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return -fnp.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


