"""Keras 3's object-path weight layout (``.weights.h5`` files and ``model.weights.h5`` inside ``.keras``).

Keras names each saveable (layer or optimizer) by how it is reached from the
model: ``layers/dense_1/vars/0``, ``layers/lstm/cell/vars/2``,
``optimizer/vars/5``. A container (the model's ``layers``, a list attribute)
names its items by their snake-cased class name, numbered in order (``dense``,
``dense_1``), never by their (auto-generated) layer names, so a file fits any
instance of the same architecture. Attributes are visited as Keras visits them:
for Sequential/Functional models ``layers`` first, then the other attributes
alphabetically, private ones last; the attributes of the base Layer class are
skipped. Each saveable writes its own variables (``_trainable_variables +
_non_trainable_variables``; an optimizer its ``variables`` in Keras's order)
as datasets ``"0"``, ``"1"`` ... of ``<path>/vars``, whose ``name`` attribute
is the owner's name. Custom layers may override ``save_own_variables(store)`` /
``load_own_variables(store)`` as in Keras.
"""

from __future__ import annotations

import io
import os
import warnings
import zipfile

import numpy as np

from fnflow_keras.backend import to_snake_case
from fnflow_keras.layers.layer import Layer
from fnflow_keras.optimizers.optimizer import Optimizer
from fnflow_keras.saving._io import ReadStore, WriteStore, atomic_path, check_readable, require_h5py

# fnflow_keras internals that hold layers already reached through `layers` (Keras skips its own equivalents)
_INTERNAL = {"_functional", "_seq_layers", "_graph_layers", "_layers", "_nodes", "operations", "_operations",
             "_inbound_nodes", "_outbound_nodes", "_auto_config", "_train_vars", "_self_unconditional_dependency_names"}
_skipset = None


def _layer_skipset():
    global _skipset
    if _skipset is None:
        _skipset = set(dir(Layer(name="_saving_skipset_probe"))) | _INTERNAL
    return _skipset


def _name_key(name):
    return f"~{name}" if name.startswith("_") else name  # private attributes last, as Keras


def _is_saveable(obj):
    return isinstance(obj, (Layer, Optimizer))


def _walk(obj):
    """``(attribute, child)`` pairs of a layer, in Keras's visiting order."""
    if not isinstance(obj, Layer):
        return
    from fnflow_keras.models import Functional, Sequential

    if isinstance(obj, (Sequential, Functional)):
        yield "layers", list(obj.layers)
    skip = _layer_skipset()
    for attr in sorted(dir(obj), key=_name_key):
        if attr.startswith("__") or attr in skip:
            continue
        try:
            child = getattr(obj, attr)
        except Exception:  # a property that cannot be computed now holds nothing to save
            continue
        yield attr, child


def _join(path, name):
    return f"{path}/{name}" if path else name


# ------------------------------------------------------------------ optimizer variables in Keras's order

def keras_optimizer_variables(optimizer):
    """``optimizer.variables``: already in the order real Keras 3 saves them (``iteration``, ``learning_rate``,
    the slots interleaved per model variable)."""
    return list(optimizer.variables)


# ------------------------------------------------------------------ saving

def _overrides(obj, method):
    """Whether a layer class defines Keras's ``save_own_variables``/``load_own_variables`` hook itself."""
    return any(method in c.__dict__ for c in type(obj).__mro__ if c is not Layer and c is not object)


def _save_own(obj, store):
    if isinstance(obj, Optimizer):
        for i, v in enumerate(keras_optimizer_variables(obj)):
            store[str(i)] = v.numpy()
        return
    if _overrides(obj, "save_own_variables"):
        obj.save_own_variables(store)
        return
    for i, v in enumerate(obj._trainable_variables + obj._non_trainable_variables):
        store[str(i)] = v.numpy()


def save_state(obj, h5root, path="", visited=None):
    """Write ``obj`` (a model, layer or optimizer) and everything reachable from it under ``path``."""
    visited = set() if visited is None else visited
    if id(obj) in visited:
        return
    name = getattr(obj, "name", None)
    _save_own(obj, WriteStore(h5root, path, name if isinstance(name, str) else None))
    visited.add(id(obj))
    for attr, child in _walk(obj):
        if _is_saveable(child):
            save_state(child, h5root, _join(path, attr), visited)
        elif isinstance(child, (list, tuple, dict)):
            _save_container(child, h5root, _join(path, attr), visited, set())


def _container_items(container):
    used = {}
    items = container.values() if isinstance(container, dict) else container
    for item in items:
        if _is_saveable(item):
            base = to_snake_case(type(item).__name__)
        elif isinstance(item, (list, tuple, dict)):
            base = "container"
        else:
            continue
        if base in used:
            used[base] += 1
            yield f"{base}_{used[base]}", item
        else:
            used[base] = 0
            yield base, item


def _save_container(container, h5root, path, visited, seen):
    if id(container) in seen:
        return
    seen.add(id(container))
    for name, item in _container_items(container):
        if _is_saveable(item):
            save_state(item, h5root, _join(path, name), visited)
        else:
            _save_container(item, h5root, _join(path, name), visited, seen)


# ------------------------------------------------------------------ loading

def _load_own(obj, store, errors):
    if isinstance(obj, Optimizer):
        variables = keras_optimizer_variables(obj)
        if len(store) != len(variables):
            warnings.warn(f"Skipping variable loading for optimizer '{obj.name}', because it has {len(variables)} "
                          f"variables whereas the saved optimizer has {len(store)} variables."
                          + (" This is likely because the optimizer has not been called/built yet."
                             if not obj.built else ""), stacklevel=4)
            return
        for i, v in enumerate(variables):
            v.assign(np.asarray(store[str(i)]))
        return
    try:
        if _overrides(obj, "load_own_variables"):
            obj.load_own_variables(store)
            return
        own = obj._trainable_variables + obj._non_trainable_variables
        if len(store) != len(own):
            raise ValueError(f"Layer '{obj.name}' expected {len(own)} variables, but received {len(store)} "
                             f"variables during loading. Expected: {[v.name for v in own]}")
        for i, v in enumerate(own):
            v.assign(np.asarray(store[str(i)]))
    except Exception as e:  # collected: Keras reports every object that failed, then raises once
        errors.append((obj, e))


def load_state(obj, h5root, path="", visited=None, errors=None):
    """Read ``obj``'s variables (and those of everything reachable from it) from ``path``."""
    visited = set() if visited is None else visited
    if id(obj) in visited:
        return
    _load_own(obj, ReadStore(h5root, path), errors)
    visited.add(id(obj))
    for attr, child in _walk(obj):
        if _is_saveable(child):
            load_state(child, h5root, _join(path, attr), visited, errors)
        elif isinstance(child, (list, tuple, dict)):
            _load_container(child, h5root, _join(path, attr), visited, errors, set())


def _load_container(container, h5root, path, visited, errors, seen):
    if id(container) in seen:
        return
    seen.add(id(container))
    for name, item in _container_items(container):
        if _is_saveable(item):
            load_state(item, h5root, _join(path, name), visited, errors)
        else:
            _load_container(item, h5root, _join(path, name), visited, errors, seen)


def raise_loading_failure(errors, warn_only=False):
    """Keras's summary error for objects whose variables could not be loaded."""
    if not errors:
        return
    obj, err = errors[0]
    msg = (f"A total of {len(errors)} objects could not be loaded. Example error message for object {obj}:\n\n"
           f"{err}\n\nList of objects that could not be loaded:\n{[o for o, _ in errors]}")
    if warn_only:
        warnings.warn(msg, stacklevel=3)
    else:
        raise ValueError(msg)


def load_state_from_h5(model, h5root, skip_mismatch=False):
    errors = []
    load_state(model, h5root, "", set(), errors)
    raise_loading_failure(errors, warn_only=skip_mismatch)


# ------------------------------------------------------------------ public: save_weights / load_weights

def save_weights(model, filepath, overwrite=True):
    """Write the model's weights (and optimizer state) to a Keras 3 ``.weights.h5`` file, atomically."""
    filepath = os.fspath(filepath)
    if not filepath.endswith(".weights.h5"):
        raise ValueError(f"The filename must end in `.weights.h5`. Received: filepath={filepath}")
    if not model.built:
        raise ValueError("You are saving a model that has not yet been built. Try building the model first by "
                         "calling it on some data or by using `build()`.")
    if not overwrite and os.path.exists(filepath):
        return
    h5py = require_h5py()
    with atomic_path(filepath) as tmp:
        with h5py.File(tmp, "w") as f:
            save_state(model, f)


def load_weights(model, filepath, skip_mismatch=False, by_name=None, objects_to_skip=None):
    """Load weights from a ``.weights.h5``, a ``.keras`` or a legacy ``.h5`` file (Keras 3's dispatch)."""
    filepath = os.fspath(filepath)
    if not model.built:
        raise ValueError("You are loading weights into a model that has not yet been built. Try building the model "
                         "first by calling it on some data or by using `build()`.")
    if by_name is not None and (filepath.endswith(".weights.h5") or not filepath.endswith((".h5", ".hdf5"))):
        raise ValueError(f"`by_name` only supports loading legacy '.h5' or '.hdf5' files. Received: {filepath}")
    if not filepath.endswith((".keras", ".h5", ".hdf5")):
        raise ValueError(f"File format not supported: filepath={filepath}. Keras 3 only supports V3 `.keras` files, "
                         f"`.weights.h5` files, or legacy H5 format files (`.h5` extension).")
    check_readable(filepath)
    h5py = require_h5py()
    visited = {id(o) for o in objects_to_skip or ()}
    if filepath.endswith(".keras"):
        from fnflow_keras.saving.keras_zip import read_weights_bytes

        with h5py.File(io.BytesIO(read_weights_bytes(filepath)), "r") as f:
            errors = []
            load_state(model, f, "", visited, errors)
            raise_loading_failure(errors, warn_only=skip_mismatch)
    elif filepath.endswith(".weights.h5"):
        with h5py.File(filepath, "r") as f:
            errors = []
            load_state(model, f, "", visited, errors)
            raise_loading_failure(errors, warn_only=skip_mismatch)
    else:
        from fnflow_keras.saving import legacy_h5

        with h5py.File(filepath, "r") as f:
            group = f["model_weights"] if "layer_names" not in f.attrs and "model_weights" in f else f
            if by_name:
                legacy_h5.load_weights_from_hdf5_group_by_name(group, model, skip_mismatch)
            else:
                legacy_h5.load_weights_from_hdf5_group(group, model, skip_mismatch)


def is_zipfile(path):
    try:
        return zipfile.is_zipfile(path)
    except OSError:
        return False


__all__ = ["save_weights", "load_weights", "save_state", "load_state", "keras_optimizer_variables"]
