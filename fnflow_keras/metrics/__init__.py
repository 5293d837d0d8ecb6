"""keras.metrics: Keras's metric classes and functions over ``fnflow.metrics``.

Every class keeps Keras's name, arguments and default ``name``; state lives in
non-trainable Variables (``metric.variables``), so a metric works standalone
(``update_state`` / ``result`` / ``reset_state``) and inside ``compile``.
"""

from __future__ import annotations

import fnflow.metrics as FM
from fnflow.metrics import (
    accuracy_fn as accuracy,
)
from fnflow.metrics import (
    binary_accuracy_fn as binary_accuracy,
)
from fnflow.metrics import (
    categorical_accuracy_fn as categorical_accuracy,
)
from fnflow.metrics import (
    sparse_categorical_accuracy_fn as sparse_categorical_accuracy,
)
from fnflow.metrics import (
    sparse_top_k_categorical_accuracy_fn as sparse_top_k_categorical_accuracy,
)
from fnflow.metrics import (
    top_k_categorical_accuracy_fn as top_k_categorical_accuracy,
)
from fnflow_keras.losses import (
    MAE,
    MAPE,
    MSE,
    MSLE,
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mae,
    mape,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    mse,
    msle,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from fnflow_keras.metrics.metric import FnflowMetric, Mean, MeanMetricWrapper, Metric, Sum
from fnflow_keras.utils.serialization_lib import get_registered_name


def _args_init(ctor, default_name, params):
    """``__init__`` taking Keras's arguments ``params`` (in order) plus ``name`` and ``dtype``."""

    def __init__(self, *args, name=default_name, dtype=None, **kwargs):
        if len(args) > len(params):
            raise TypeError(f"{type(self).__name__} takes at most {len(params)} positional arguments")
        opts = dict(zip(params, args))
        for k, v in kwargs.items():
            if k not in params:
                raise TypeError(f"{type(self).__name__}: unexpected argument {k!r}")
            opts[k] = v
        self._init_args = opts
        FnflowMetric.__init__(self, ctor(name=name, **opts), name=name, dtype=dtype)

    return __init__


def _cls(cls_name, ctor, default_name, params=(), doc=""):
    return type(cls_name, (FnflowMetric,), {"__init__": _args_init(ctor, default_name, tuple(params)),
                                            "__doc__": doc or f"Keras's ``{cls_name}`` metric."})


Accuracy = _cls("Accuracy", FM.accuracy, "accuracy", doc="How often predictions equal labels.")
BinaryAccuracy = _cls("BinaryAccuracy", FM.binary_accuracy, "binary_accuracy", ["threshold"],
                      doc="How often ``y_pred > threshold`` matches binary labels.")
CategoricalAccuracy = _cls("CategoricalAccuracy", FM.categorical_accuracy, "categorical_accuracy",
                           doc="How often the argmax of predictions matches the argmax of one-hot labels.")
SparseCategoricalAccuracy = _cls("SparseCategoricalAccuracy", FM.sparse_categorical_accuracy,
                                 "sparse_categorical_accuracy",
                                 doc="How often the argmax of predictions matches integer labels.")
TopKCategoricalAccuracy = _cls("TopKCategoricalAccuracy", FM.top_k_categorical_accuracy,
                               "top_k_categorical_accuracy", ["k"])
SparseTopKCategoricalAccuracy = _cls("SparseTopKCategoricalAccuracy", FM.sparse_top_k_categorical_accuracy,
                                     "sparse_top_k_categorical_accuracy", ["k"])
TruePositives = _cls("TruePositives", FM.true_positives, "true_positives", ["thresholds"])
FalsePositives = _cls("FalsePositives", FM.false_positives, "false_positives", ["thresholds"])
TrueNegatives = _cls("TrueNegatives", FM.true_negatives, "true_negatives", ["thresholds"])
FalseNegatives = _cls("FalseNegatives", FM.false_negatives, "false_negatives", ["thresholds"])
Precision = _cls("Precision", FM.precision, "precision", ["thresholds", "top_k", "class_id"])
Recall = _cls("Recall", FM.recall, "recall", ["thresholds", "top_k", "class_id"])
AUC = _cls("AUC", FM.auc, "auc", ["num_thresholds", "curve", "summation_method", "thresholds", "multi_label",
                                  "num_labels", "label_weights", "from_logits"])
F1Score = _cls("F1Score", FM.f1_score, "f1_score", ["average", "threshold"])
FBetaScore = _cls("FBetaScore", FM.fbeta_score, "fbeta_score", ["average", "beta", "threshold"])
IoU = _cls("IoU", FM.iou, "iou", ["num_classes", "target_class_ids", "ignore_class", "sparse_y_true",
                                  "sparse_y_pred", "axis"])
MeanIoU = _cls("MeanIoU", FM.mean_iou, "mean_iou", ["num_classes", "ignore_class", "sparse_y_true",
                                                   "sparse_y_pred", "axis"])
BinaryIoU = _cls("BinaryIoU", FM.binary_iou, "binary_iou", ["target_class_ids", "threshold"])
OneHotIoU = _cls("OneHotIoU", FM.one_hot_iou, "one_hot_iou", ["num_classes", "target_class_ids", "ignore_class",
                                                              "sparse_y_pred", "axis"])
OneHotMeanIoU = _cls("OneHotMeanIoU", FM.one_hot_mean_iou, "one_hot_mean_iou", ["num_classes", "ignore_class",
                                                                               "sparse_y_pred", "axis"])
MeanSquaredError = _cls("MeanSquaredError", FM.mean_squared_error, "mean_squared_error")
MeanAbsoluteError = _cls("MeanAbsoluteError", FM.mean_absolute_error, "mean_absolute_error")
MeanAbsolutePercentageError = _cls("MeanAbsolutePercentageError", FM.mean_absolute_percentage_error,
                                   "mean_absolute_percentage_error")
MeanSquaredLogarithmicError = _cls("MeanSquaredLogarithmicError", FM.mean_squared_logarithmic_error,
                                   "mean_squared_logarithmic_error")
RootMeanSquaredError = _cls("RootMeanSquaredError", FM.root_mean_squared_error, "root_mean_squared_error")
CosineSimilarity = _cls("CosineSimilarity", FM.cosine_similarity, "cosine_similarity", ["axis"])
LogCoshError = _cls("LogCoshError", FM.log_cosh_error, "logcosh")
Hinge = _cls("Hinge", FM.hinge, "hinge")
SquaredHinge = _cls("SquaredHinge", FM.squared_hinge, "squared_hinge")
CategoricalHinge = _cls("CategoricalHinge", FM.categorical_hinge, "categorical_hinge")
KLDivergence = _cls("KLDivergence", FM.kl_divergence, "kl_divergence")
Poisson = _cls("Poisson", FM.poisson, "poisson")
BinaryCrossentropy = _cls("BinaryCrossentropy", FM.binary_crossentropy, "binary_crossentropy",
                          ["from_logits", "label_smoothing"])
CategoricalCrossentropy = _cls("CategoricalCrossentropy", FM.categorical_crossentropy, "categorical_crossentropy",
                               ["from_logits", "label_smoothing", "axis"])
SparseCategoricalCrossentropy = _cls("SparseCategoricalCrossentropy", FM.sparse_categorical_crossentropy,
                                     "sparse_categorical_crossentropy", ["from_logits", "axis"])
R2Score = _cls("R2Score", FM.r2_score, "r2_score", ["class_aggregation", "num_regressors"])

_CLASSES = {c.__name__: c for c in [
    Metric, Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, TruePositives, FalsePositives, TrueNegatives,
    FalseNegatives, Precision, Recall, AUC, F1Score, FBetaScore, IoU, MeanIoU, BinaryIoU, OneHotIoU, OneHotMeanIoU,
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
    RootMeanSquaredError, CosineSimilarity, LogCoshError, Hinge, SquaredHinge, CategoricalHinge, KLDivergence,
    Poisson, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, R2Score]}

# string names -> classes (function names give the matching mean metric, named after the string)
_NAMES = {
    "accuracy": Accuracy, "acc": Accuracy, "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy, "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError, "mape": MeanAbsolutePercentageError,
    "MAPE": MeanAbsolutePercentageError, "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
    "root_mean_squared_error": RootMeanSquaredError, "cosine_similarity": CosineSimilarity,
    "logcosh": LogCoshError, "log_cosh": LogCoshError, "hinge": Hinge, "squared_hinge": SquaredHinge,
    "categorical_hinge": CategoricalHinge, "kl_divergence": KLDivergence, "kld": KLDivergence,
    "KLD": KLDivergence, "poisson": Poisson, "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy, "auc": AUC, "precision": Precision,
    "recall": Recall,
}


def get(identifier):
    """A metric from a Keras identifier: a Metric (passed through), a string (a class or function name;
    ``"mse"`` gives ``MeanSquaredError(name="mse")``), a class, a config dict, or a function ``fn(y_true,
    y_pred)`` (wrapped in :class:`MeanMetricWrapper`)."""
    if identifier is None or isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier in _NAMES:
            return _NAMES[identifier](name=identifier)
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
        raise ValueError(f"Could not interpret metric identifier: {identifier!r}")
    if callable(identifier):
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", None))
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}")


def serialize(metric):
    cls = type(metric)
    builtin = _CLASSES.get(cls.__name__) is cls
    return {"module": "keras.metrics" if builtin else (None if cls.__module__ == "__main__" else cls.__module__),
            "class_name": cls.__name__, "config": metric.get_config(),
            "registered_name": None if builtin else get_registered_name(cls)}


def deserialize(config, custom_objects=None):
    if isinstance(config, str):
        return get(config)
    custom_objects = custom_objects or {}
    name = config.get("class_name")
    cls = custom_objects.get(name) or _CLASSES.get(name)
    if cls is None:
        from fnflow_keras.utils import serialization_lib

        cls = serialization_lib.get_registered_object(config.get("registered_name") or name, custom_objects)
    if cls is None:
        raise ValueError(f"Unknown metric: {name!r}")
    return cls.from_config(config.get("config", {}))


__all__ = [
    'AUC', 'Accuracy', 'BinaryAccuracy', 'BinaryCrossentropy', 'BinaryIoU', 'CategoricalAccuracy',
    'CategoricalCrossentropy', 'CategoricalHinge', 'CosineSimilarity', 'F1Score', 'FBetaScore', 'FalseNegatives',
    'FalsePositives', 'FnflowMetric', 'Hinge', 'IoU', 'KLDivergence', 'LogCoshError', 'MAE', 'MAPE', 'MSE', 'MSLE',
    'Mean', 'MeanAbsoluteError', 'MeanAbsolutePercentageError', 'MeanIoU', 'MeanMetricWrapper', 'MeanSquaredError',
    'MeanSquaredLogarithmicError', 'Metric', 'OneHotIoU', 'OneHotMeanIoU', 'Poisson', 'Precision', 'R2Score',
    'Recall', 'RootMeanSquaredError', 'SparseCategoricalAccuracy', 'SparseCategoricalCrossentropy',
    'SparseTopKCategoricalAccuracy', 'SquaredHinge', 'Sum', 'TopKCategoricalAccuracy', 'TrueNegatives',
    'TruePositives', 'accuracy', 'binary_accuracy', 'binary_crossentropy', 'binary_focal_crossentropy',
    'categorical_accuracy', 'categorical_crossentropy', 'categorical_focal_crossentropy', 'categorical_hinge',
    'deserialize', 'get', 'hinge', 'huber', 'kl_divergence', 'log_cosh', 'mae', 'mape', 'mean_absolute_error',
    'mean_absolute_percentage_error', 'mean_squared_error', 'mean_squared_logarithmic_error', 'mse', 'msle',
    'poisson', 'serialize', 'sparse_categorical_accuracy', 'sparse_categorical_crossentropy',
    'sparse_top_k_categorical_accuracy', 'squared_hinge', 'top_k_categorical_accuracy'
]
