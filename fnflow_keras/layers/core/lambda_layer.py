"""Lambda: wrap a Python function as a layer (saved as bytecode; loading needs ``safe_mode=False``)."""

from __future__ import annotations

import base64
import inspect
import marshal
import types

from fnflow_keras.layers.layer import Layer
from fnflow_keras.utils import serialization_lib


class Lambda(Layer):
    """``Lambda(function, output_shape=None, mask=None, arguments=None)``: ``function(inputs, **arguments)``."""

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self.arguments = arguments or {}
        self._output_shape = output_shape
        self.mask = mask
        self._fn_has_training = "training" in inspect.signature(function).parameters if callable(function) else False
        self.built = True

    def compute_mask(self, inputs, mask=None):
        """Keras: the ``mask`` argument (a callable ``mask(inputs, previous_mask)`` or a fixed mask)."""
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._fn_has_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return Layer.compute_output_shape(self, _shapes(input_shape))
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        return (input_shape[0],) + tuple(self._output_shape)

    def compute_output_spec(self, *args, **kwargs):
        if self._output_shape is None:
            return self._trace_output_spec(*args, **kwargs)
        return super().compute_output_spec(*args, **kwargs)

    def get_config(self):
        config = {**super().get_config(), "function": _serialize_fn(self.function), "arguments": self.arguments}
        if self._output_shape is not None:
            config["output_shape"] = (_serialize_fn(self._output_shape) if callable(self._output_shape)
                                      else list(self._output_shape))
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        config = dict(config)
        config["function"] = _deserialize_fn(config["function"], custom_objects, safe_mode)
        if isinstance(config.get("output_shape"), dict):
            config["output_shape"] = _deserialize_fn(config["output_shape"], custom_objects, safe_mode)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = config["dtype"].get("config", {}).get("name")
        return cls(**config)


def _shapes(s):
    if isinstance(s, list):
        return [tuple(e) for e in s]
    return tuple(s)


def _serialize_fn(fn):
    if isinstance(fn, types.LambdaType) and fn.__name__ == "<lambda>" or not hasattr(fn, "__module__"):
        code = base64.b64encode(marshal.dumps(fn.__code__)).decode("ascii")
        return {"class_name": "__lambda__", "config": {"code": code, "defaults": fn.__defaults__,
                                                         "closure": None}}
    return serialization_lib.serialize_keras_object(fn)


def _deserialize_fn(config, custom_objects=None, safe_mode=None):
    if isinstance(config, dict) and config.get("class_name") == "__lambda__":
        safe = serialization_lib.in_safe_mode() if safe_mode is None else safe_mode
        if safe:
            raise ValueError("Requested the deserialization of a `Lambda` layer whose `function` is a Python lambda. "
                             "This carries a potential risk of arbitrary code execution and thus it is disallowed by "
                             "default. If you trust the source of the artifact, you can override this error by "
                             "passing `safe_mode=False` to the loading function, or calling "
                             "`keras.config.enable_unsafe_deserialization()`.")
        code = marshal.loads(base64.b64decode(config["config"]["code"]))
        defaults = config["config"].get("defaults")
        return types.FunctionType(code, globals(), None, tuple(defaults) if defaults else None)
    if isinstance(config, str):
        found = serialization_lib.get_registered_object(config, custom_objects)
        if found is None:
            raise ValueError(f"Lambda: unknown function {config!r}; pass it in custom_objects")
        return found
    return serialization_lib.deserialize_keras_object(config, custom_objects)


class _TensorOp(Layer):
    """A Lambda-like layer recorded by arithmetic on KerasTensors (not serializable)."""

    def __init__(self, fn, op_name="op", **kwargs):
        super().__init__(name=None, **kwargs)
        self.fn = fn
        self.built = True

    def call(self, inputs):
        return self.fn(inputs)

    def get_config(self):
        raise NotImplementedError("Operations on KerasTensors cannot be serialized; use a Lambda layer")
