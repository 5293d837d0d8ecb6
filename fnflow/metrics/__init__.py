"""fnflow.metrics: streaming metrics with Keras 3's formulas, as pure ``(init, update, result)`` functions.

A :class:`Metric` holds three pure functions over a state pytree (a dict of
float32 arrays named like Keras's metric variables), so it runs inside a
jitted training step::

    import fnflow, fnflow.metrics as M

    m = M.auc()                         # keras.metrics.AUC()
    state = m.init()
    update = fnflow.jit(m.update)
    for y, p in batches:
        state = update(state, y, p)     # sample_weight=... optional
    print(m.result(state))
    state = m.reset(state)              # same as m.init()

The per-sample accuracy functions are ``accuracy_fn``, ``binary_accuracy_fn``
... (Keras's ``keras.metrics.binary_accuracy`` etc.); ``mean_metric_wrapper(fn)``
makes a mean metric of any per-sample function such as a loss.
"""

from fnflow.metrics.accuracy import (
    accuracy,
    accuracy_fn,
    binary_accuracy,
    binary_accuracy_fn,
    categorical_accuracy,
    categorical_accuracy_fn,
    sparse_categorical_accuracy,
    sparse_categorical_accuracy_fn,
    sparse_top_k_categorical_accuracy,
    sparse_top_k_categorical_accuracy_fn,
    top_k_categorical_accuracy,
    top_k_categorical_accuracy_fn,
)
from fnflow.metrics.base import Metric, mean, mean_metric_wrapper, reduce_to_samplewise_values, sum  # noqa: A004
from fnflow.metrics.confusion import (
    NEG_INF,
    auc,
    confusion_counts,
    false_negatives,
    false_positives,
    precision,
    recall,
    true_negatives,
    true_positives,
)
from fnflow.metrics.fscore import f1_score, fbeta_score
from fnflow.metrics.iou import binary_iou, confusion_matrix, iou, mean_iou, one_hot_iou, one_hot_mean_iou
from fnflow.metrics.regression import (
    binary_crossentropy,
    categorical_crossentropy,
    categorical_hinge,
    cosine_similarity,
    hinge,
    kl_divergence,
    log_cosh_error,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    r2_score,
    root_mean_squared_error,
    sparse_categorical_crossentropy,
    squared_hinge,
)

__all__ = [
    "NEG_INF", "Metric", "accuracy", "accuracy_fn", "auc", "binary_accuracy", "binary_accuracy_fn",
    "binary_crossentropy", "binary_iou", "categorical_accuracy", "categorical_accuracy_fn",
    "categorical_crossentropy", "categorical_hinge", "confusion_counts", "confusion_matrix", "cosine_similarity",
    "f1_score", "false_negatives", "false_positives", "fbeta_score", "get", "hinge", "iou", "kl_divergence",
    "log_cosh_error", "mean", "mean_absolute_error", "mean_absolute_percentage_error", "mean_iou",
    "mean_metric_wrapper", "mean_squared_error", "mean_squared_logarithmic_error", "one_hot_iou",
    "one_hot_mean_iou", "poisson", "precision", "r2_score", "recall", "reduce_to_samplewise_values",
    "root_mean_squared_error", "sparse_categorical_accuracy", "sparse_categorical_accuracy_fn",
    "sparse_categorical_crossentropy", "sparse_top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy_fn",
    "squared_hinge", "sum", "top_k_categorical_accuracy", "top_k_categorical_accuracy_fn", "true_negatives",
    "true_positives",
]

# Keras's string names (function names, aliases and class names) -> constructors with default options.
# "accuracy"/"acc" give exact-match accuracy; Keras's compile() instead picks binary, categorical or
# sparse accuracy from the loss and shapes, which is the trainer's job.
_NAMES = {
    "accuracy": accuracy, "acc": accuracy, "Accuracy": accuracy,
    "binary_accuracy": binary_accuracy, "BinaryAccuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy, "CategoricalAccuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "SparseCategoricalAccuracy": sparse_categorical_accuracy,
    "top_k_categorical_accuracy": top_k_categorical_accuracy, "TopKCategoricalAccuracy": top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
    "SparseTopKCategoricalAccuracy": sparse_top_k_categorical_accuracy,
    "auc": auc, "AUC": auc, "precision": precision, "Precision": precision, "recall": recall, "Recall": recall,
    "TruePositives": true_positives, "FalsePositives": false_positives, "TrueNegatives": true_negatives,
    "FalseNegatives": false_negatives, "F1Score": f1_score, "FBetaScore": fbeta_score, "R2Score": r2_score,
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error, "MSE": mean_squared_error,
    "MeanSquaredError": mean_squared_error,
    "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error, "MAE": mean_absolute_error,
    "MeanAbsoluteError": mean_absolute_error,
    "mean_absolute_percentage_error": mean_absolute_percentage_error, "mape": mean_absolute_percentage_error,
    "MAPE": mean_absolute_percentage_error, "MeanAbsolutePercentageError": mean_absolute_percentage_error,
    "mean_squared_logarithmic_error": mean_squared_logarithmic_error, "msle": mean_squared_logarithmic_error,
    "MSLE": mean_squared_logarithmic_error, "MeanSquaredLogarithmicError": mean_squared_logarithmic_error,
    "RootMeanSquaredError": root_mean_squared_error, "root_mean_squared_error": root_mean_squared_error,
    "CosineSimilarity": cosine_similarity, "cosine_similarity": cosine_similarity,
    "LogCoshError": log_cosh_error, "logcosh": log_cosh_error, "log_cosh": log_cosh_error,
    "hinge": hinge, "Hinge": hinge, "squared_hinge": squared_hinge, "SquaredHinge": squared_hinge,
    "categorical_hinge": categorical_hinge, "CategoricalHinge": categorical_hinge,
    "kl_divergence": kl_divergence, "kld": kl_divergence, "KLD": kl_divergence, "KLDivergence": kl_divergence,
    "poisson": poisson, "Poisson": poisson,
    "binary_crossentropy": binary_crossentropy, "BinaryCrossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy, "CategoricalCrossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "SparseCategoricalCrossentropy": sparse_categorical_crossentropy,
    "mean": mean, "Mean": mean, "sum": sum, "Sum": sum,
}


def get(identifier):
    """A :class:`Metric` by Keras name (``"mse"``, ``"AUC"``, ``"sparse_categorical_accuracy"`` ...).

    A Metric passes through; a plain callable ``fn(y_true, y_pred)`` is wrapped
    with :func:`mean_metric_wrapper`.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier in _NAMES:
            return _NAMES[identifier]()
        raise ValueError(f"Could not interpret metric identifier: {identifier!r}")
    if callable(identifier):
        return mean_metric_wrapper(identifier)
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}")
