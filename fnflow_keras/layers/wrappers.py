"""Wrappers: TimeDistributed (a layer applied to every time step) and Bidirectional (RNNs both ways)."""

from __future__ import annotations

import copy

import fnflow.numpy as fnp
from fnflow_keras.layers.layer import Layer
from fnflow_keras.utils.serialization_lib import deserialize_keras_object, serialize_keras_object


class Wrapper(Layer):
    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = layer

    def get_config(self):
        return {**super().get_config(), "layer": serialize_keras_object(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = deserialize_keras_object(config["layer"], custom_objects)
        return cls(**config)


class TimeDistributed(Wrapper):
    """Apply ``layer`` to every slice ``inputs[:, t]`` (by folding time into the batch)."""

    def __init__(self, layer, **kwargs):
        super().__init__(layer, **kwargs)
        self.supports_masking = True  # the (batch, time) mask passes through

    def build(self, input_shape):
        if not self.layer.built:
            self.layer._maybe_build((None,) + tuple(input_shape[2:]))
        self.built = True

    def call(self, inputs, training=None):
        b, t = inputs.shape[0], inputs.shape[1]
        x = fnp.reshape(inputs, (b * t,) + tuple(inputs.shape[2:]))
        y = self.layer(x, training=training) if self.layer._call_has_training else self.layer(x)
        return fnp.reshape(y, (b, t) + tuple(y.shape[1:]))

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape((None,) + tuple(input_shape[2:]))
        return (input_shape[0], input_shape[1]) + tuple(inner[1:])


class Bidirectional(Wrapper):
    """Run an RNN forwards and a copy backwards; ``merge_mode`` concat (default), sum, mul, ave or None."""

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        super().__init__(layer, **kwargs)
        self.merge_mode = merge_mode
        self.forward_layer = layer
        if backward_layer is None:
            config = layer.get_config()
            config["go_backwards"] = not config.get("go_backwards", False)
            config["name"] = "backward_" + layer.name
            backward_layer = type(layer).from_config(config)
        self.backward_layer = backward_layer
        layer_name = layer.name
        if not layer_name.startswith("forward_"):
            self.forward_layer.name = "forward_" + layer_name
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.stateful = getattr(layer, "stateful", False)
        if getattr(backward_layer, "stateful", False) != self.stateful:
            raise ValueError("Forward layer and backward layer are expected to have the same value for attribute "
                             f"\"stateful\", got \"{self.stateful}\" for forward layer and "
                             f"\"{getattr(backward_layer, 'stateful', False)}\" for backward layer")
        self._initial_weights = weights

    def reset_state(self):
        """Zero the states of both directions (the wrapped RNN must be stateful)."""
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    def reset_states(self):
        """Keras's alias of :meth:`reset_state`."""
        self.reset_state()

    @property
    def states(self):
        """The forward then the backward states of a stateful Bidirectional (None before build)."""
        fw, bw = getattr(self.forward_layer, "states", None), getattr(self.backward_layer, "states", None)
        return tuple(fw) + tuple(bw) if fw and bw else None

    def _sublayers(self):
        return [self.forward_layer, self.backward_layer]

    def build(self, input_shape):
        for lay in (self.forward_layer, self.backward_layer):
            lay._maybe_build(input_shape)
        self.built = True

    def call(self, inputs, training=None, initial_state=None, mask=None):
        fw_kw, bw_kw = {}, {}
        if initial_state is not None:  # Keras: the first half for the forward layer, the rest backward
            half = len(initial_state) // 2
            fw_kw["initial_state"], bw_kw["initial_state"] = list(initial_state[:half]), list(initial_state[half:])
        fw = self.forward_layer(inputs, training=training, mask=mask, **fw_kw)
        bw = self.backward_layer(inputs, training=training, mask=mask, **bw_kw)
        states = []
        if self.return_state:
            fw, states_f = fw[0], fw[1:]
            bw, states_b = bw[0], bw[1:]
            states = list(states_f) + list(states_b)
        if self.return_sequences:
            bw = bw[:, ::-1]
        if self.merge_mode == "concat":
            out = fnp.concatenate([fw, bw], axis=-1)
        elif self.merge_mode == "sum":
            out = fw + bw
        elif self.merge_mode == "mul":
            out = fw * bw
        elif self.merge_mode == "ave":
            out = (fw + bw) / 2
        else:
            out = [fw, bw]
        if self.return_state:
            return (out if isinstance(out, list) else [out]) + states
        return out

    def compute_mask(self, inputs, mask=None):
        """Keras: the input mask for sequence outputs (one per output with ``merge_mode=None``)."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if self.return_sequences:
            out = mask if self.merge_mode else [mask, mask]
        else:
            out = None if self.merge_mode else [None, None]
        if self.return_state:
            n = 2 if type(self.forward_layer.cell).__name__ == "LSTMCell" else 1
            return (out if isinstance(out, list) else [out]) + [None] * (2 * n)
        return out

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        state_shapes = []
        if self.return_state:
            shape, state_shapes = shape[0], list(shape[1:]) * 2
        if self.merge_mode == "concat":
            shape = tuple(shape[:-1]) + (shape[-1] * 2,)
        elif self.merge_mode is None:
            shape = [shape, copy.copy(shape)]
        if self.return_state:
            return (shape if isinstance(shape, list) else [shape]) + state_shapes
        return shape

    def get_config(self):
        config = {**super().get_config(), "merge_mode": self.merge_mode}
        config["backward_layer"] = serialize_keras_object(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = deserialize_keras_object(config["layer"], custom_objects)
        if isinstance(config.get("backward_layer"), dict):
            config["backward_layer"] = deserialize_keras_object(config["backward_layer"], custom_objects)
        return cls(**config)


__all__ = ["TimeDistributed", "Bidirectional", "Wrapper"]
