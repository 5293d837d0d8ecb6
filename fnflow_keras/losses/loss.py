"""The Keras ``Loss`` base class (reductions, sample weights) and ``LossFunctionWrapper``."""

from __future__ import annotations

import fnflow.losses as FL
import fnflow.numpy as fnp
from fnflow.ops._util import asvalue
from fnflow_keras.utils.masking import get_keras_mask


def _value(x):
    """Unwrap Variables and other array holders; NumPy/list inputs become arrays."""
    return asvalue(x) if hasattr(x, "__fnflow_array__") or not hasattr(x, "shape") else x


def _cast(x, dtype):
    x = fnp.asarray(x)
    return x if x.dtype == dtype else x.astype(dtype)


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size", mask=None):
    """Keras's weighting and reduction of per-sample loss values (see ``fnflow.losses.reduce_loss``)."""
    return FL.reduce_loss(values, sample_weight, reduction, mask=mask)


class Loss:
    """Base of the loss classes: subclasses implement ``call(y_true, y_pred)`` (one value per sample).

    ``loss(y_true, y_pred, sample_weight=None)`` casts the labels to the
    prediction dtype, calls ``call`` and reduces the values with
    ``reduction`` (``"sum_over_batch_size"`` (default), ``"sum"``, ``"mean"``,
    ``"mean_with_sample_weight"`` or ``"none"``/``None``).
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in FL.REDUCTIONS:
            raise ValueError(f"Invalid value for argument `reduction`. Expected one of {FL.REDUCTIONS}. "
                             f"Received: reduction={reduction!r}")
        self.name = name or _snake(type(self).__name__)
        self.reduction = reduction
        self.dtype = dtype or "float32"

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred)")

    def _mask(self, y_true, y_pred):
        return None

    def __call__(self, y_true, y_pred, sample_weight=None):
        # a Keras mask on the predictions (e.g. from Embedding(mask_zero=True)) weighs the values as Keras does:
        # masked entries count 0, and the averaging reductions take the mean over the unmasked ones
        in_mask = get_keras_mask(y_pred)
        # as Keras, both are converted to the loss dtype (float32) first
        y_pred = _cast(_value(y_pred), self.dtype)
        y_true = _cast(_value(y_true), self.dtype)
        values = self.call(y_true, y_pred)
        if sample_weight is not None:
            sample_weight = _value(sample_weight)
        out_mask = self._mask(y_true, y_pred)
        if out_mask is None:
            out_mask = get_keras_mask(values)
        if in_mask is not None and out_mask is not None:
            mask = fnp.logical_and(fnp.asarray(in_mask).astype(bool), fnp.asarray(out_mask).astype(bool))
        else:
            mask = in_mask if out_mask is None else out_mask
        return reduce_values(values, sample_weight, self.reduction, mask=mask)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class LossFunctionWrapper(Loss):
    """A loss object around a per-sample function ``fn(y_true, y_pred, **kwargs)``."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        if self.fn is not FL.sparse_categorical_crossentropy:
            y_true, y_pred = FL.squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def _mask(self, y_true, y_pred):
        return FL.loss_mask(self.fn, y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        from fnflow_keras import losses

        cfg = {"name": self.name, "reduction": self.reduction, **self._fn_kwargs}
        cfg["fn"] = losses.serialize(self.fn)
        return cfg

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if cls is LossFunctionWrapper:
            from fnflow_keras import losses

            fn = config.pop("fn")
            return cls(losses.get(fn) if isinstance(fn, str) else losses.deserialize(fn), **config)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, fn={getattr(self.fn, '__name__', self.fn)}>"


def _snake(name):
    out = []
    for i, c in enumerate(name):
        if c.isupper() and i and (not name[i - 1].isupper() or i + 1 < len(name) and name[i + 1].islower()):
            out.append("_")
        out.append(c.lower())
    return "".join(out)
