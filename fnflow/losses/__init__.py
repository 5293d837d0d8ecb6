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

from fnflow.losses._util import EPSILON, divide_no_nan, squeeze_or_expand_to_same_rank
from fnflow.losses.hinge import categorical_hinge, hinge, squared_hinge
from fnflow.losses.probabilistic import (
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    kl_divergence,
    poisson,
    sparse_categorical_crossentropy,
)
from fnflow.losses.reduction import REDUCTIONS, Loss, get, loss_mask, reduce_loss
from fnflow.losses.regression import (
    cosine_similarity,
    huber,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)

__all__ = [
    "EPSILON", "REDUCTIONS", "Loss", "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
    "categorical_focal_crossentropy", "categorical_hinge", "cosine_similarity", "divide_no_nan", "get", "hinge",
    "huber", "kl_divergence", "kld", "log_cosh", "logcosh", "loss_mask", "mae", "mape", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_error", "mean_squared_logarithmic_error", "mse", "msle",
    "poisson", "reduce_loss", "sparse_categorical_crossentropy", "squared_hinge",
    "squeeze_or_expand_to_same_rank",
]

# Keras's short aliases
mse = mean_squared_error
mae = mean_absolute_error
mape = mean_absolute_percentage_error
msle = mean_squared_logarithmic_error
kld = kl_divergence
logcosh = log_cosh
