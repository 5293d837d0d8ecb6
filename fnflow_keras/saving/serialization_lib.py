"""``keras.saving``'s serialization API.

The implementation lives in :mod:`fnflow_keras.utils.serialization_lib` (written
with the Keras core); this module is its ``keras.saving`` face.
"""

from fnflow_keras.utils.serialization_lib import (
    CustomObjectScope,
    SafeModeScope,
    custom_object_scope,
    deserialize_keras_object,
    get_registered_name,
    get_registered_object,
    in_safe_mode,
    register_keras_serializable,
    serialize_keras_object,
)

__all__ = ["CustomObjectScope", "SafeModeScope", "custom_object_scope", "deserialize_keras_object",
           "get_registered_name", "get_registered_object", "in_safe_mode", "register_keras_serializable",
           "serialize_keras_object"]
