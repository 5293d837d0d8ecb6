"""The metric contract and the reduction metrics (``mean``, ``sum``, ``mean_metric_wrapper``).

A :class:`Metric` is three pure functions over a state pytree (a dict of
float32 arrays named like Keras's metric variables):

- ``init(y_true=None, y_pred=None) -> state`` (the examples are only needed by
  metrics whose state shape depends on the data, e.g. ``f1_score`` without
  ``num_classes``);
- ``update(state, y_true, y_pred, sample_weight=None) -> state``;
- ``result(state) -> value``.

All its fields are static, so a Metric can be closed over by a jitted step or
passed to one as a static argument; ``jit(metric.update)`` compiles the update.
"""

from __future__ import annotations

from typing import Callable

import attrs
import numpy as np

import fnflow.numpy as fnp
from fnflow import losses as L
from fnflow.core import tree as tu
from fnflow.core.abstract import get_aval
from fnflow.losses.reduction import _KERAS_NAMES, _apply_mask
from fnflow.ops._util import asvalue
from fnflow.tree import static_field

__all__ = ["Metric", "mean", "sum", "mean_metric_wrapper", "reduce_to_samplewise_values", "zeros"]

DTYPE = np.float32  # Keras's floatx: the dtype of every metric variable


def zeros(shape=()):
    """A float32 zero array: the initial value of a metric variable."""
    return np.zeros(shape, DTYPE)


def as_metric_float(x):
    """``x`` as a float32 array (Keras casts metric inputs to the metric's dtype)."""
    if isinstance(x, (list, tuple, np.generic, int, float, bool)):
        x = np.asarray(x)
    x = asvalue(x)
    return x if get_aval(x).dtype == DTYPE else fnp.astype(x, DTYPE)


@attrs.frozen
class Metric:
    """A streaming metric as pure functions: ``init``, ``update`` and ``result`` (see the module docstring).

    ``name`` is Keras's default name (``"accuracy"``, ``"auc"`` ...), ``direction``
    says whether larger is better (``"up"``), smaller (``"down"``) or unknown
    (``None``), as Keras's ``Metric._direction``; ``config`` holds the options.
    """

    init: Callable = static_field()
    update: Callable = static_field()
    result: Callable = static_field()
    name: str = static_field(default="metric")
    direction: str | None = static_field(default=None)
    config: tuple = static_field(default=())

    def reset(self, state=None):
        """A fresh state: ``init()``, or zeros shaped like ``state`` (for data-shaped states)."""
        if state is None:
            return self.init()
        return tu.tree_map(lambda x: np.zeros(np.shape(x), DTYPE), state)

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The result on one batch from a fresh state (``init``, ``update``, ``result``)."""
        state = self.init(y_true, y_pred)
        return self.result(self.update(state, y_true, y_pred, sample_weight))

    def get_config(self) -> dict:
        """The options (and the name) this metric was built with."""
        return {"name": self.name, **dict(self.config)}


def _freeze(value):
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, np.ndarray):
        return tuple(value.tolist())
    return value


def make_metric(init, update, result, name, direction=None, **config) -> Metric:
    """Build a :class:`Metric`, freezing list options into tuples so it stays hashable."""
    return Metric(init, update, result, name, direction, tuple(sorted((k, _freeze(v)) for k, v in config.items())))


# ------------------------------------------------------------------- reduce


def reduce_to_samplewise_values(values, sample_weight, reduce_fn):
    """Keras's reduction of ``values`` to one value per sample, with the sample weights applied.

    The weights are brought to the rank of ``values``; extra value axes are
    reduced with ``reduce_fn`` first; weights of rank > 1 are reduced the same
    way. Returns ``(values, sample_weight)``, both of shape ``(batch,)`` (or 0-d).
    """
    values = as_metric_float(values)
    if sample_weight is not None:
        sample_weight = as_metric_float(sample_weight)
        values, sample_weight = L.squeeze_or_expand_to_same_rank(values, sample_weight)
        wn, vn = get_aval(sample_weight).ndim, get_aval(values).ndim
        if vn > wn:
            values = reduce_fn(values, axis=tuple(range(wn, vn)))
        sample_weight = fnp.broadcast_to(sample_weight, get_aval(values).shape)
        values = values * sample_weight
        if wn > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, wn)))
    vn = get_aval(values).ndim
    if vn > 1:
        values = reduce_fn(values, axis=tuple(range(1, vn)))
    return values, sample_weight


def _mean_update(state, values, sample_weight=None):
    values, sample_weight = reduce_to_samplewise_values(values, sample_weight, fnp.mean)
    if sample_weight is not None:
        count = fnp.sum(sample_weight)
    else:
        shape = get_aval(values).shape
        count = np.asarray(shape[0] if shape else 1, DTYPE)
    return {"total": state["total"] + fnp.sum(values), "count": state["count"] + count}


def _mean_result(state):
    return L.divide_no_nan(state["total"], state["count"])


def _mean_init(*_):
    return {"total": zeros(), "count": zeros()}


def mean(name="mean") -> Metric:
    """The (weighted) mean of the values seen: ``update(state, values, sample_weight=None)``.

    Values of rank > 1 are first averaged per sample; the count grows by the
    number of samples, or by the sum of the (per-sample) weights.
    """
    return make_metric(_mean_init, _mean_update, _mean_result, name)


def sum(name="sum") -> Metric:  # noqa: A001  (Keras's name)
    """The (weighted) sum of the values seen: ``update(state, values, sample_weight=None)``."""

    def update(state, values, sample_weight=None):
        values, _ = reduce_to_samplewise_values(values, sample_weight, fnp.sum)
        return {"total": state["total"] + fnp.sum(values)}

    return make_metric(lambda *_: {"total": zeros()}, update, lambda s: s["total"] + 0, name)


def mean_metric_wrapper(fn: Callable, name: str | None = None, direction: str | None = None, **kwargs) -> Metric:
    """The mean over all samples of ``fn(y_true, y_pred, **kwargs)`` (Keras's ``MeanMetricWrapper``).

    ``fn`` is any per-sample function (a loss, an accuracy); ``update`` is
    ``(state, y_true, y_pred, sample_weight=None)``. When ``fn`` is a Keras loss
    the direction defaults to ``"down"``.
    """
    if direction is None and fn in _KERAS_NAMES:
        direction = "down"

    def update(state, y_true, y_pred, sample_weight=None):
        values = fn(y_true, y_pred, **kwargs)
        if sample_weight is not None:
            # Keras merges the loss's mask (ignore_class) into explicit weights only
            mask = L.loss_mask(fn, y_true, y_pred, **kwargs)
            if mask is not None:
                sample_weight = _apply_mask(as_metric_float(sample_weight), mask, DTYPE, "sum")
        return _mean_update(state, values, sample_weight)

    return make_metric(_mean_init, update, _mean_result, name or getattr(fn, "__name__", "mean_metric_wrapper"),
                       direction, fn=fn, **kwargs)

