"""Keras 3's native ``.keras`` format: a zip of ``metadata.json``, ``config.json`` and ``model.weights.h5``.

- ``metadata.json``: ``{"keras_version", "date_saved"}``;
- ``config.json``: the model serialized as Keras does (``module``, ``class_name``,
  ``config``, ``registered_name``, ``build_config``, ``compile_config``);
- ``model.weights.h5``: every variable (layers and optimizer) at its Keras object
  path, see :mod:`fnflow_keras.saving.weights_h5`.

Members are stored uncompressed, as Keras writes them. Loading rebuilds the
model from ``config.json`` (never running code from the file unless
``safe_mode=False``), compiles it from ``compile_config`` (building the
optimizer) and then loads the weights and the optimizer state.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import zipfile

from fnflow_keras.saving._io import atomic_path, check_readable, require_h5py

CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS = "model.weights.h5"


def serialize_model(model):
    """The ``config.json`` dict of ``model`` (architecture, build and compile configs)."""
    from fnflow_keras.utils.serialization_lib import serialize_keras_object

    config = serialize_keras_object(model)
    compile_config = model.get_compile_config() if hasattr(model, "get_compile_config") else None
    if compile_config is not None:
        config["compile_config"] = compile_config
    return config


def save_model(model, filepath, overwrite=True):
    """Write ``model`` to a ``.keras`` zip archive (atomically: the old file survives a failed save)."""
    import fnflow_keras
    from fnflow_keras.saving.weights_h5 import save_state

    filepath = os.fspath(filepath)
    if not filepath.endswith(".keras"):
        raise ValueError(f"Invalid `filepath` argument: expected a `.keras` extension. Received: filepath={filepath}")
    if not overwrite and os.path.exists(filepath):
        return
    h5py = require_h5py()
    config_json = json.dumps(serialize_model(model))
    metadata_json = json.dumps({"keras_version": fnflow_keras.__version__,
                                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")})
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        save_state(model, f)
    with atomic_path(filepath) as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
            zf.writestr(METADATA, metadata_json)
            zf.writestr(CONFIG, config_json)
            zf.writestr(WEIGHTS, buffer.getvalue())


def _open_zip(filepath):
    filepath = check_readable(filepath)
    if not zipfile.is_zipfile(filepath):
        raise ValueError(f"{filepath!r} is not a valid `.keras` file (not a zip archive).")
    return zipfile.ZipFile(filepath, "r")


def read_weights_bytes(filepath):
    """The bytes of ``model.weights.h5`` inside a ``.keras`` file."""
    with _open_zip(filepath) as zf:
        if WEIGHTS not in zf.namelist():
            raise ValueError(f"Expected a {WEIGHTS} file in {filepath!r}.")
        return zf.read(WEIGHTS)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):  # noqa: A002
    """The model saved in a ``.keras`` file: architecture, weights, compile state and optimizer state."""
    from fnflow_keras.saving.weights_h5 import load_state_from_h5
    from fnflow_keras.utils import serialization_lib as sl

    h5py = require_h5py()
    with _open_zip(filepath) as zf:
        names = zf.namelist()
        if CONFIG not in names:
            raise ValueError(f"{filepath!r} is not a valid `.keras` file: it has no {CONFIG}.")
        config = json.loads(zf.read(CONFIG))
        weights = zf.read(WEIGHTS) if WEIGHTS in names else None
    if weights is None:
        raise ValueError(f"Expected a {WEIGHTS} file in {filepath!r}.")
    compile_config = config.pop("compile_config", None)
    with sl.custom_object_scope(custom_objects or {}), sl.SafeModeScope(safe_mode):
        model = sl.deserialize_keras_object(config, custom_objects=custom_objects, safe_mode=safe_mode)
    if compile and compile_config:
        with sl.custom_object_scope(custom_objects or {}):
            model.compile_from_config(compile_config)
    with h5py.File(io.BytesIO(weights), "r") as f:
        load_state_from_h5(model, f)
    return model
