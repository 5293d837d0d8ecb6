"""keras.utils: to_categorical, normalize, set_random_seed, PyDataset/Sequence, serialization helpers."""

from __future__ import annotations

import random as _pyrandom

import numpy as np

from fnflow_keras.utils.serialization_lib import (
    CustomObjectScope,
    custom_object_scope,
    deserialize_keras_object,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    serialize_keras_object,
)


def to_categorical(x, num_classes=None):
    """One-hot encode integer class labels (a trailing axis of size 1 is dropped, as Keras)."""
    x = np.array(x, dtype="int64")
    shape = x.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    x = x.reshape(-1)
    if num_classes is None:
        num_classes = int(np.max(x)) + 1
    out = np.zeros((x.shape[0], num_classes), dtype="float32")
    out[np.arange(x.shape[0]), x] = 1
    return out.reshape(shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """``x`` divided by its ``order``-norm along ``axis`` (zero norms are left as zero)."""
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)


def set_random_seed(seed):
    """Seed Python's ``random``, NumPy's global generator and fnflow_keras's default seeds.

    Building the same model after the same ``set_random_seed`` gives identical weights.
    """
    if not isinstance(seed, (int, np.integer)):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed} (of type "
                         f"{type(seed)})")
    _pyrandom.seed(int(seed))
    np.random.seed(int(seed))
    from fnflow_keras import random as krandom

    krandom._reset_global(int(seed))


def __getattr__(name):
    if name in ("PyDataset", "Sequence"):
        from fnflow_keras.utils import py_dataset

        return getattr(py_dataset, name)
    if name == "Progbar":
        from fnflow_keras.trainers.progbar import Progbar

        return Progbar
    raise AttributeError(f"module 'fnflow_keras.utils' has no attribute {name!r}")


__all__ = ["to_categorical", "normalize", "set_random_seed", "PyDataset", "Sequence", "register_keras_serializable",
           "serialize_keras_object", "deserialize_keras_object", "custom_object_scope", "CustomObjectScope",
           "get_registered_object", "get_registered_name", "Progbar"]
