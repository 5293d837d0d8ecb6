"""keras.backend: global configuration (float type, epsilon, image data format), naming and sessions.

Keras keeps a few process-wide settings; so does this shim. ``clear_session()``
resets the automatic layer names (``dense``, ``dense_1`` ...) so a fresh model
gets the first names again, as in Keras.
"""

from __future__ import annotations

import numpy as np

from fnflow_keras.backend.naming import auto_name, current_path, name_scope, reset_names, to_snake_case

_CONFIG = {"floatx": "float32", "epsilon": 1e-7, "image_data_format": "channels_last"}


def floatx() -> str:
    """The default float type as a string (``"float32"``)."""
    return _CONFIG["floatx"]


def set_floatx(value: str) -> None:
    """Set the default float type (``"float16"``, ``"float32"`` or ``"float64"``)."""
    if value not in ("float16", "bfloat16", "float32", "float64"):
        raise ValueError(f"set_floatx: unknown float type {value!r}; expected float16, float32 or float64")
    _CONFIG["floatx"] = str(value)


def epsilon() -> float:
    """The fuzz factor used in numeric expressions (``1e-7``)."""
    return _CONFIG["epsilon"]


def set_epsilon(value: float) -> None:
    """Set the fuzz factor."""
    _CONFIG["epsilon"] = float(value)


def image_data_format() -> str:
    """``"channels_last"`` (the default) or ``"channels_first"``."""
    return _CONFIG["image_data_format"]


def set_image_data_format(data_format: str) -> None:
    """Set the default image data format."""
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"set_image_data_format: expected 'channels_last' or 'channels_first', got {data_format!r}")
    _CONFIG["image_data_format"] = data_format


def standardize_data_format(data_format):
    """``data_format`` or the global default, checked."""
    if data_format is None:
        return image_data_format()
    data_format = str(data_format).lower()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return data_format


def standardize_dtype(dtype) -> str:
    """A dtype as Keras's string name (``None`` means ``floatx()``)."""
    if dtype is None:
        return floatx()
    if hasattr(dtype, "name") and not isinstance(dtype, np.dtype) and not isinstance(dtype, type):
        dtype = dtype.name
    return np.dtype(dtype).name


def clear_session() -> None:
    """Reset the global state: automatic layer names start again from ``dense``, ``dense_1`` ..."""
    reset_names()


def backend() -> str:
    """The name of the backend (``"fnflow"``)."""
    return "fnflow"


def is_keras_tensor(x) -> bool:
    """Whether ``x`` is a symbolic tensor of the Functional API."""
    from fnflow_keras.layers.input_layer import KerasTensor

    return isinstance(x, KerasTensor)


__all__ = ["floatx", "set_floatx", "epsilon", "set_epsilon", "image_data_format", "set_image_data_format",
           "standardize_data_format", "standardize_dtype", "clear_session", "backend", "is_keras_tensor",
           "auto_name", "name_scope", "current_path", "to_snake_case"]
