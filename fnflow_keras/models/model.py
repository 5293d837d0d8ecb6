"""Model: a Layer with sublayers, the trainer (compile/fit/...), summary, configs and a pure ``apply``.

``Model(inputs, outputs)`` builds a Functional model; subclassing ``Model`` and
defining ``call`` gives a subclassed model whose sublayers are found from its
attributes. ``model.params`` / ``model.state`` are the current values of the
trainable / non-trainable variables and ``model.apply(params, state, x,
training=False, key=None) -> (y, new_state)`` is the model as a pure function
(jit-able and differentiable), built on :class:`~fnflow_keras.variables.StatelessScope`.
"""

from __future__ import annotations

import json

from fnflow_keras.layers.layer import Layer
from fnflow_keras.saving.model_saving import SavingMixin
from fnflow_keras.trainers.trainer import Trainer


class Model(SavingMixin, Trainer, Layer):
    """A group of layers with training and inference features (Keras 3's ``keras.Model``)."""

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from fnflow_keras.models.functional import Functional

            return Functional.__new__(Functional, *args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        if args or "inputs" in kwargs:
            from fnflow_keras.models.functional import Functional

            if not isinstance(self, Functional):
                raise TypeError("Subclassed models with inputs/outputs are not supported; use "
                                "keras.Model(inputs, outputs) or define call()")
        trainable = kwargs.pop("trainable", True)
        name = kwargs.pop("name", None)
        dtype = kwargs.pop("dtype", None)
        Layer.__init__(self, name=name, trainable=trainable, dtype=dtype, **kwargs)
        Trainer.__init__(self)

    # ------------------------------------------------------------ layers

    @property
    def layers(self):
        """The direct sublayers (for subclassed models: attributes in assignment order)."""
        return self._sublayers()

    def get_layer(self, name=None, index=None):
        """A sublayer by name or by index."""
        if index is None and isinstance(name, int):
            name, index = None, name
        if index is not None and name is not None:
            raise ValueError("Provide only a layer name or a layer index.")
        if index is not None:
            if len(self.layers) <= index:
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only has "
                                 f"{len(self.layers)} layers.")
            return self.layers[index]
        if name is not None:
            for layer in self.layers:
                if layer.name == name:
                    return layer
            raise ValueError(f"No such layer: {name}. Existing layers are: {[lay.name for lay in self.layers]}.")
        raise ValueError("Provide either a layer name or layer index at `get_layer`.")

    def build(self, input_shape=None):
        """Build a subclassed model by calling it on symbolic inputs of ``input_shape`` (batch included)."""
        if self.built:
            return
        if input_shape is None:
            raise ValueError("build: you must provide an input_shape")
        from fnflow_keras.layers.input_layer import KerasTensor

        def kt(s):
            return KerasTensor(s, self.compute_dtype)

        if isinstance(input_shape, list) and input_shape and isinstance(input_shape[0], (list, tuple)):
            x = [kt(s) for s in input_shape]
        elif isinstance(input_shape, dict):
            x = {k: kt(s) for k, s in input_shape.items()}
        else:
            x = kt(tuple(input_shape))
        self.built = True  # let the symbolic call run call() (the sublayers build themselves)
        self._build_shapes = input_shape
        self.compute_output_spec(x)

    # ------------------------------------------------------------ summary / serialization

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None):
        """Print Keras 3's summary table: layers, output shapes, parameter counts."""
        from fnflow_keras.utils.summary_utils import print_summary

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable, layer_range=layer_range)

    def to_json(self, **kwargs):
        """The model's architecture as a JSON string (``keras.models.model_from_json`` reads it back)."""
        from fnflow_keras.utils.serialization_lib import serialize_keras_object

        return json.dumps(serialize_keras_object(self), **kwargs)

    def get_config(self):
        return Layer.get_config(self) if type(self).get_config is not Model.get_config else {
            "name": self.name, "trainable": self.trainable, **_subclass_config(self)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from fnflow_keras.models.functional import Functional

        if "layers" in config and "input_layers" in config:
            return Functional.from_config(config, custom_objects=custom_objects)
        return cls(**config)

    # ------------------------------------------------------------ pure interface

    def _require_built(self, what):
        if not self.built:
            raise ValueError(f"{what}: model {self.name!r} is not built yet; call it on data or build() it first")

    @property
    def params(self):
        """The current values of ``trainable_variables`` (a list of arrays)."""
        self._require_built("params")
        return [v.value for v in self.trainable_variables]

    @params.setter
    def params(self, values):
        for v, x in zip(self.trainable_variables, values, strict=True):
            v.assign(x)

    @property
    def state(self):
        """The current values of ``non_trainable_variables`` (moving statistics and frozen weights)."""
        self._require_built("state")
        return [v.value for v in self.non_trainable_variables]

    @state.setter
    def state(self, values):
        for v, x in zip(self.non_trainable_variables, values, strict=True):
            v.assign(x)

    def apply(self, params, state, x, training=False, key=None, return_losses=False):
        """The model as a pure function: ``(y, new_state)`` for ``params``/``state`` lists and inputs ``x``.

        ``key`` (an fnflow random key) feeds the layers' randomness (Dropout) when
        ``training``; ``new_state`` holds the updated non-trainable values
        (BatchNormalization's moving statistics). Works under ``jit``/``grad``/``vmap``.
        """
        self._require_built("apply")
        return self.stateless_call(params, state, x, training=training, rng_key=key, return_losses=return_losses)


def _subclass_config(model):
    # a subclassed model without its own get_config: its constructor arguments when they were captured
    auto = model.__dict__.get("_auto_config") or {}
    return {k: v for k, v in auto.items() if k not in ("name", "trainable")}


def model_from_json(json_string, custom_objects=None):
    """A new model (fresh weights) from ``model.to_json()``."""
    from fnflow_keras.utils.serialization_lib import deserialize_keras_object

    return deserialize_keras_object(json.loads(json_string), custom_objects=custom_objects)


__all__ = ["Model", "model_from_json"]
