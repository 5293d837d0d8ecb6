"""clone_model: the same architecture with fresh weights (Sequential, Functional, or from config)."""

from __future__ import annotations

from fnflow_keras.layers.input_layer import Input, InputLayer
from fnflow_keras.utils import nest


def _default_clone(layer):
    return type(layer).from_config(layer.get_config())


def clone_model(model, input_tensors=None, clone_function=None, call_function=None, recursive=False, **kwargs):
    """A new model with ``model``'s architecture and newly initialized weights.

    ``clone_function(layer) -> layer`` customizes how each layer is copied
    (default: ``from_config(get_config())``); ``input_tensors`` gives new inputs.
    """
    from fnflow_keras.models.functional import Functional
    from fnflow_keras.models.sequential import Sequential

    clone_function = clone_function or _default_clone
    if isinstance(model, Sequential):
        new_layers = [clone_function(lay) if not (recursive and hasattr(lay, "layers")) else
                      clone_model(lay, clone_function=clone_function, recursive=True) for lay in model.layers]
        if input_tensors is not None:
            inputs = nest.flatten(input_tensors)[0]
            return _seq_with_input(Sequential, inputs, new_layers, model.name)
        if model._seq_layers and isinstance(model._seq_layers[0], InputLayer):
            shape = model._seq_layers[0].batch_shape
            return Sequential([Input(batch_shape=shape, dtype=model._seq_layers[0].dtype)] + new_layers,
                              name=model.name)
        return Sequential(new_layers, name=model.name)
    if isinstance(model, Functional):
        mapping = {}
        if input_tensors is not None:
            new_inputs = nest.flatten(input_tensors)
        else:
            new_inputs = [Input(batch_shape=t.shape, dtype=t.dtype, name=t._keras_history.operation.name)
                          for t in model.inputs]
        for old, new in zip(model.inputs, new_inputs):
            mapping[id(old)] = new
        new_layers = {}
        for node in model._nodes:
            op = node.operation
            if isinstance(op, InputLayer):
                continue
            if id(op) not in new_layers:
                new_layers[id(op)] = (clone_model(op, clone_function=clone_function, recursive=True)
                                      if recursive and isinstance(op, Functional) else clone_function(op))
            args, kw = node.arguments
            flat = nest.flatten((args, kw))
            repl = [mapping[id(t)] if id(t) in mapping else t for t in flat]
            a, k = nest.pack_sequence_as((args, kw), repl)
            outs = call_function(new_layers[id(op)], *a, **k) if call_function else new_layers[id(op)](*a, **k)
            for t, v in zip(node.output_tensors, nest.flatten(outs)):
                mapping[id(t)] = v
        inputs = nest.pack_sequence_as(model._inputs_struct, new_inputs)
        outputs = nest.pack_sequence_as(model._outputs_struct, [mapping[id(t)] for t in model._output_tensors])
        return Functional(inputs, outputs, name=model.name)
    # subclassed model (or a plain layer): rebuild from config
    return type(model).from_config(model.get_config())


def _seq_with_input(cls, inputs, layers, name):
    hist = inputs._keras_history
    first = hist.operation if hist is not None and isinstance(hist.operation, InputLayer) else None
    if first is None:
        first = InputLayer(batch_shape=inputs.shape, dtype=inputs.dtype)
    return cls([first] + layers, name=name)
