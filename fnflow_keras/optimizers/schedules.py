"""keras.optimizers.schedules: the learning-rate schedules of ``fnflow.optim.schedules`` under Keras's names.

A schedule is called with the step count (``optimizer.iterations``) and works
on traced values, so it is evaluated inside the jitted train step. Subclass
:class:`LearningRateSchedule` (``__call__(step)`` and ``get_config()``) for your own.
"""

from __future__ import annotations

from fnflow.optim.schedules import (
    CosineDecay,
    CosineDecayRestarts,
    ExponentialDecay,
    InverseTimeDecay,
    LearningRateSchedule,
    PiecewiseConstantDecay,
    PolynomialDecay,
)

_CLASSES = {c.__name__: c for c in (CosineDecay, CosineDecayRestarts, ExponentialDecay, InverseTimeDecay,
                                    LearningRateSchedule, PiecewiseConstantDecay, PolynomialDecay)}


def serialize(schedule):
    cls = type(schedule)
    builtin = _CLASSES.get(cls.__name__) is cls
    return {"module": "keras.optimizers.schedules" if builtin else cls.__module__, "class_name": cls.__name__,
            "config": schedule.get_config(), "registered_name": None if builtin else _registered_name(cls)}


def _registered_name(cls):
    from fnflow_keras.utils.serialization_lib import get_registered_name

    return get_registered_name(cls)


def deserialize(config, custom_objects=None):
    custom_objects = custom_objects or {}
    name = config.get("class_name")
    cls = custom_objects.get(name) or _CLASSES.get(name)
    if cls is None:
        from fnflow_keras.utils import serialization_lib

        cls = serialization_lib.get_registered_object(config.get("registered_name") or name, custom_objects)
    if cls is None:
        raise ValueError(f"Unknown learning rate schedule: {name!r}")
    return cls.from_config(config.get("config", {}))


__all__ = ["CosineDecay", "CosineDecayRestarts", "ExponentialDecay", "InverseTimeDecay", "LearningRateSchedule",
           "PiecewiseConstantDecay", "PolynomialDecay", "serialize", "deserialize"]
