"""Probabilistic losses: binary, categorical and sparse crossentropy (and focal variants), KL, Poisson."""

from __future__ import annotations

import numpy as np

import fnflow.numpy as fnp
from fnflow.core.abstract import get_aval
from fnflow.losses._util import EPSILON, _as_float, _clip_probs, _pair, _shape
from fnflow.nn import log_sigmoid, log_softmax, one_hot, sigmoid, softmax
from fnflow.ops._util import asvalue


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Mean over ``axis`` of ``-(y log p + (1 - y) log(1 - p))``.

    ``label_smoothing`` moves the labels towards 0.5: ``y (1 - s) + s / 2``.
    Probabilities are clipped to ``[eps, 1 - eps]``; with ``from_logits=True``
    the loss is ``-y log_sigmoid(x) - (1 - y) log_sigmoid(-x)``.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return fnp.mean(_bce(y_true, y_pred, from_logits), axis=axis)


def _bce(y_true, y_pred, from_logits):
    if from_logits:
        return -y_true * log_sigmoid(y_pred) - (1.0 - y_true) * log_sigmoid(-y_pred)
    p = _clip_probs(y_pred)
    return -(y_true * fnp.log(p) + (1.0 - y_true) * fnp.log(1.0 - p))


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary crossentropy scaled by the focal factor ``(1 - p_t)**gamma`` (Lin et al. 2018), mean over ``axis``.

    ``p_t = y p + (1 - y)(1 - p)``; with ``apply_class_balancing`` each term is
    also weighted by ``alpha`` (class 1) or ``1 - alpha`` (class 0).
    """
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        y_pred = sigmoid(y_pred)
    bce = _bce(y_true, y_pred, False)
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    focal = fnp.power(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return fnp.mean(focal, axis=axis)


def _smooth_categorical(y_true, label_smoothing):
    if label_smoothing:
        n = _shape(y_true)[-1]  # Keras counts the classes on the last axis whatever `axis` is
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / n
    return y_true


def _log_probs(y_pred, from_logits, axis):
    if from_logits:
        return log_softmax(y_pred, axis=axis)
    p = y_pred / fnp.sum(y_pred, axis=axis, keepdims=True)  # Keras renormalizes the probabilities first
    return fnp.log(_clip_probs(p))


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """``-sum(y_true * log p, axis)`` for one-hot (or soft) ``y_true``.

    Probabilities are renormalized to sum to 1 along ``axis`` and clipped to
    ``[eps, 1 - eps]``; ``from_logits=True`` uses ``log_softmax``.
    ``label_smoothing`` gives ``y (1 - s) + s / num_classes``.
    """
    if isinstance(axis, bool):
        raise ValueError(f"categorical_crossentropy: `axis` must be an int, got {axis!r}")
    y_true, y_pred = _pair(y_true, y_pred)
    if _shape(y_true) != _shape(y_pred):
        raise ValueError("categorical_crossentropy: y_true and y_pred must have the same shape, got "
                         f"{_shape(y_true)} and {_shape(y_pred)}")
    y_true = _smooth_categorical(y_true, label_smoothing)
    return -fnp.sum(y_true * _log_probs(y_pred, from_logits, axis), axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """``sum(alpha * (1 - p)**gamma * -y log p, axis)`` with ``p`` renormalized and clipped (Keras's formula)."""
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = _smooth_categorical(y_true, label_smoothing)
    if from_logits:
        y_pred = softmax(y_pred, axis=axis)
    p = _clip_probs(y_pred / fnp.sum(y_pred, axis=axis, keepdims=True))
    cce = -y_true * fnp.log(p)
    return fnp.sum(alpha * fnp.power(1.0 - p, gamma) * cce, axis=axis)


def _sparse_labels(y_true, y_pred):
    y_true = asvalue(np.asarray(y_true) if isinstance(y_true, (list, tuple, np.generic)) else y_true)
    st, sp = _shape(y_true), _shape(y_pred)
    if len(st) == len(sp) and st[-1] == 1:
        y_true = fnp.squeeze(y_true, -1)
    return y_true


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Categorical crossentropy with integer labels of shape ``(batch,)`` or ``(batch, 1)``.

    Labels outside ``[0, num_classes)`` select nothing (loss 0). With
    ``ignore_class``, entries whose label equals it get loss 0; :class:`Loss`
    and :func:`reduce_loss` (``mask=loss_mask(...)``) then leave them out of
    the average, as Keras's mask does.
    """
    y_pred = _as_float(y_pred)
    y_true = _sparse_labels(y_true, y_pred)
    if _shape(y_true) != _shape(y_pred)[:-1]:
        raise ValueError("sparse_categorical_crossentropy: y_true must have the shape of y_pred without its last "
                         f"axis, got {_shape(y_true)} and {_shape(y_pred)}")
    valid = None
    if ignore_class is not None:
        valid = fnp.not_equal(y_true, ignore_class)
        y_true = fnp.where(valid, y_true, fnp.zeros_like(y_true))
        # Keras zeroes the ignored rows; a row of ones gives the same (masked-out) result without 0/0
        y_pred = fnp.where(fnp.expand_dims(valid, -1), y_pred,
                           fnp.zeros_like(y_pred) if from_logits else fnp.ones_like(y_pred))
    labels = fnp.astype(y_true, np.int32)
    n = _shape(y_pred)[axis]
    target = one_hot(labels, n, dtype=get_aval(y_pred).dtype, axis=axis)
    res = -fnp.sum(target * _log_probs(y_pred, from_logits, axis), axis=axis)
    if valid is not None:
        res = fnp.where(valid, res, fnp.zeros_like(res))
    return res


def kl_divergence(y_true, y_pred):
    """``sum(y_true * log(y_true / y_pred), axis=-1)`` with both clipped to ``[eps, 1]``."""
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = fnp.clip(y_true, EPSILON, 1.0)
    y_pred = fnp.clip(y_pred, EPSILON, 1.0)
    return fnp.sum(y_true * fnp.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    """``mean(y_pred - y_true * log(y_pred + eps), axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    return fnp.mean(y_pred - y_true * fnp.log(y_pred + EPSILON), axis=-1)


