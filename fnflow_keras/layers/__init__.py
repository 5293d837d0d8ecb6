"""keras.layers: the Layer base class and the built-in layers."""

import importlib as _importlib

from fnflow_keras.layers.core import (  # noqa: F401
    Activation,
    Dense,
    Dropout,
    EinsumDense,
    Flatten,
    Identity,
    Lambda,
    Masking,
    Permute,
    RepeatVector,
    Reshape,
)
from fnflow_keras.layers.input_layer import Input, InputLayer, KerasTensor  # noqa: F401
from fnflow_keras.layers.layer import Layer  # noqa: F401

_OPTIONAL = ["merging", "conv", "depthwise_conv", "pooling", "normalization", "regularization", "rnn", "attention",
             "embedding", "activations", "reshaping", "preprocessing", "image_preprocessing", "wrappers"]
for _mod in _OPTIONAL:
    try:
        _m = _importlib.import_module(f"fnflow_keras.layers.{_mod}")
    except ModuleNotFoundError as _e:  # a family not written yet
        if _e.name != f"fnflow_keras.layers.{_mod}":
            raise
        continue
    for _name in getattr(_m, "__all__", []):
        globals()[_name] = getattr(_m, _name)


def serialize(layer):
    from fnflow_keras.utils.serialization_lib import serialize_keras_object

    return serialize_keras_object(layer)


def deserialize(config, custom_objects=None):
    from fnflow_keras.utils.serialization_lib import deserialize_keras_object

    return deserialize_keras_object(config, custom_objects)
