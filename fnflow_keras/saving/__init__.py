"""keras.saving: save and load models and weights in Keras 3's own file formats.

``save_model(model, "x.keras")`` (native zip), ``save_model(model, "x.h5")``
(legacy HDF5), ``save_weights(model, "x.weights.h5")``, ``load_model`` and
``load_weights`` (which also reads ``.keras`` and legacy ``.h5`` files). Files
move both ways between fnflow_keras and real Keras 3. Every write is atomic.
h5py is needed (``pip install fnflow[h5]``).
"""

from __future__ import annotations

import os
import zipfile

from fnflow_keras.saving._io import check_readable
from fnflow_keras.saving.serialization_lib import (
    CustomObjectScope,
    SafeModeScope,
    custom_object_scope,
    deserialize_keras_object,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    serialize_keras_object,
)


def save_model(model, filepath, overwrite=True, zipped=None, **kwargs):
    """Save ``model`` to ``filepath``: ``.keras`` (recommended) or ``.h5``/``.hdf5`` (legacy)."""
    include_optimizer = kwargs.pop("include_optimizer", True)
    save_format = kwargs.pop("save_format", None)
    if kwargs:
        raise ValueError(f"The following argument(s) are not supported: {list(kwargs.keys())}")
    filepath_str = os.fspath(filepath)
    if save_format and not filepath_str.endswith((".h5", ".hdf5", ".keras")):
        raise ValueError("The `save_format` argument is deprecated in Keras 3. Please remove this argument and pass "
                         f"a file path with either `.keras` or `.h5` extension. Received: save_format={save_format}")
    if zipped is False:
        raise NotImplementedError("zipped=False (saving to a folder) is not supported; save to a `.keras` file")
    if filepath_str.endswith(".keras"):
        from fnflow_keras.saving import keras_zip

        return keras_zip.save_model(model, filepath_str, overwrite=overwrite)
    if filepath_str.endswith((".h5", ".hdf5")):
        from fnflow_keras.saving import legacy_h5

        return legacy_h5.save_model_to_hdf5(model, filepath_str, overwrite, include_optimizer)
    raise ValueError("Invalid filepath extension for saving. Please add either a `.keras` extension for the native "
                     f"Keras format (recommended) or a `.h5` extension. Received: filepath={filepath_str}.")


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):  # noqa: A002
    """Load a model saved by ``model.save`` (fnflow_keras or real Keras 3): ``.keras`` or legacy ``.h5``."""
    filepath_str = os.fspath(filepath)
    if filepath_str.endswith(".keras"):
        check_readable(filepath_str)
        if zipfile.is_zipfile(filepath_str):
            from fnflow_keras.saving import keras_zip

            return keras_zip.load_model(filepath_str, custom_objects=custom_objects, compile=compile,
                                        safe_mode=safe_mode)
        raise ValueError(f"{filepath_str!r} is not a valid `.keras` file (not a zip archive).")
    if filepath_str.endswith((".h5", ".hdf5")):
        from fnflow_keras.saving import legacy_h5

        return legacy_h5.load_model_from_hdf5(filepath_str, custom_objects=custom_objects, compile=compile,
                                              safe_mode=safe_mode)
    raise ValueError(f"File format not supported: filepath={filepath_str}. Keras 3 only supports V3 `.keras` files "
                     f"and legacy H5 format files (`.h5` extension).")


def save_weights(model, filepath, overwrite=True, max_shard_size=None):
    """Save the weights (and optimizer state) of ``model`` to a ``.weights.h5`` file."""
    if max_shard_size is not None:
        raise NotImplementedError("sharded weights (max_shard_size) are not supported yet")
    from fnflow_keras.saving import weights_h5

    return weights_h5.save_weights(model, filepath, overwrite=overwrite)


def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    """Load weights into ``model`` from ``.weights.h5``, ``.keras`` or legacy ``.h5`` (``by_name=True`` there)."""
    by_name = kwargs.pop("by_name", None)
    objects_to_skip = kwargs.pop("objects_to_skip", None)
    if kwargs:
        raise ValueError(f"Invalid keyword arguments: {kwargs}")
    from fnflow_keras.saving import weights_h5

    return weights_h5.load_weights(model, filepath, skip_mismatch=skip_mismatch, by_name=by_name,
                                   objects_to_skip=objects_to_skip)


def get_custom_objects():
    """The global registry of ``register_keras_serializable`` objects (``"package>Name" -> object``)."""
    from fnflow_keras.utils.serialization_lib import _REGISTERED

    return _REGISTERED


__all__ = ["save_model", "load_model", "save_weights", "load_weights", "register_keras_serializable",
           "get_registered_object", "get_registered_name", "serialize_keras_object", "deserialize_keras_object",
           "custom_object_scope", "CustomObjectScope", "SafeModeScope", "get_custom_objects"]
