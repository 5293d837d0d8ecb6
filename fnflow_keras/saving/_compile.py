"""The compile state as Keras saves it: ``compile_config`` (.keras) and ``training_config`` (legacy .h5)."""

from __future__ import annotations

import types

from fnflow_keras.utils import serialization_lib as sl


def _serialize_fn(fn, module_name):
    """A function as Keras writes it: ``{"module", "class_name": "function", "config": name, "registered_name"}``."""
    import importlib

    name = fn.__name__
    registered = sl.get_registered_name(fn)
    if ">" in registered:
        return {"module": fn.__module__, "class_name": "function", "config": name, "registered_name": registered}
    module = importlib.import_module(f"fnflow_keras.{module_name}")
    if getattr(module, name, None) is fn:
        return {"module": f"keras.{module_name}", "class_name": "function", "config": name,
                "registered_name": name}
    return {"module": fn.__module__, "class_name": "function", "config": name, "registered_name": name}


def _serialize_entry(obj, module_name):
    from fnflow_keras import losses, metrics

    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [_serialize_entry(o, module_name) for o in obj]
    if isinstance(obj, dict):
        return {k: _serialize_entry(v, module_name) for k, v in obj.items()}
    if isinstance(obj, types.FunctionType):
        return _serialize_fn(obj, module_name)
    if isinstance(obj, losses.Loss):
        return losses.serialize(obj)
    if isinstance(obj, metrics.Metric):
        return metrics.serialize(obj)
    return sl.serialize_keras_object(obj)


def get_compile_config(model):
    """``{"optimizer", "loss", "loss_weights", "metrics", "weighted_metrics", ...}`` or None when not compiled."""
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        return None
    from fnflow_keras import optimizers

    cfg = dict(getattr(model, "_compile_config", None) or {})
    return {"optimizer": optimizers.serialize(model.optimizer),
            "loss": _serialize_entry(cfg.get("loss", getattr(model, "loss", None)), "losses"),
            "loss_weights": cfg.get("loss_weights"),
            "metrics": _serialize_entry(cfg.get("metrics"), "metrics"),
            "weighted_metrics": _serialize_entry(cfg.get("weighted_metrics"), "metrics"),
            "run_eagerly": bool(cfg.get("run_eagerly", False)), "steps_per_execution": 1,
            "jit_compile": bool(getattr(model, "jit_compile", True))}


def _lookup_fn(config, module_name, custom_objects):
    import importlib

    name, reg = config.get("config"), config.get("registered_name")
    for key in (reg, name):
        if key:
            found = sl.get_registered_object(key, custom_objects)
            if found is not None:
                return found
    module = importlib.import_module(f"fnflow_keras.{module_name}")
    fn = getattr(module, str(name), None)
    if fn is None:
        raise ValueError(f"Could not locate function {name!r}. Pass it in `custom_objects` or register it with "
                         f"`keras.saving.register_keras_serializable()`.")
    return fn


def _deserialize_entry(config, module_name, custom_objects):
    from fnflow_keras import losses, metrics

    if config is None:
        return None
    if isinstance(config, str):
        found = (custom_objects or {}).get(config) or sl.get_registered_object(config, custom_objects)
        return found if found is not None else config
    if isinstance(config, dict) and "class_name" in config:
        if config["class_name"] == "function":
            return _lookup_fn(config, module_name, custom_objects)
        deserialize = losses.deserialize if module_name == "losses" else metrics.deserialize
        try:
            return deserialize(config, custom_objects=custom_objects)
        except (ValueError, TypeError):
            return sl.deserialize_keras_object(config, custom_objects=custom_objects)
    if isinstance(config, dict):
        return {k: _deserialize_entry(v, module_name, custom_objects) for k, v in config.items()}
    if isinstance(config, (list, tuple)):
        return [_deserialize_entry(c, module_name, custom_objects) for c in config]
    raise ValueError(f"Saved compile configuration not understood: {config!r}")


def _deserialize_optimizer(config, custom_objects):
    from fnflow_keras import optimizers

    if isinstance(config, str):
        return optimizers.get(config)
    try:
        return optimizers.deserialize(config, custom_objects=custom_objects)
    except ValueError:
        return sl.deserialize_keras_object(config, custom_objects=custom_objects)


def compile_from_config(model, config, custom_objects=None):
    """``model.compile(...)`` from a saved ``compile_config``, then build the optimizer for the model's variables
    (so that the saved optimizer state can be loaded into it)."""
    args = {"optimizer": _deserialize_optimizer(config["optimizer"], custom_objects),
            "loss": _deserialize_entry(config.get("loss"), "losses", custom_objects),
            "loss_weights": config.get("loss_weights"),
            "metrics": _deserialize_entry(config.get("metrics"), "metrics", custom_objects),
            "weighted_metrics": _deserialize_entry(config.get("weighted_metrics"), "metrics", custom_objects)}
    if "run_eagerly" in config:
        args["run_eagerly"] = bool(config["run_eagerly"])
    model.compile(**args)
    if model.built:
        model.optimizer.build(model.trainable_variables)


def training_config(model):
    """Legacy .h5's ``training_config``: the compile config with ``optimizer_config`` = ``{class_name, config}``."""
    cfg = get_compile_config(model)
    if cfg is None:
        return None
    opt = cfg.pop("optimizer")
    registered = str(opt.get("registered_name") or "")
    cfg["optimizer_config"] = {"class_name": registered if ">" in registered else opt["class_name"],
                               "config": opt["config"]}
    return cfg


def compile_from_training_config(model, config, custom_objects=None):
    cfg = dict(config)
    opt = cfg.pop("optimizer_config")
    cfg["optimizer"] = {"module": "keras.optimizers", "class_name": opt["class_name"], "config": opt["config"],
                        "registered_name": opt["class_name"] if ">" in opt["class_name"] else None}
    compile_from_config(model, cfg, custom_objects)
