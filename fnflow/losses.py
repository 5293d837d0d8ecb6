"""Loss functions with Keras 3's formulas, defaults and reductions, as pure functions.

Every loss is ``f(y_true, y_pred, ...) -> per-sample loss`` that reduces over the
last axis (the class or feature axis) like ``keras.losses.<name>``; it works on
traced values, so it can be differentiated, batched with ``vmap`` and compiled
with ``jit``. :func:`reduce_loss` turns per-sample values into the scalar that
``keras.losses.Loss`` returns (sample weights, masks and the five reductions),
and :class:`Loss` bundles a function, its options and a reduction::

    import fnflow.losses as L

    per_sample = L.categorical_crossentropy(y, logits, from_logits=True)   # shape (batch,)
    loss = L.reduce_loss(per_sample, sample_weight=w)                       # "sum_over_batch_size"
    loss_fn = L.Loss(L.binary_crossentropy, label_smoothing=0.1)            # Keras's BinaryCrossentropy(...)
    loss = loss_fn(y, p, sample_weight=w)

Probabilities are clipped to ``[1e-7, 1 - 1e-7]`` (Keras's ``backend.epsilon()``);
``from_logits=True`` paths use ``log_softmax`` / ``log_sigmoid`` and never overflow.
Unlike some of Keras's functions, every loss here first brings ``y_true`` and
``y_pred`` to the same rank by squeezing or adding a trailing axis of size 1, as
Keras's ``Loss`` objects do before calling them.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import attrs
import numpy as np

import fnflow.numpy as fnp
from fnflow.core.abstract import float_, get_aval, is_float
from fnflow.nn import log_sigmoid, log_softmax, one_hot, sigmoid, softmax, softplus
from fnflow.ops._util import asvalue
from fnflow.tree import static_field

__all__ = [
    "EPSILON", "REDUCTIONS", "Loss", "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
    "categorical_focal_crossentropy", "categorical_hinge", "cosine_similarity", "divide_no_nan", "get", "hinge",
    "huber", "kl_divergence", "kld", "log_cosh", "logcosh", "loss_mask", "mae", "mape", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_error", "mean_squared_logarithmic_error", "mse", "msle",
    "poisson", "reduce_loss", "sparse_categorical_crossentropy", "squared_hinge",
    "squeeze_or_expand_to_same_rank",
]

EPSILON = 1e-7
"""Keras's ``backend.epsilon()``: the clipping margin for probabilities and the floor of divisors."""

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


# ------------------------------------------------------------------ helpers


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


# ------------------------------------------------------------ regression


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


# ---------------------------------------------------------- probabilistic


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


# ------------------------------------------------------------------ hinge


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


# Keras's short aliases
mse = mean_squared_error
mae = mean_absolute_error
mape = mean_absolute_percentage_error
msle = mean_squared_logarithmic_error
kld = kl_divergence
logcosh = log_cosh


# -------------------------------------------------------------- reduction


def _check_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"Invalid reduction {reduction!r}: expected one of {REDUCTIONS}")
    return reduction


def loss_mask(fn, y_true, y_pred, **kwargs):
    """The mask Keras attaches to ``fn``'s output (``None`` when it sets none).

    Only ``sparse_categorical_crossentropy`` with ``ignore_class`` sets one: the
    entries whose label is not the ignored class.
    """
    ignore = kwargs.get("ignore_class")
    if fn is sparse_categorical_crossentropy and ignore is not None:
        y_true = _sparse_labels(y_true, _as_float(y_pred))
        return fnp.not_equal(y_true, ignore)
    return None


def _apply_mask(sample_weight, mask, dtype, reduction):
    """Merge a mask into the sample weights; for averaging reductions rescale so the mean is over valid entries."""
    if mask is None:
        return sample_weight
    mask = fnp.astype(mask, dtype)
    if reduction in ("mean", "sum_over_batch_size"):
        total = float(np.prod(_shape(mask)))
        mask = mask * divide_no_nan(fnp.asarray(total, dtype), fnp.sum(mask))
    if sample_weight is None:
        return mask
    sample_weight = fnp.astype(asvalue(sample_weight), dtype)
    mask, sample_weight = squeeze_or_expand_to_same_rank(mask, sample_weight)
    return sample_weight * mask


def reduce_loss(values, sample_weight=None, reduction="sum_over_batch_size", mask=None):
    """Weight and reduce per-sample loss ``values`` exactly as ``keras.losses.Loss.__call__`` does.

    - ``sample_weight`` is brought to the rank of ``values`` (squeezing or
      adding a trailing axis of 1, see :func:`squeeze_or_expand_to_same_rank`)
      and multiplied in, broadcasting like NumPy;
    - ``mask`` (boolean, e.g. from :func:`loss_mask`) zeroes entries; with
      ``"sum_over_batch_size"``/``"mean"`` the others are scaled by
      ``total / valid`` so the result is the mean over valid entries;
    - ``"sum_over_batch_size"`` (default) and ``"mean"``: ``sum / size`` of the
      weighted values (*not* divided by the sum of the weights);
      ``"sum"``: the sum; ``"mean_with_sample_weight"``: ``sum / sum(weights)``
      (0 when the weights sum to 0; ``sum / size`` without weights);
      ``"none"`` or ``None``: the weighted values themselves.

    A 0-d or empty (shape ``(0,)``) ``values`` is returned weighted but unreduced, as in Keras.
    """
    _check_reduction(reduction)
    values = _as_float(values)
    dtype = get_aval(values).dtype
    if sample_weight is not None:
        sample_weight = _as_float(sample_weight, values)
    sample_weight = _apply_mask(sample_weight, mask, dtype, reduction)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        values = values * sample_weight
    shape = _shape(values)
    if reduction in (None, "none") or shape in ((), (0,)):
        return values
    loss = fnp.sum(values)
    if reduction == "sum":
        return loss
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return divide_no_nan(loss, fnp.sum(sample_weight))
    n = int(np.prod(shape))
    return loss / n if n > 0 else loss * 0.0


# --------------------------------------------------------------- Loss record


@attrs.frozen
class Loss:
    """A loss function with its options and a reduction: Keras's ``keras.losses.<Name>(...)`` object.

    ``Loss(fn, reduction="sum_over_batch_size", name=None, **kwargs)``; calling
    it as ``loss(y_true, y_pred, sample_weight=None)`` brings the two to the same
    rank, calls ``fn(y_true, y_pred, **kwargs)`` and reduces with
    :func:`reduce_loss` (including the ``ignore_class`` mask of
    ``sparse_categorical_crossentropy``). It is hashable and has no array
    leaves, so it can be closed over by or passed statically to ``jit``.
    """

    fn: Callable = static_field()
    reduction: Any = static_field(default="sum_over_batch_size")
    name: str | None = static_field(default=None)
    kwargs: tuple = static_field(default=())

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, **kwargs):
        if isinstance(fn, str):
            fn = get(fn)
            fn = fn.fn if isinstance(fn, Loss) else fn
        _check_reduction(reduction)
        self.__attrs_init__(fn, reduction, name or _KERAS_NAMES.get(fn, getattr(fn, "__name__", "loss")),
                            tuple(sorted(kwargs.items())))

    @property
    def config(self) -> dict:
        """The options passed to ``fn``."""
        return dict(self.kwargs)

    def call(self, y_true, y_pred):
        """The unreduced per-sample losses."""
        if self.fn is not sparse_categorical_crossentropy:
            y_true, y_pred = squeeze_or_expand_to_same_rank(_as_float(y_true), _as_float(y_pred))
        return self.fn(y_true, y_pred, **self.config)

    def __call__(self, y_true, y_pred, sample_weight=None):
        values = self.call(y_true, y_pred)
        mask = loss_mask(self.fn, y_true, y_pred, **self.config)
        return reduce_loss(values, sample_weight, self.reduction, mask=mask)


# Keras's default names of the loss classes (``keras.losses.Huber().name == "huber_loss"`` ...)
_KERAS_NAMES = {
    mean_squared_error: "mean_squared_error", mean_absolute_error: "mean_absolute_error",
    mean_absolute_percentage_error: "mean_absolute_percentage_error",
    mean_squared_logarithmic_error: "mean_squared_logarithmic_error", huber: "huber_loss", log_cosh: "log_cosh",
    cosine_similarity: "cosine_similarity", binary_crossentropy: "binary_crossentropy",
    binary_focal_crossentropy: "binary_focal_crossentropy", categorical_crossentropy: "categorical_crossentropy",
    categorical_focal_crossentropy: "categorical_focal_crossentropy",
    sparse_categorical_crossentropy: "sparse_categorical_crossentropy", kl_divergence: "kl_divergence",
    poisson: "poisson", hinge: "hinge", squared_hinge: "squared_hinge", categorical_hinge: "categorical_hinge",
}

_FUNCTIONS = {fn.__name__: fn for fn in _KERAS_NAMES}
_FUNCTIONS.update({"bce": binary_crossentropy, "BCE": binary_crossentropy, "kld": kl_divergence,
                   "KLD": kl_divergence, "mae": mean_absolute_error, "MAE": mean_absolute_error,
                   "mse": mean_squared_error, "MSE": mean_squared_error, "mape": mean_absolute_percentage_error,
                   "MAPE": mean_absolute_percentage_error, "msle": mean_squared_logarithmic_error,
                   "MSLE": mean_squared_logarithmic_error, "logcosh": log_cosh})

# Keras's class names: ``get("BinaryCrossentropy")`` gives a Loss object, as Keras gives an instance
_CLASSES = {
    "MeanSquaredError": mean_squared_error, "MeanAbsoluteError": mean_absolute_error,
    "MeanAbsolutePercentageError": mean_absolute_percentage_error,
    "MeanSquaredLogarithmicError": mean_squared_logarithmic_error, "Huber": huber, "LogCosh": log_cosh,
    "CosineSimilarity": cosine_similarity, "BinaryCrossentropy": binary_crossentropy,
    "BinaryFocalCrossentropy": binary_focal_crossentropy, "CategoricalCrossentropy": categorical_crossentropy,
    "CategoricalFocalCrossentropy": categorical_focal_crossentropy,
    "SparseCategoricalCrossentropy": sparse_categorical_crossentropy, "KLDivergence": kl_divergence,
    "Poisson": poisson, "Hinge": hinge, "SquaredHinge": squared_hinge, "CategoricalHinge": categorical_hinge,
}


def get(identifier):
    """A loss by Keras name: a function for function names and aliases (``"mse"``,
    ``"categorical_crossentropy"``), a :class:`Loss` for class names
    (``"CategoricalCrossentropy"``); callables and ``None`` pass through.
    """
    if identifier is None or callable(identifier):
        return identifier
    if isinstance(identifier, str):
        if identifier in _FUNCTIONS:
            return _FUNCTIONS[identifier]
        if identifier in _CLASSES:
            return Loss(_CLASSES[identifier])
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}")
