"""Keras's legacy HDF5 format (``model.save("x.h5")``) and legacy weight files, read by layer order or name.

File layout (as Keras 3 writes it): root attributes ``model_config`` (JSON
``{"class_name", "config"}``), ``training_config`` (JSON, when compiled),
``keras_version``, ``backend``; group ``model_weights`` with attributes
``layer_names``, ``keras_version``, ``backend`` and one group per layer (sorted
by name) whose ``weight_names`` attribute lists the variable paths
(``sequential/dense/kernel``), each stored as a dataset at that path; group
``top_level_model_weights``; and ``optimizer_weights`` with the optimizer's
variables in Keras's order. Long name lists are split into ``name0``,
``name1`` ... attributes, as Keras does, to stay under HDF5's 64 KB header limit.
"""

from __future__ import annotations

import json
import os
import warnings

import numpy as np

from fnflow_keras.saving._io import atomic_path, check_readable, require_h5py

HDF5_OBJECT_HEADER_LIMIT = 64512
KERAS_VERSION = "3.0.0"
BACKEND = "fnflow"


def save_attributes_to_hdf5_group(group, name, data):
    """Store a list of strings/bytes as ``group.attrs[name]`` (chunked into ``name0``, ``name1`` ... when big)."""
    bad = [x for x in data if len(x) > HDF5_OBJECT_HEADER_LIMIT]
    if bad:
        raise RuntimeError(f"The following attributes cannot be saved to HDF5 file because they are larger than "
                           f"{HDF5_OBJECT_HEADER_LIMIT} bytes: {bad}")
    data_npy = np.asarray(data)
    num_chunks = 1
    chunks = np.array_split(data_npy, num_chunks)
    while any(c.nbytes > HDF5_OBJECT_HEADER_LIMIT for c in chunks):
        num_chunks += 1
        chunks = np.array_split(data_npy, num_chunks)
    if num_chunks > 1:
        for i, chunk in enumerate(chunks):
            group.attrs[f"{name}{i}"] = chunk
    else:
        group.attrs[name] = data


def load_attributes_from_hdf5_group(group, name):
    """The list stored by :func:`save_attributes_to_hdf5_group` (as str)."""
    def decode(values):
        return [n.decode("utf8") if hasattr(n, "decode") else str(n) for n in values]

    if name in group.attrs:
        return decode(group.attrs[name])
    data, i = [], 0
    while f"{name}{i}" in group.attrs:
        data.extend(decode(group.attrs[f"{name}{i}"]))
        i += 1
    return data


def _legacy_weights(layer):
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _unique_names(variables):
    names, used = [], set()
    for v in variables:
        name = str(getattr(v, "path", None) or v.name)
        base, k = name, 1
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        names.append(name)
    return names


def _write_datasets(group, names, values):
    save_attributes_to_hdf5_group(group, "weight_names", [n.encode("utf8") for n in names])
    for name, val in zip(names, values):
        val = np.asarray(val)
        ds = group.create_dataset(name, val.shape, dtype=val.dtype)
        if val.shape:
            ds[:] = val
        else:
            ds[()] = val


def save_weights_to_hdf5_group(group, model):
    """Write ``model``'s weights layer by layer (Keras's legacy layout)."""
    layers = list(model.layers)
    save_attributes_to_hdf5_group(group, "layer_names", [layer.name.encode("utf8") for layer in layers])
    group.attrs["backend"] = BACKEND.encode("utf8")
    group.attrs["keras_version"] = KERAS_VERSION.encode("utf8")
    for layer in sorted(layers, key=lambda lay: lay.name):
        weights = _legacy_weights(layer)
        _write_datasets(group.create_group(layer.name), _unique_names(weights), [w.numpy() for w in weights])
    own = [v for v in model._trainable_variables + model._non_trainable_variables]
    _write_datasets(group.create_group("top_level_model_weights"), _unique_names(own), [w.numpy() for w in own])


def _optimizer_names(optimizer, variables):
    names = []
    for v in variables:
        path = str(getattr(v, "path", None) or v.name)
        names.append(path if "/" in path else f"{optimizer.name}/{path}")
    used, out = set(), []
    for n in names:
        base, k = n, 1
        while n in used:
            n, k = f"{base}_{k}", k + 1
        used.add(n)
        out.append(n)
    return out


def save_optimizer_weights_to_hdf5_group(f, optimizer):
    from fnflow_keras.saving.weights_h5 import keras_optimizer_variables

    variables = keras_optimizer_variables(optimizer)
    if variables:
        _write_datasets(f.create_group("optimizer_weights"), _optimizer_names(optimizer, variables),
                        [v.numpy() for v in variables])


def _read_datasets(group):
    h5py = require_h5py()
    out = []
    for name in load_attributes_from_hdf5_group(group, "weight_names"):
        link = group.get(name, getlink=True)
        if isinstance(link, (h5py.ExternalLink, h5py.SoftLink)):
            raise ValueError(f"Not allowed: H5 file with {type(link).__name__}")
        ds = group[name]
        if not isinstance(ds, h5py.Dataset) or ds.external or ds.is_virtual:
            raise ValueError(f"Invalid H5 file: {ds.name} is not a plain dataset")
        out.append(np.asarray(ds))
    return out


def _set_weights(variables, values, name, skip_mismatch=False):
    for var, value in zip(variables, values):
        if tuple(var.shape) != tuple(value.shape):
            msg = (f"Shape mismatch in {name} for weight {var.path}. Weight expects shape {tuple(var.shape)}. "
                   f"Received saved weight with shape {tuple(value.shape)}")
            if skip_mismatch:
                warnings.warn("Skipping loading weights: " + msg, stacklevel=3)
                continue
            raise ValueError(msg)
        var.assign(value)


def load_weights_from_hdf5_group(group, model, skip_mismatch=False):
    """Topological loading: the i-th saved layer with weights goes to the i-th model layer with weights."""
    layers = [layer for layer in model.layers if _legacy_weights(layer)]
    names = [n for n in load_attributes_from_hdf5_group(group, "layer_names")
             if load_attributes_from_hdf5_group(group[n], "weight_names")]
    if len(names) != len(layers):
        raise ValueError(f"Layer count mismatch when loading weights from file. Model expected {len(layers)} "
                         f"layers, found {len(names)} saved layers.")
    for k, (name, layer) in enumerate(zip(names, layers)):
        values = _read_datasets(group[name])
        weights = _legacy_weights(layer)
        if len(values) != len(weights):
            raise ValueError(f"Weight count mismatch for layer #{k} (named {layer.name} in the current model, {name} "
                             f"in the save file). Layer expects {len(weights)} weight(s). Received {len(values)} "
                             f"saved weight(s)")
        _set_weights(weights, values, f"layer #{k} (named {layer.name})", skip_mismatch)
    _load_top_level(group, model, skip_mismatch)


def load_weights_from_hdf5_group_by_name(group, model, skip_mismatch=False):
    """Name-based loading: saved layer groups go to the model's layers of the same name; others are skipped."""
    index = {}
    for layer in model.layers:
        index.setdefault(layer.name, []).append(layer)
    for k, name in enumerate(load_attributes_from_hdf5_group(group, "layer_names")):
        values = _read_datasets(group[name])
        for layer in index.get(name, []):
            weights = _legacy_weights(layer)
            if len(values) != len(weights):
                msg = (f"Weight count mismatch for layer #{k} (named {layer.name}). Layer expects {len(weights)} "
                       f"weight(s). Received {len(values)} saved weight(s)")
                if skip_mismatch:
                    warnings.warn("Skipping loading of weights: " + msg, stacklevel=2)
                    continue
                raise ValueError(msg)
            _set_weights(weights, values, f"layer #{k} (named {layer.name})", skip_mismatch)
    _load_top_level(group, model, skip_mismatch)


def _load_top_level(group, model, skip_mismatch):
    if "top_level_model_weights" not in group:
        return
    own = model._trainable_variables + model._non_trainable_variables
    values = _read_datasets(group["top_level_model_weights"])
    if len(values) != len(own):
        msg = (f"Weight count mismatch for top-level weights of model. Model expects {len(own)} top-level weight(s). "
               f"Received {len(values)} saved top-level weight(s)")
        if skip_mismatch:
            warnings.warn(msg, stacklevel=3)
            return
        raise ValueError(msg)
    _set_weights(own, values, "top-level model", skip_mismatch)


def save_model_to_hdf5(model, filepath, overwrite=True, include_optimizer=True):
    """Write the whole model (architecture, weights, compile state, optimizer state) to a legacy .h5 file."""
    from fnflow_keras.saving._compile import training_config

    h5py = require_h5py()
    filepath = os.fspath(filepath)
    if not overwrite and os.path.exists(filepath):
        return
    from fnflow_keras.utils.serialization_lib import serialize_keras_object

    model_config = {"class_name": type(model).__name__, "config": serialize_keras_object(model)["config"]}
    with atomic_path(filepath) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["keras_version"] = KERAS_VERSION
            f.attrs["backend"] = BACKEND
            f.attrs["model_config"] = json.dumps(model_config).encode("utf8")
            tc = training_config(model) if include_optimizer else None
            if tc is not None:
                f.attrs["training_config"] = json.dumps(tc).encode("utf8")
            save_weights_to_hdf5_group(f.create_group("model_weights"), model)
            if include_optimizer and tc is not None:
                save_optimizer_weights_to_hdf5_group(f, model.optimizer)


def load_model_from_hdf5(filepath, custom_objects=None, compile=True, safe_mode=True):  # noqa: A002
    """A model (compiled, with its optimizer state, when the file has a training config) from a legacy .h5 file."""
    from fnflow_keras.saving._compile import compile_from_training_config
    from fnflow_keras.saving.weights_h5 import keras_optimizer_variables
    from fnflow_keras.utils import serialization_lib as sl

    h5py = require_h5py()
    filepath = check_readable(filepath)
    with h5py.File(filepath, "r") as f:
        model_config = f.attrs.get("model_config")
        if model_config is None:
            raise ValueError(f"No model config found in the file at {filepath}.")
        if hasattr(model_config, "decode"):
            model_config = model_config.decode("utf-8")
        with sl.custom_object_scope(custom_objects or {}), sl.SafeModeScope(safe_mode):
            config = json.loads(model_config)
            model = sl.deserialize_keras_object(config, custom_objects=custom_objects, safe_mode=safe_mode)
        load_weights_from_hdf5_group(f["model_weights"], model)
        if not compile:
            return model
        tc = f.attrs.get("training_config")
        if tc is None:
            warnings.warn("No training configuration found in the save file, so the model was *not* compiled. "
                          "Compile it manually.", stacklevel=2)
            return model
        if hasattr(tc, "decode"):
            tc = tc.decode("utf-8")
        compile_from_training_config(model, json.loads(tc), custom_objects)
        if "optimizer_weights" in f:
            values = _read_datasets(f["optimizer_weights"])
            variables = keras_optimizer_variables(model.optimizer)
            if len(values) != len(variables) or any(tuple(v.shape) != tuple(x.shape)
                                                    for v, x in zip(variables, values)):
                warnings.warn("Error in loading the saved optimizer state. As a result, your model is starting with "
                              "a freshly initialized optimizer.", stacklevel=2)
            else:
                for v, x in zip(variables, values):
                    v.assign(x)
    return model
