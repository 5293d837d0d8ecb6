"""keras.models: Model, Sequential, Functional, clone_model, model_from_json (load_model lives in saving)."""

from fnflow_keras.models.functional import Functional
from fnflow_keras.models.model import Model, model_from_json
from fnflow_keras.models.sequential import Sequential


def clone_model(model, input_tensors=None, clone_function=None, call_function=None, recursive=False, **kwargs):
    """A new model with the same architecture and freshly initialized weights (see :mod:`.cloning`)."""
    from fnflow_keras.models.cloning import clone_model as _clone

    return _clone(model, input_tensors=input_tensors, clone_function=clone_function, call_function=call_function,
                  recursive=recursive, **kwargs)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):  # noqa: A002
    """Load a model saved by ``model.save`` (delegates to ``fnflow_keras.saving``)."""
    from fnflow_keras import saving

    return saving.load_model(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def save_model(model, filepath, **kwargs):
    from fnflow_keras import saving

    return saving.save_model(model, filepath, **kwargs)


__all__ = ["Model", "Sequential", "Functional", "clone_model", "model_from_json", "load_model", "save_model"]
