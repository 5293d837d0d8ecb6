"""Keras 3's object serialization: ``{"module", "class_name", "config", "registered_name"}`` dicts.

``serialize_keras_object(obj)`` / ``deserialize_keras_object(config, custom_objects, safe_mode)``
work for layers, models, initializers, regularizers, activations and any class
registered with ``register_keras_serializable`` (or passed in ``custom_objects``,
or active in a ``custom_object_scope``). Other parts of the shim (optimizers,
losses, saving) register their modules with :func:`register_module`.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
import types

import numpy as np

_REGISTERED = {}  # "package>Name" -> class
_MODULES = {}  # "keras.layers" -> python module name(s) to search
_local = threading.local()


def register_module(keras_module: str, python_module: str) -> None:
    """Tell the deserializer where classes of ``keras_module`` (e.g. "keras.optimizers") live."""
    _MODULES.setdefault(keras_module, [])
    if python_module not in _MODULES[keras_module]:
        _MODULES[keras_module].append(python_module)


for _k, _m in [("keras.layers", "fnflow_keras.layers"), ("keras.models", "fnflow_keras.models"),
               ("keras.src.models.functional", "fnflow_keras.models"), ("keras.src.models.sequential",
                                                                         "fnflow_keras.models"),
               ("keras.initializers", "fnflow_keras.initializers"), ("keras.regularizers", "fnflow_keras.regularizers"),
               ("keras.activations", "fnflow_keras.activations"), ("keras.optimizers", "fnflow_keras.optimizers"),
               ("keras.losses", "fnflow_keras.losses"), ("keras.metrics", "fnflow_keras.metrics"),
               ("keras", "fnflow_keras")]:
    register_module(_k, _m)


_NAMES_BY_OBJECT = {}  # class or function -> "package>Name" (the object itself, never its subclasses)


class _OwnRegisteredName:
    """``cls._keras_registered_name``: the registered name of exactly that class; a subclass that was not
    registered itself reads its own ``__name__`` (as Keras's ``get_registered_name``), not its parent's."""

    def __get__(self, obj, owner=None):
        owner = owner if owner is not None else type(obj)
        return _NAMES_BY_OBJECT.get(owner, owner.__name__)


def register_keras_serializable(package="Custom", name=None):
    """Decorator: make a class or function loadable by name (``"package>Name"``)."""

    def deco(obj):
        key = f"{package}>{name or obj.__name__}"
        if key in _REGISTERED and _REGISTERED[key] is not obj:
            _NAMES_BY_OBJECT.pop(_REGISTERED[key], None)
        _REGISTERED[key] = obj
        _NAMES_BY_OBJECT[obj] = key
        if isinstance(obj, type):
            obj._keras_registered_name = _OwnRegisteredName()
        else:
            obj._keras_registered_name = key
        return obj

    return deco


def get_registered_name(obj) -> str:
    """The name ``obj`` (a class or function) was registered under, else its ``__name__``.

    Looked up for the object itself: an unregistered subclass of a registered class is not its parent."""
    try:
        found = _NAMES_BY_OBJECT.get(obj)
    except TypeError:  # unhashable
        found = None
    return found or getattr(obj, "__name__", type(obj).__name__)


def _registered_name_or_none(obj):
    try:
        return _NAMES_BY_OBJECT.get(obj)
    except TypeError:
        return None


def get_registered_object(name, custom_objects=None, module_objects=None):
    for table in (_scope_objects(), custom_objects or {}, _REGISTERED, module_objects or {}):
        if name in table:
            return table[name]
    return None


def _scope_objects():
    stack = getattr(_local, "scopes", [])
    out = {}
    for d in stack:
        out.update(d)
    return out


@contextlib.contextmanager
def custom_object_scope(custom_objects):
    """Within it, ``custom_objects`` are known to every deserializer."""
    if not hasattr(_local, "scopes"):
        _local.scopes = []
    _local.scopes.append(dict(custom_objects or {}))
    try:
        yield
    finally:
        _local.scopes.pop()


CustomObjectScope = custom_object_scope


# Built-in classes whose Keras 3 export is not ``keras.<their submodule>`` (keras.src.api_export names them):
# the base classes are exported at the top level, Functional is not exported (Keras writes its source module).
_KERAS_MODULE_OF_CLASS = {"Layer": "keras", "Model": "keras", "Sequential": "keras", "Initializer": "keras",
                          "Regularizer": "keras", "Constraint": "keras.constraints", "Optimizer": "keras",
                          "Loss": "keras", "Metric": "keras", "DTypePolicy": "keras",
                          "Functional": "keras.src.models.functional", "LossFunctionWrapper": "keras.src.losses.losses"}
_NOT_EXPORTED = {"Functional", "LossFunctionWrapper"}
_KERAS_SUBMODULES = ("layers", "models", "initializers", "regularizers", "constraints", "activations",
                     "optimizers", "losses", "metrics")


def _is_builtin(cls):
    return cls.__module__.startswith("fnflow_keras.") and _registered_name_or_none(cls) is None


def _module_of(obj):
    """The ``module`` Keras 3 writes: the public API module of a built-in class (``keras.layers`` for Dense,
    ``keras`` for Sequential, ``keras.src.models.functional`` for Functional), else the class's own module."""
    cls = obj if isinstance(obj, type) else type(obj)
    mod = cls.__module__
    if not _is_builtin(cls):
        return mod
    if cls.__name__ in _KERAS_MODULE_OF_CLASS:
        return _KERAS_MODULE_OF_CLASS[cls.__name__]
    parts = mod.split(".")
    if len(parts) > 1 and parts[1] in _KERAS_SUBMODULES:
        if parts[1:3] == ["optimizers", "schedules"]:
            return "keras.optimizers.schedules"
        return f"keras.{parts[1]}"
    return mod


def _class_registered_name(cls):
    """Keras's ``registered_name``: None for exported built-ins, the registered or class name otherwise."""
    if _is_builtin(cls) and cls.__name__ not in _NOT_EXPORTED:
        return None
    return get_registered_name(cls)


def _plain(value):
    """Config values as JSON-friendly Python (tuples become lists, NumPy scalars become numbers)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def serialize_keras_object(obj):
    """A JSON-friendly description of ``obj`` (None, plain values and strings pass through)."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(o) for o in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if isinstance(obj, types.FunctionType) and obj.__name__ != "<lambda>":
        name = get_registered_name(obj)
        from fnflow_keras import activations

        if getattr(activations, obj.__name__, None) is obj:
            return obj.__name__
        return {"module": obj.__module__, "class_name": "function", "config": obj.__name__,
                "registered_name": name if ">" in name else None}
    if hasattr(obj, "get_config"):
        config = _plain(obj.get_config())
        out = {"module": _module_of(obj), "class_name": type(obj).__name__, "config": config,
               "registered_name": _class_registered_name(type(obj))}
        build_config = getattr(obj, "get_build_config", None)
        if build_config is not None:
            bc = build_config()
            if bc is not None:
                out["build_config"] = _plain(bc)
        return out
    raise TypeError(f"serialize_keras_object: cannot serialize {obj!r}")


def _find_class(class_name, module, registered_name, custom_objects):
    for name in (registered_name, class_name):
        if name:
            found = get_registered_object(name, custom_objects)
            if found is not None:
                return found
    modules = list(_MODULES.get(module, [])) if module else []
    if module and module.startswith("keras.src."):
        parts = module.split(".")
        if len(parts) > 2:
            modules += _MODULES.get(f"keras.{parts[2]}", [])
    for key in ("keras.layers", "keras.models", "keras"):
        modules += _MODULES.get(key, [])
    for m in modules:
        try:
            mod = importlib.import_module(m)
        except ImportError:
            continue
        obj = getattr(mod, class_name, None)
        if obj is not None:
            return obj
    return None


def deserialize_keras_object(config, custom_objects=None, safe_mode=None, **kwargs):
    """The object described by ``config`` (the inverse of :func:`serialize_keras_object`)."""
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, str):
        found = get_registered_object(config, custom_objects)
        return found if found is not None else config
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(c, custom_objects, safe_mode) for c in config]
    if not isinstance(config, dict) or "class_name" not in config:
        return config
    class_name = config["class_name"]
    if class_name == "function":
        name = config.get("registered_name") or config["config"]
        fn = get_registered_object(name, custom_objects) or get_registered_object(config["config"], custom_objects)
        if fn is None:
            try:
                fn = getattr(importlib.import_module(config["module"]), config["config"])
            except (ImportError, AttributeError):
                raise ValueError(f"Could not locate function {config['config']!r}; pass it in custom_objects") \
                    from None
        return fn
    cls = _find_class(class_name, config.get("module"), config.get("registered_name"), custom_objects)
    if cls is None:
        raise TypeError(f"Could not locate class {class_name!r}. Make sure custom classes are decorated with "
                        f"`@keras.saving.register_keras_serializable()` or passed in custom_objects.")
    inner = config.get("config", {})
    with custom_object_scope(custom_objects or {}), _safe_mode(safe_mode):
        if hasattr(cls, "from_config"):
            obj = cls.from_config(inner)
        else:
            obj = cls(**inner)
        build_config = config.get("build_config")
        if build_config and hasattr(obj, "build_from_config") and not getattr(obj, "built", True):
            obj.build_from_config(build_config)
    return obj


@contextlib.contextmanager
def _safe_mode(value):
    prev = getattr(_local, "safe_mode", None)
    _local.safe_mode = value if value is not None else prev
    try:
        yield
    finally:
        _local.safe_mode = prev


def in_safe_mode():
    """Whether deserialization currently refuses to load Python bytecode (``Lambda`` functions)."""
    value = getattr(_local, "safe_mode", None)
    return True if value is None else value


class SafeModeScope:
    """``with SafeModeScope(False):`` allows loading lambdas (as ``keras.config.enable_unsafe_deserialization``)."""

    def __init__(self, safe_mode=True):
        self.safe_mode = safe_mode

    def __enter__(self):
        self._prev = getattr(_local, "safe_mode", None)
        _local.safe_mode = self.safe_mode

    def __exit__(self, *exc):
        _local.safe_mode = self._prev


__all__ = ["serialize_keras_object", "deserialize_keras_object", "register_keras_serializable",
           "register_module", "custom_object_scope", "CustomObjectScope", "get_registered_object",
           "get_registered_name", "in_safe_mode", "SafeModeScope"]
