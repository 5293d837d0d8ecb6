"""Sequential: a linear stack of layers (built from its first layer's ``input_shape`` or on first call)."""

from __future__ import annotations

from fnflow_keras.layers.input_layer import InputLayer, KerasTensor
from fnflow_keras.layers.layer import Layer
from fnflow_keras.models.model import Model
from fnflow_keras.utils import nest


class Sequential(Model):
    """``Sequential([Dense(16, input_shape=(10,)), Dense(1)])`` or ``Sequential()`` then ``add()``."""

    def __new__(cls, *args, **kwargs):
        return Layer.__new__(cls, *args, **kwargs)

    def __init__(self, layers=None, trainable=True, name=None, **kwargs):
        super().__init__(trainable=trainable, name=name, **kwargs)
        self._seq_layers = []
        self._functional = None
        for layer in layers or ():
            self.add(layer, rebuild=False)
        self._maybe_rebuild()

    def _sublayers(self):
        return list(self._seq_layers)

    def add(self, layer, rebuild=True):
        """Append a layer (or a ``keras.Input`` tensor, which sets the input shape)."""
        if isinstance(layer, KerasTensor):
            hist = layer._keras_history
            layer = hist.operation if hist is not None else None
        if not isinstance(layer, Layer):
            raise ValueError(f"Only instances of `keras.Layer` can be added to a Sequential model. Received: "
                             f"{layer!r} (of type {type(layer).__name__})")
        if isinstance(layer, InputLayer) and self._seq_layers and isinstance(self._seq_layers[0], InputLayer):
            raise ValueError(f"Sequential model {self.name!r} has already been configured to use an input layer")
        if any(lay.name == layer.name for lay in self._seq_layers):
            raise ValueError(f"All layers added to a Sequential model should have unique names. Name "
                             f"{layer.name!r} is already the name of a layer in this model.")
        if not self._seq_layers and not isinstance(layer, InputLayer) and layer._input_shape_arg is not None:
            self._seq_layers.append(InputLayer(shape=layer._input_shape_arg, batch_size=layer._batch_size_arg))
        self._seq_layers.append(layer)
        if rebuild:
            self._maybe_rebuild()
        else:
            self.built = False
            self._functional = None

    def pop(self, rebuild=True):
        """Remove and return the last layer."""
        if not self.layers:
            raise TypeError("There are no layers in the model.")
        layer = self._seq_layers.pop()
        self.built = False
        self._functional = None
        if rebuild:
            self._maybe_rebuild()
        return layer

    def _maybe_rebuild(self):
        self.built = False
        self._functional = None
        if self._seq_layers and isinstance(self._seq_layers[0], InputLayer) and len(self._seq_layers) > 1:
            self.build(self._seq_layers[0].batch_shape)

    @property
    def layers(self):
        """The layers, without the InputLayer."""
        lays = self._seq_layers
        return lays[1:] if lays and isinstance(lays[0], InputLayer) else list(lays)

    def build(self, input_shape=None):
        """Create the input layer for ``input_shape`` (batch included) and call the layers symbolically."""
        if not self._seq_layers:
            raise ValueError(f"Sequential model {self.name} cannot be built because it has no layers.")
        if isinstance(self._seq_layers[0], InputLayer):
            if self._seq_layers[0].batch_shape != tuple(input_shape):
                input_shape = self._seq_layers[0].batch_shape
        else:
            if input_shape is None:
                raise ValueError("You must provide an `input_shape` argument.")
            input_shape = tuple(input_shape)
            self._seq_layers.insert(0, InputLayer(batch_shape=input_shape))
        inputs = self._seq_layers[0].output
        x = inputs
        from fnflow_keras import backend

        with backend.name_scope(self.name):
            for layer in self._seq_layers[1:]:
                try:
                    x = layer(x)
                except NotImplementedError:
                    return  # a layer that cannot run symbolically: stay a plain stack
        from fnflow_keras.models.functional import Functional

        self._functional = Functional(inputs=inputs, outputs=x, name=f"{self.name}_functional")
        self._functional_name_check = None
        self._build_shapes = tuple(input_shape)
        self.built = True

    def __call__(self, *args, **kwargs):
        if not self.built and args and not any(isinstance(t, KerasTensor) for t in nest.flatten(args[0])):
            x = args[0]
            self.build(tuple(getattr(x, "shape", ())))  # as Keras: the first batch's size is recorded
        return super().__call__(*args, **kwargs)

    def call(self, inputs, training=None, mask=None):
        if self._functional is not None:
            return self._functional.call(inputs, training=training)
        x = inputs
        for layer in self.layers:
            x = layer(x, training=training) if layer._call_has_training else layer(x)
        return x

    @property
    def _nodes(self):
        return self._functional._nodes if self._functional is not None else []

    @property
    def inputs(self):
        return self._functional.inputs if self._functional is not None else None

    @property
    def outputs(self):
        return self._functional.outputs if self._functional is not None else None

    @property
    def input(self):
        return self._functional.input if self._functional is not None else Layer.input.fget(self)

    @property
    def output(self):
        return self._functional.output if self._functional is not None else Layer.output.fget(self)

    @property
    def input_shape(self):
        if self._functional is None:
            raise AttributeError(f"Sequential model {self.name!r} has no defined input shape yet")
        return self._functional.input_shape

    @property
    def output_shape(self):
        if self._functional is None:
            raise AttributeError(f"Sequential model {self.name!r} has no defined output shape yet")
        return self._functional.output_shape

    def get_config(self):
        from fnflow_keras.utils.serialization_lib import serialize_keras_object

        layer_configs = [serialize_keras_object(layer) for layer in self._seq_layers]
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype, "layers": layer_configs}
        if self._functional is not None:
            config["build_input_shape"] = list(self._seq_layers[0].batch_shape)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from fnflow_keras.utils.serialization_lib import deserialize_keras_object

        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for layer_config in config["layers"]:
            model.add(deserialize_keras_object(layer_config, custom_objects), rebuild=False)
        if "build_input_shape" in config and not model.built:
            shape = tuple(config["build_input_shape"])
            if model._seq_layers and isinstance(model._seq_layers[0], InputLayer):
                model._maybe_rebuild()
            else:
                model.build(shape)
        else:
            model._maybe_rebuild()
        return model


__all__ = ["Sequential"]
