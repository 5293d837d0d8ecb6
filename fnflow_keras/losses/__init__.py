"""keras.losses: Keras's loss classes and functions over ``fnflow.losses``.

A loss object is called as ``loss(y_true, y_pred, sample_weight=None)`` and
returns the reduced scalar (``reduction="sum_over_batch_size"`` by default);
the functions (``keras.losses.mean_squared_error`` ...) return one value per
sample. Every number is computed by the pure functions of ``fnflow.losses``,
so losses run eagerly, under ``fnflow.grad`` and inside a jitted train step.
"""

from __future__ import annotations

import fnflow.losses as FL
from fnflow.losses import (
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    cosine_similarity,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from fnflow_keras.losses.loss import Loss, LossFunctionWrapper, reduce_values
from fnflow_keras.utils.serialization_lib import get_registered_name

# Keras's short aliases of the functions
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence
logcosh = log_cosh


def _wrapper(fn, default_name, defaults, doc):
    """A LossFunctionWrapper subclass with Keras's constructor arguments (``defaults`` in order)."""

    def __init__(self, *args, reduction="sum_over_batch_size", name=default_name, dtype=None, **kwargs):
        opts = dict(defaults)
        names = list(defaults)
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes at most {len(names)} positional arguments")
        opts.update(zip(names, args))
        for k, v in kwargs.items():
            if k not in opts:
                raise TypeError(f"{type(self).__name__}: unexpected argument {k!r}")
            opts[k] = v
        LossFunctionWrapper.__init__(self, fn, reduction=reduction, name=name, dtype=dtype, **opts)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, **self._fn_kwargs}

    return {"__init__": __init__, "get_config": get_config, "__doc__": doc}


def _make(cls_name, fn, default_name, defaults=None, doc=""):
    return type(cls_name, (LossFunctionWrapper,), _wrapper(fn, default_name, defaults or {}, doc))


MeanSquaredError = _make("MeanSquaredError", mean_squared_error, "mean_squared_error",
                         doc="Mean of squares of errors: ``mean((y_true - y_pred)**2, axis=-1)``.")
MeanAbsoluteError = _make("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error",
                          doc="Mean of absolute errors.")
MeanAbsolutePercentageError = _make("MeanAbsolutePercentageError", mean_absolute_percentage_error,
                                    "mean_absolute_percentage_error", doc="``100 * mean(|(y - p) / y|)``.")
MeanSquaredLogarithmicError = _make("MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
                                    "mean_squared_logarithmic_error", doc="Mean squared error of ``log(1 + y)``.")
CosineSimilarity = _make("CosineSimilarity", cosine_similarity, "cosine_similarity", {"axis": -1},
                         doc="Negative cosine similarity along ``axis``.")
Huber = _make("Huber", huber, "huber_loss", {"delta": 1.0}, doc="Huber loss with threshold ``delta``.")
LogCosh = _make("LogCosh", log_cosh, "log_cosh", doc="``log(cosh(y_pred - y_true))``, averaged.")
BinaryCrossentropy = _make("BinaryCrossentropy", binary_crossentropy, "binary_crossentropy",
                           {"from_logits": False, "label_smoothing": 0.0, "axis": -1},
                           doc="Crossentropy of binary (0/1) labels and probabilities (or logits).")
BinaryFocalCrossentropy = _make(
    "BinaryFocalCrossentropy", binary_focal_crossentropy, "binary_focal_crossentropy",
    {"apply_class_balancing": False, "alpha": 0.25, "gamma": 2.0, "from_logits": False, "label_smoothing": 0.0,
     "axis": -1}, doc="Binary crossentropy scaled by the focal factor ``(1 - p_t)**gamma``.")
CategoricalCrossentropy = _make("CategoricalCrossentropy", categorical_crossentropy, "categorical_crossentropy",
                                {"from_logits": False, "label_smoothing": 0.0, "axis": -1},
                                doc="Crossentropy of one-hot labels and class probabilities (or logits).")
CategoricalFocalCrossentropy = _make(
    "CategoricalFocalCrossentropy", categorical_focal_crossentropy, "categorical_focal_crossentropy",
    {"alpha": 0.25, "gamma": 2.0, "from_logits": False, "label_smoothing": 0.0, "axis": -1},
    doc="Categorical crossentropy scaled by the focal factor.")
SparseCategoricalCrossentropy = _make(
    "SparseCategoricalCrossentropy", sparse_categorical_crossentropy, "sparse_categorical_crossentropy",
    {"from_logits": False, "ignore_class": None, "axis": -1},
    doc="Crossentropy of integer labels and class probabilities (or logits).")
KLDivergence = _make("KLDivergence", kl_divergence, "kl_divergence", doc="``sum(y_true * log(y_true / y_pred))``.")
Poisson = _make("Poisson", poisson, "poisson", doc="``mean(y_pred - y_true * log(y_pred))``.")
Hinge = _make("Hinge", hinge, "hinge", doc="``mean(max(1 - y_true * y_pred, 0))`` with labels in {-1, 1}.")
SquaredHinge = _make("SquaredHinge", squared_hinge, "squared_hinge", doc="Squared hinge loss.")
CategoricalHinge = _make("CategoricalHinge", categorical_hinge, "categorical_hinge", doc="Categorical hinge loss.")

_CLASSES = {c.__name__: c for c in [
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError, CosineSimilarity,
    Huber, LogCosh, BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy,
    CategoricalFocalCrossentropy, SparseCategoricalCrossentropy, KLDivergence, Poisson, Hinge, SquaredHinge,
    CategoricalHinge]}
_CLASSES["Loss"] = Loss
_CLASSES["LossFunctionWrapper"] = LossFunctionWrapper

_FUNCTIONS = {
    "mean_squared_error": mean_squared_error, "mse": mse, "MSE": mse,
    "mean_absolute_error": mean_absolute_error, "mae": mae, "MAE": mae,
    "mean_absolute_percentage_error": mean_absolute_percentage_error, "mape": mape, "MAPE": mape,
    "mean_squared_logarithmic_error": mean_squared_logarithmic_error, "msle": msle, "MSLE": msle,
    "cosine_similarity": cosine_similarity, "huber": huber, "huber_loss": huber, "log_cosh": log_cosh,
    "logcosh": log_cosh, "binary_crossentropy": binary_crossentropy, "bce": binary_crossentropy,
    "BCE": binary_crossentropy, "binary_focal_crossentropy": binary_focal_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "categorical_focal_crossentropy": categorical_focal_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy, "kl_divergence": kl_divergence,
    "kld": kld, "KLD": kld, "kullback_leibler_divergence": kl_divergence, "poisson": poisson, "hinge": hinge,
    "squared_hinge": squared_hinge, "categorical_hinge": categorical_hinge,
}


def get(identifier):
    """A loss from a Keras identifier: a function name (``"mse"`` -> the function), a class name
    (``"BinaryCrossentropy"`` -> an instance), a config dict, a callable or None (passed through)."""
    if identifier is None or isinstance(identifier, Loss) or callable(identifier) and not isinstance(identifier,
                                                                                                    type):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier in _FUNCTIONS:
            return _FUNCTIONS[identifier]
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}")


def serialize(loss):
    """Keras's serialized form: ``{"module", "class_name", "config", "registered_name"}`` (a name for functions)."""
    if isinstance(loss, Loss):
        cls = type(loss)
        builtin = _CLASSES.get(cls.__name__) is cls
        return {"module": "keras.losses" if builtin else _user_module(cls), "class_name": cls.__name__,
                "config": loss.get_config(), "registered_name": None if builtin else get_registered_name(cls)}
    name = getattr(loss, "__name__", None)
    if name is None:
        raise ValueError(f"Cannot serialize loss {loss!r}")
    return name


def _user_module(cls):
    """The module Keras writes for a user class (None for classes defined in ``__main__``)."""
    return None if cls.__module__ == "__main__" else cls.__module__


def deserialize(config, custom_objects=None):
    """Inverse of :func:`serialize` (``custom_objects`` maps names to user classes or functions)."""
    custom_objects = custom_objects or {}
    if isinstance(config, str):
        if config in custom_objects:
            return custom_objects[config]
        return get(config)
    name = config.get("class_name")
    cls = custom_objects.get(name) or _CLASSES.get(name)
    if cls is None:
        try:
            from fnflow_keras.utils import serialization_lib

            cls = serialization_lib.get_registered_object(config.get("registered_name") or name, custom_objects)
        except ImportError:  # pragma: no cover
            cls = None
    if cls is None:
        raise ValueError(f"Unknown loss: {name!r}. Pass it in `custom_objects` or register it with "
                         f"`keras.saving.register_keras_serializable`.")
    return cls.from_config(config.get("config", {}))


__all__ = [
    'BCE', 'BinaryCrossentropy', 'BinaryFocalCrossentropy', 'CategoricalCrossentropy',
    'CategoricalFocalCrossentropy', 'CategoricalHinge', 'CosineSimilarity', 'Hinge', 'Huber', 'KLD', 'KLDivergence',
    'LogCosh', 'Loss', 'LossFunctionWrapper', 'MAE', 'MAPE', 'MSE', 'MSLE', 'MeanAbsoluteError',
    'MeanAbsolutePercentageError', 'MeanSquaredError', 'MeanSquaredLogarithmicError', 'Poisson',
    'SparseCategoricalCrossentropy', 'SquaredHinge', 'bce', 'binary_crossentropy', 'binary_focal_crossentropy',
    'categorical_crossentropy', 'categorical_focal_crossentropy', 'categorical_hinge', 'cosine_similarity',
    'deserialize', 'get', 'hinge', 'huber', 'huber_loss', 'kl_divergence', 'kld', 'kullback_leibler_divergence',
    'log_cosh', 'logcosh', 'mae', 'mape', 'mean_absolute_error', 'mean_absolute_percentage_error',
    'mean_squared_error', 'mean_squared_logarithmic_error', 'mse', 'msle', 'poisson', 'reduce_values', 'serialize',
    'sparse_categorical_crossentropy', 'squared_hinge'
]
_ = FL  # fnflow.losses stays reachable for readers of this module
