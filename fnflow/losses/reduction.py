"""Keras's loss reductions, the :class:`Loss` record and lookup by Keras name."""

from __future__ import annotations

from typing import Any, Callable

import attrs
import numpy as np

import fnflow.numpy as fnp
from fnflow.core.abstract import get_aval
from fnflow.losses._util import _as_float, _shape, divide_no_nan, squeeze_or_expand_to_same_rank
from fnflow.losses.hinge import categorical_hinge, hinge, squared_hinge
from fnflow.losses.probabilistic import (
    _sparse_labels,
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    kl_divergence,
    poisson,
    sparse_categorical_crossentropy,
)
from fnflow.losses.regression import (
    cosine_similarity,
    huber,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)
from fnflow.ops._util import asvalue
from fnflow.tree import static_field

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)

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
