"""fnflow_keras: ``import fnflow_keras as keras`` runs everyday Keras 3 code on fnflow's pure functions."""

import importlib as _importlib

from fnflow_keras import (
    activations,
    backend,
    constraints,
    initializers,
    layers,
    models,
    ops,
    random,
    regularizers,
    utils,
)
from fnflow_keras.layers import Input, Layer
from fnflow_keras.models import Model, Sequential
from fnflow_keras.variables import StatelessScope, Variable

__version__ = "3.0.0"

# parts written beside this core (trainer side); imported when present
for _mod in ("optimizers", "losses", "metrics", "callbacks", "saving", "datasets", "trainers", "config"):
    try:
        globals()[_mod] = _importlib.import_module(f"fnflow_keras.{_mod}")
    except ModuleNotFoundError as _e:
        if _e.name != f"fnflow_keras.{_mod}":
            raise

__all__ = ["Input", "Layer", "Model", "Sequential", "Variable", "StatelessScope", "activations", "backend",
           "constraints", "initializers", "layers", "models", "ops", "random", "regularizers", "utils"]
