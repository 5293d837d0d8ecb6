"""Shared helpers of the loss functions: dtype and rank alignment, safe division, Keras's epsilon."""

from __future__ import annotations

import numpy as np

import fnflow.numpy as fnp
from fnflow.core.abstract import float_, get_aval, is_float
from fnflow.ops._util import asvalue

EPSILON = 1e-7
"""Keras's ``backend.epsilon()``: the clipping margin for probabilities and the floor of divisors."""


def _shape(x):
    return get_aval(x).shape


def _as_float(x, like=None):
    """``x`` as an array in ``like``'s float dtype (or its own float dtype, float32 for ints and bools)."""
    if isinstance(x, np.generic):
        x = np.asarray(x)
    x = asvalue(x)
    dt = get_aval(like).dtype if like is not None else get_aval(x).dtype
    if not is_float(dt):
        dt = np.dtype(float_)
    return x if get_aval(x).dtype == dt else fnp.astype(x, dt)


def _pair(y_true, y_pred, squeeze=True):
    """``y_pred`` as a float array and ``y_true`` cast to its dtype, brought to the same rank (as Keras's losses)."""
    y_pred = _as_float(y_pred)
    y_true = _as_float(y_true, y_pred)
    if squeeze:
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return y_true, y_pred


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Keras's rule: when the ranks differ by one and the longer has a last axis of 1, squeeze it.

    A rank-1 partner is expanded instead (``(n,)`` against ``(n, 1)`` gives two
    ``(n, 1)`` arrays) unless ``expand_rank_1=False``.
    """
    x1, x2 = asvalue(x1), asvalue(x2)
    s1, s2 = _shape(x1), _shape(x2)
    if len(s1) == len(s2) + 1 and s1[-1] == 1:
        if len(s2) == 1 and expand_rank_1:
            x2 = fnp.expand_dims(x2, -1)
        else:
            x1 = fnp.squeeze(x1, -1)
    elif len(s2) == len(s1) + 1 and s2[-1] == 1:
        if len(s1) == 1 and expand_rank_1:
            x1 = fnp.expand_dims(x1, -1)
        else:
            x2 = fnp.squeeze(x2, -1)
    return x1, x2


def divide_no_nan(a, b):
    """``a / b``, and 0 where ``b == 0`` (finite gradients there too)."""
    zero = fnp.equal(b, 0)
    return fnp.where(zero, fnp.zeros_like(a / fnp.ones_like(b)), a / fnp.where(zero, fnp.ones_like(b), b))


def _clip_probs(p):
    return fnp.clip(p, EPSILON, 1.0 - EPSILON)


def _l2_normalize(x, axis):
    """``x * min(rsqrt(sum(x**2)), 1/eps)`` (Keras's ``ops.normalize``), finite gradient at 0."""
    s = fnp.sum(fnp.square(x), axis=axis, keepdims=True)
    big = fnp.greater(s, EPSILON * EPSILON)
    safe = fnp.where(big, s, fnp.ones_like(s))
    inv = fnp.where(big, 1.0 / fnp.sqrt(safe), fnp.full_like(s, 1.0 / EPSILON))
    return x * inv


