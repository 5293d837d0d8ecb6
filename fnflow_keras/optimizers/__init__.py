"""keras.optimizers: Keras's optimizer classes over ``fnflow.optim`` (Keras 3 formulas and defaults).

``SGD``, ``Adam``, ``AdamW``, ``RMSprop``, ``Adagrad``, ``Adadelta``, ``Adamax``,
``Nadam``, ``Lion`` take Keras's arguments (``learning_rate`` a float or a
``keras.optimizers.schedules`` object, ``weight_decay``, ``clipnorm``,
``clipvalue``, ``global_clipnorm``); ``get("adam")`` resolves the string names
used in ``compile``. Subclass :class:`Optimizer` with ``build`` and
``update_step`` for a custom optimizer.
"""

from __future__ import annotations

import fnflow.optim as O
from fnflow_keras.optimizers import schedules
from fnflow_keras.optimizers.optimizer import Optimizer

# the slots real Keras 3 creates, one tuple per `add_optimizer_variables` call (keras/src/optimizers/*.py `build`)
_KERAS_SLOT_GROUPS = {
    "SGD": (("momentum",),),
    "Adam": (("momentum", "velocity"), ("velocity_hat",)),
    "AdamW": (("momentum", "velocity"), ("velocity_hat",)),
    "Nadam": (("momentum", "velocity"),),
    "Adamax": (("momentum", "norm"),),
    "Adadelta": (("accumulated_grad", "accumulated_delta_var"),),
    "Adagrad": (("accumulator",),),
    "Lion": (("momentum",),),
    "RMSprop": (("velocity",), ("momentum",), ("average_gradient",)),
}


def _opt_class(cls_name, fn, default_lr, params, default_name, doc):
    """An Optimizer subclass with Keras's signature: ``learning_rate``, ``params`` (name -> default), common args."""

    def __init__(self, learning_rate=default_lr, *args, weight_decay=params.get("weight_decay"), clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None,
                 name=default_name, **kwargs):
        own = {k: v for k, v in params.items() if k != "weight_decay"}
        names = list(own)
        if len(args) > len(names):
            raise TypeError(f"{cls_name} takes at most {len(names) + 1} positional arguments")
        values = dict(own)
        values.update(zip(names, args))
        for k in list(kwargs):
            if k in values:
                values[k] = kwargs.pop(k)
        self._hyper = values
        for k, v in values.items():
            setattr(self, k, v)
        Optimizer.__init__(self, learning_rate, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                           global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
                           ema_overwrite_frequency=ema_overwrite_frequency, loss_scale_factor=loss_scale_factor,
                           gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)

    def _fnflow_transform(self, learning_rate, **common):
        hyper = {k: getattr(self, k) for k in self._hyper}
        if fn is O.adamw:
            common = dict(common)
            hyper["weight_decay"] = common.pop("weight_decay")
        return fn(learning_rate, **hyper, **common)

    def get_config(self):
        cfg = Optimizer.get_config(self)
        cfg.update({k: getattr(self, k) for k in self._hyper})
        return cfg

    return type(cls_name, (Optimizer,), {"__init__": __init__, "_fnflow_transform": _fnflow_transform,
                                         "get_config": get_config, "__doc__": doc,
                                         "_keras_slot_groups": _KERAS_SLOT_GROUPS.get(cls_name)})


SGD = _opt_class("SGD", O.sgd, 0.01, {"momentum": 0.0, "nesterov": False}, "SGD",
                 "Gradient descent with optional (Nesterov) momentum; Keras defaults (lr 0.01).")
Adam = _opt_class("Adam", O.adam, 0.001, {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False},
                  "adam", "Adam (Kingma & Ba) with Keras's epsilon-hat formulation.")
AdamW = _opt_class("AdamW", O.adamw, 0.001, {"weight_decay": 0.004, "beta_1": 0.9, "beta_2": 0.999,
                                              "epsilon": 1e-7, "amsgrad": False}, "adamw",
                   "Adam with decoupled weight decay (default 0.004).")
RMSprop = _opt_class("RMSprop", O.rmsprop, 0.001, {"rho": 0.9, "momentum": 0.0, "epsilon": 1e-7,
                                                    "centered": False}, "rmsprop", "RMSprop.")
Adagrad = _opt_class("Adagrad", O.adagrad, 0.001, {"initial_accumulator_value": 0.1, "epsilon": 1e-7}, "adagrad",
                     "Adagrad.")
Adadelta = _opt_class("Adadelta", O.adadelta, 0.001, {"rho": 0.95, "epsilon": 1e-7}, "adadelta", "Adadelta.")
Adamax = _opt_class("Adamax", O.adamax, 0.001, {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}, "adamax",
                    "Adamax (Adam with the infinity norm).")
Nadam = _opt_class("Nadam", O.nadam, 0.001, {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}, "nadam",
                   "Nadam (Adam with Nesterov momentum).")
Lion = _opt_class("Lion", O.lion, 0.001, {"beta_1": 0.9, "beta_2": 0.99}, "lion", "Lion (sign of momentum).")

_CLASSES = {c.__name__: c for c in (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam, Lion)}
_NAMES = {k.lower(): v for k, v in _CLASSES.items()}


def get(identifier):
    """An optimizer from a Keras identifier: an instance (passed through), a name (``"adam"``, ``"sgd"``,
    ``"rmsprop"`` ... case-insensitive, with Keras's defaults) or a config dict."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _NAMES.get(identifier.lower())
        if cls is not None:
            return cls()
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")


def serialize(optimizer):
    cls = type(optimizer)
    builtin = _CLASSES.get(cls.__name__) is cls
    from fnflow_keras.utils.serialization_lib import get_registered_name

    return {"module": "keras.optimizers" if builtin else cls.__module__, "class_name": cls.__name__,
            "config": optimizer.get_config(), "registered_name": None if builtin else get_registered_name(cls)}


def deserialize(config, custom_objects=None):
    custom_objects = custom_objects or {}
    name = config.get("class_name")
    cls = custom_objects.get(name) or _CLASSES.get(name) or _NAMES.get(str(name).lower())
    if cls is None:
        from fnflow_keras.utils import serialization_lib

        cls = serialization_lib.get_registered_object(config.get("registered_name") or name, custom_objects)
    if cls is None:
        raise ValueError(f"Unknown optimizer: {name!r}")
    return cls.from_config(config.get("config", {}))


__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "Lion",
           "schedules", "get", "serialize", "deserialize"]
