"""fnflow.optim: Optax-style optimizers whose defaults and update formulas are Keras 3's.

An optimizer is a :class:`GradientTransformation` ``(init, update)``; states are
pytrees of arrays. The Keras-named constructors (``sgd``, ``adam``, ``adamw``,
``rmsprop``, ``adagrad``, ``adadelta``, ``adamax``, ``nadam``, ``lion``) keep the
step count and the learning rate in the state, so ``set_hyperparam(state,
"learning_rate", v)`` changes the rate without recompiling a jitted step::

    opt = fnflow.optim.adam(1e-3)
    state = opt.init(params)
    updates, state = opt.update(grads, state, params)
    params = fnflow.optim.apply_updates(params, updates)
"""

from fnflow.optim import schedules  # noqa: F401
from fnflow.optim.adagrad import (
    ScaleByAdadeltaState,
    ScaleByAdagradState,
    adadelta,
    adagrad,
    scale_by_adadelta,
    scale_by_adagrad,
)
from fnflow.optim.adam import (
    ScaleByAdamaxState,
    ScaleByAdamState,
    ScaleByNadamState,
    adam,
    adamax,
    adamw,
    nadam,
    scale_by_adam,
    scale_by_adamax,
    scale_by_nadam,
)
from fnflow.optim.base import (
    EmptyState,
    GradientTransformation,
    apply_updates,
    chain,
    get_hyperparam,
    hyperparam_names,
    identity,
    map_grads,
    set_hyperparam,
)
from fnflow.optim.clipping import clip, clip_by_global_norm, clip_by_norm, global_norm
from fnflow.optim.lion import ScaleByLionState, lion, scale_by_lion
from fnflow.optim.rmsprop import ScaleByRmsState, rmsprop, scale_by_rms
from fnflow.optim.sgd import TraceState, sgd, trace
from fnflow.optim.transform import (
    HyperparamsState,
    MaskedState,
    ScaleByScheduleState,
    add_decayed_weights,
    inject_hyperparams,
    masked,
    scale,
    scale_by_learning_rate,
)

__all__ = [
    "EmptyState", "GradientTransformation", "HyperparamsState", "MaskedState", "ScaleByAdadeltaState",
    "ScaleByAdagradState", "ScaleByAdamState", "ScaleByAdamaxState", "ScaleByLionState", "ScaleByNadamState",
    "ScaleByRmsState", "ScaleByScheduleState", "TraceState",
    "adadelta", "adagrad", "adam", "adamax", "adamw", "add_decayed_weights", "apply_updates", "chain", "clip",
    "clip_by_global_norm", "clip_by_norm", "get_hyperparam", "global_norm", "hyperparam_names", "identity",
    "inject_hyperparams", "lion", "map_grads", "masked", "nadam", "rmsprop", "scale", "scale_by_adadelta",
    "scale_by_adagrad", "scale_by_adam", "scale_by_adamax", "scale_by_learning_rate", "scale_by_lion",
    "scale_by_nadam", "scale_by_rms", "schedules", "set_hyperparam", "sgd", "trace",
]
