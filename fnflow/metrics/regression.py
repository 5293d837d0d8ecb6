"""Regression and loss-based metrics: means of Keras's loss functions, RMSE, cosine similarity, R2."""

from __future__ import annotations

import numpy as np

import fnflow.numpy as fnp
from fnflow import losses as L
from fnflow.core.abstract import get_aval
from fnflow.metrics.base import (
    DTYPE,
    Metric,
    _mean_init,
    _mean_result,
    _mean_update,
    as_metric_float,
    make_metric,
    mean_metric_wrapper,
    zeros,
)

__all__ = [
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_logarithmic_error",
    "root_mean_squared_error", "cosine_similarity", "log_cosh_error", "hinge", "squared_hinge", "categorical_hinge",
    "kl_divergence", "poisson", "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "r2_score",
]


def mean_squared_error(name="mean_squared_error") -> Metric:
    """Mean of :func:`fnflow.losses.mean_squared_error` over the samples seen."""
    return mean_metric_wrapper(L.mean_squared_error, name, "down")


def mean_absolute_error(name="mean_absolute_error") -> Metric:
    """Mean of :func:`fnflow.losses.mean_absolute_error`."""
    return mean_metric_wrapper(L.mean_absolute_error, name, "down")


def mean_absolute_percentage_error(name="mean_absolute_percentage_error") -> Metric:
    """Mean of :func:`fnflow.losses.mean_absolute_percentage_error`."""
    return mean_metric_wrapper(L.mean_absolute_percentage_error, name, "down")


def mean_squared_logarithmic_error(name="mean_squared_logarithmic_error") -> Metric:
    """Mean of :func:`fnflow.losses.mean_squared_logarithmic_error`."""
    return mean_metric_wrapper(L.mean_squared_logarithmic_error, name, "down")


def log_cosh_error(name="logcosh") -> Metric:
    """Mean of :func:`fnflow.losses.log_cosh` (Keras's ``LogCoshError``, named ``"logcosh"``)."""
    return mean_metric_wrapper(L.log_cosh, name, "down")


def root_mean_squared_error(name="root_mean_squared_error") -> Metric:
    """``sqrt`` of the (weighted) mean of the elementwise squared errors."""

    def update(state, y_true, y_pred, sample_weight=None):
        y_true, y_pred = L.squeeze_or_expand_to_same_rank(as_metric_float(y_true), as_metric_float(y_pred))
        return _mean_update(state, fnp.square(y_pred - y_true), sample_weight)

    return make_metric(_mean_init, update, lambda s: fnp.sqrt(_mean_result(s)), name, "down")


def _cosine(y_true, y_pred, axis=-1):
    return -L.cosine_similarity(y_true, y_pred, axis=axis)


def cosine_similarity(axis=-1, name="cosine_similarity") -> Metric:
    """Mean cosine similarity along ``axis`` (positive, unlike the loss)."""
    return mean_metric_wrapper(_cosine, name, "up", axis=axis)


def hinge(name="hinge") -> Metric:
    """Mean of :func:`fnflow.losses.hinge`."""
    return mean_metric_wrapper(L.hinge, name, "down")


def squared_hinge(name="squared_hinge") -> Metric:
    """Mean of :func:`fnflow.losses.squared_hinge`."""
    return mean_metric_wrapper(L.squared_hinge, name, "down")


def categorical_hinge(name="categorical_hinge") -> Metric:
    """Mean of :func:`fnflow.losses.categorical_hinge`."""
    return mean_metric_wrapper(L.categorical_hinge, name, "down")


def kl_divergence(name="kl_divergence") -> Metric:
    """Mean of :func:`fnflow.losses.kl_divergence`."""
    return mean_metric_wrapper(L.kl_divergence, name, "down")


def poisson(name="poisson") -> Metric:
    """Mean of :func:`fnflow.losses.poisson`."""
    return mean_metric_wrapper(L.poisson, name, "down")


def binary_crossentropy(from_logits=False, label_smoothing=0.0, name="binary_crossentropy") -> Metric:
    """Mean of :func:`fnflow.losses.binary_crossentropy` with these options."""
    return mean_metric_wrapper(L.binary_crossentropy, name, "down", from_logits=from_logits,
                               label_smoothing=label_smoothing)


def categorical_crossentropy(from_logits=False, label_smoothing=0.0, axis=-1,
                             name="categorical_crossentropy") -> Metric:
    """Mean of :func:`fnflow.losses.categorical_crossentropy` with these options."""
    return mean_metric_wrapper(L.categorical_crossentropy, name, "down", from_logits=from_logits,
                               label_smoothing=label_smoothing, axis=axis)


def sparse_categorical_crossentropy(from_logits=False, axis=-1, name="sparse_categorical_crossentropy") -> Metric:
    """Mean of :func:`fnflow.losses.sparse_categorical_crossentropy` with these options."""
    return mean_metric_wrapper(L.sparse_categorical_crossentropy, name, "down", from_logits=from_logits, axis=axis)


# --------------------------------------------------------------------- R2


def r2_score(class_aggregation="uniform_average", num_regressors=0, num_outputs=None, name="r2_score") -> Metric:
    """The coefficient of determination ``1 - SS_res / SS_tot`` per output, aggregated (``keras.metrics.R2Score``).

    ``class_aggregation``: ``None`` (per output), ``"uniform_average"`` or
    ``"variance_weighted_average"``; ``num_regressors > 0`` gives the adjusted
    R2 (falling back to the plain score when there are too few samples).
    Inputs are ``(batch, num_outputs)``; ``num_outputs`` or an example
    ``y_pred`` given to ``init`` fixes the state shape.
    """
    if class_aggregation not in (None, "uniform_average", "variance_weighted_average"):
        raise ValueError(f"Invalid value for argument `class_aggregation`: {class_aggregation!r}")
    if num_regressors < 0:
        raise ValueError(f"Invalid value for argument `num_regressors`: {num_regressors} (expected >= 0)")

    def init(y_true=None, y_pred=None):
        n = num_outputs
        if n is None:
            if y_pred is None:
                raise ValueError("r2_score needs `num_outputs` or an example y_pred for init")
            shape = tuple(np.shape(y_pred) if not hasattr(y_pred, "shape") else y_pred.shape)
            n = shape[-1] if len(shape) == 2 else 1
        return {"num_samples": zeros(), "squared_sum": zeros((n,)), "sum": zeros((n,)), "residual": zeros((n,)),
                "count": zeros((n,))}

    def update(state, y_true, y_pred, sample_weight=None):
        y_true, y_pred = L.squeeze_or_expand_to_same_rank(as_metric_float(y_true), as_metric_float(y_pred))
        if get_aval(y_pred).ndim != 2 or get_aval(y_true).ndim != 2:
            raise ValueError("R2Score expects 2D inputs with shape (batch_size, output_dim), got "
                             f"y_pred.shape={get_aval(y_pred).shape} and y_true.shape={get_aval(y_true).shape}")
        sw = np.ones((), DTYPE) if sample_weight is None else as_metric_float(sample_weight)
        if get_aval(sw).ndim == 1:
            sw = fnp.expand_dims(sw, 1)
        sw = fnp.broadcast_to(sw, get_aval(y_true).shape)
        wy = y_true * sw
        return {"sum": state["sum"] + fnp.sum(wy, axis=0),
                "squared_sum": state["squared_sum"] + fnp.sum(y_true * wy, axis=0),
                "residual": state["residual"] + fnp.sum(fnp.square(y_true - y_pred) * sw, axis=0),
                "count": state["count"] + fnp.sum(sw, axis=0),
                "num_samples": state["num_samples"] + float(np.prod(get_aval(y_true).shape))}

    def result(s):
        # Keras divides unguarded: a 0/0 stays NaN and x/0 (an infinite score) becomes 0; the same
        # values here without NumPy's divide warnings
        nan = fnp.full_like(s["count"], np.nan)
        count_zero = fnp.equal(s["count"], 0)
        mean = fnp.where(count_zero, nan, s["sum"] / fnp.where(count_zero, 1.0, s["count"]))
        total = s["squared_sum"] - s["sum"] * mean
        total_zero = fnp.equal(total, 0)
        raw = 1.0 - s["residual"] / fnp.where(total_zero, 1.0, total)
        raw = fnp.where(total_zero, fnp.where(fnp.equal(s["residual"], 0), nan, fnp.zeros_like(raw)), raw)
        raw = fnp.where(fnp.isinf(raw), fnp.zeros_like(raw), raw)
        if class_aggregation == "uniform_average":
            r2 = fnp.mean(raw)
        elif class_aggregation == "variance_weighted_average":
            r2 = fnp.sum(total * raw) / fnp.sum(total)
        else:
            r2 = raw
        if num_regressors:
            n = s["num_samples"]
            adjusted = 1.0 - (1.0 - r2) * (n - 1.0) / (n - float(num_regressors) - 1.0)
            # with num_regressors >= n - 1 Keras warns and keeps the plain score
            r2 = fnp.where(fnp.less(float(num_regressors), n - 1.0), adjusted, r2)
        return r2

    return make_metric(init, update, result, name, "up", class_aggregation=class_aggregation,
                       num_regressors=num_regressors)
