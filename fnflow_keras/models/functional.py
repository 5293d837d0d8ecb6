"""Functional models: a graph of layer calls from ``keras.Input`` tensors to outputs."""

from __future__ import annotations

import numpy as np

from fnflow_keras.layers.input_layer import InputLayer, KerasTensor
from fnflow_keras.layers.layer import Layer, _to_tensor
from fnflow_keras.models.model import Model
from fnflow_keras.utils import nest


def map_graph(inputs, outputs):
    """Nodes in execution order, and layers ordered by depth as Keras orders them (inputs first)."""
    finished, in_progress = set(), set()
    nodes_in_order, op_index = [], {}

    def visit(tensor):
        hist = tensor._keras_history
        if hist is None:
            raise ValueError(f"Output tensor {tensor} was not produced by a Keras layer")
        node = hist.operation._inbound_nodes[hist.node_index]
        if id(node) in finished:
            return
        if any(tensor is t for t in inputs) and not isinstance(hist.operation, InputLayer):
            return  # an intermediate tensor used as a model input: its producer is not part of this model
        if id(node) in in_progress:
            raise ValueError(f"The graph has a cycle at layer {hist.operation.name!r}")
        in_progress.add(id(node))
        for t in node.input_tensors:
            visit(t)
        in_progress.discard(id(node))
        finished.add(id(node))
        nodes_in_order.append(node)
        op_index.setdefault(id(node.operation), len(op_index))

    for t in outputs:
        visit(t)
    for t in inputs:  # inputs that no output depends on still belong to the model
        visit(t)
    node_depth, op_depth, ops = {}, {}, {}
    for node in reversed(nodes_in_order):
        depth = node_depth.setdefault(id(node), 0)
        depth = max(depth, op_depth.get(id(node.operation), 0))
        op_depth[id(node.operation)] = depth
        ops[id(node.operation)] = node.operation
        node_depth[id(node)] = depth
        if any(t is o for o in inputs for t in node.output_tensors):
            continue
        for parent in node.parent_nodes:
            node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    layers = sorted(ops.values(), key=lambda op: (-op_depth[id(op)], op_index[id(op)]))
    return nodes_in_order, layers


class Functional(Model):
    """``Model(inputs, outputs)``: inputs/outputs may be one KerasTensor, a list or a dict of them."""

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        if isinstance(inputs, dict):
            for k, t in inputs.items():
                if not isinstance(t, KerasTensor):
                    raise ValueError(f"Model inputs must be KerasTensors from keras.Input, got {t!r} for {k!r}")
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self._input_tensors = nest.flatten(inputs)
        self._output_tensors = nest.flatten(outputs)
        for t in self._input_tensors + self._output_tensors:
            if not isinstance(t, KerasTensor):
                raise ValueError(f"Model inputs and outputs must be KerasTensors (from keras.Input and layer "
                                 f"calls), got {type(t).__name__}")
        self._nodes, ops = map_graph(self._input_tensors, self._output_tensors)
        self._graph_layers = ops
        self.built = True
        self._build_shapes = nest.map_structure(lambda t: t.shape, inputs)

    def _sublayers(self):
        return list(self._graph_layers)

    @property
    def layers(self):
        return list(self._graph_layers)

    @property
    def inputs(self):
        return self._input_tensors

    @property
    def outputs(self):
        return self._output_tensors

    @property
    def input(self):
        return self._inputs_struct if not self._inbound_nodes or True else super().input

    @property
    def output(self):
        return self._outputs_struct

    @property
    def input_shape(self):
        return nest.map_structure(lambda t: t.shape, self._inputs_struct)

    @property
    def output_shape(self):
        return nest.map_structure(lambda t: t.shape, self._outputs_struct)

    @property
    def input_names(self):
        return [t._keras_history.operation.name for t in self._input_tensors]

    @property
    def output_names(self):
        return [t._keras_history.operation.name for t in self._output_tensors]

    def _standardize_inputs(self, inputs):
        """Match the given inputs (array, list, tuple or dict) to the model's flat input tensors."""
        n = len(self._input_tensors)
        if isinstance(inputs, dict):
            if isinstance(self._inputs_struct, dict):
                flat = nest.flatten({k: inputs[k] for k in self._inputs_struct})
            else:
                names = self.input_names
                missing = [nm for nm in names if nm not in inputs]
                if missing:
                    raise ValueError(f"Model {self.name!r}: missing inputs {missing}; expected keys {names}")
                flat = [inputs[nm] for nm in names]
        elif isinstance(inputs, (list, tuple)) and n > 1:
            flat = nest.flatten(inputs)
        elif isinstance(inputs, (list, tuple)) and n == 1 and len(inputs) == 1 and not hasattr(inputs, "shape"):
            flat = [inputs[0]]
        else:
            flat = [inputs]
        if len(flat) != n:
            raise ValueError(f"Model {self.name!r} expects {n} input(s), but it received {len(flat)} input "
                             f"tensors.")
        out = []
        for t, x in zip(self._input_tensors, flat):
            x = _to_tensor(x, t.dtype)
            if hasattr(x, "dtype") and np.dtype(x.dtype) != np.dtype(t.dtype):
                x = x.astype(t.dtype)
            if hasattr(x, "shape") and len(x.shape) != len(t.shape) and len(t.shape) > 0:
                if len(x.shape) == len(t.shape) - 1 and len(t.shape) == 2 and t.shape[-1] == 1:
                    x = x.reshape(tuple(x.shape) + (1,))
                else:
                    raise ValueError(f"Input 0 of layer {self.name!r} is incompatible with the layer: expected "
                                     f"shape={t.shape}, found shape={tuple(x.shape)}")
            out.append(x)
        return out

    def call(self, inputs, training=None, mask=None):
        values = {}
        for t, x in zip(self._input_tensors, self._standardize_inputs(inputs)):
            values[id(t)] = x
        for node in self._nodes:
            op = node.operation
            if isinstance(op, InputLayer):
                continue
            args, kwargs = node.arguments
            flat = nest.flatten((args, kwargs))
            repl = [values[id(t)] if isinstance(t, KerasTensor) else t for t in flat]
            a, k = nest.pack_sequence_as((args, kwargs), repl)
            if training is not None and getattr(op, "_call_has_training", False) and k.get("training") is None:
                k = dict(k, training=training)
            outs = op(*a, **k)
            for t, v in zip(node.output_tensors, nest.flatten(outs)):
                values[id(t)] = v
        return nest.pack_sequence_as(self._outputs_struct, [values[id(t)] for t in self._output_tensors])

    def compute_output_spec(self, *args, **kwargs):
        return Layer.compute_output_spec(self, *args, **kwargs)

    # ------------------------------------------------------------ config

    def get_config(self):
        layers = []
        index = {id(lay): i for i, lay in enumerate(self._graph_layers)}
        node_index = {}
        for lay in self._graph_layers:
            for i, node in enumerate(lay._inbound_nodes):
                node_index[id(node)] = i
        kept = {id(n) for n in self._nodes}
        from fnflow_keras.utils.serialization_lib import serialize_keras_object

        def tensor_ref(t):
            op, ni, ti = t._keras_history
            return {"class_name": "__keras_tensor__", "config": {"shape": list(t.shape), "dtype": t.dtype,
                                                                   "keras_history": [op.name, ni, ti]}}

        for lay in self._graph_layers:
            cfg = serialize_keras_object(lay)
            inbound = []
            for node in lay._inbound_nodes:
                if id(node) not in kept or not node.input_tensors:
                    continue
                args, kwargs = node.arguments
                inbound.append({"args": nest.map_structure(
                    lambda x: tensor_ref(x) if isinstance(x, KerasTensor) else x, list(args)),
                    "kwargs": {k: v for k, v in kwargs.items() if not isinstance(v, KerasTensor)}})
            cfg["name"] = lay.name
            cfg["inbound_nodes"] = inbound
            layers.append(cfg)
        del index

        def ref(t):
            op, ni, ti = t._keras_history
            return [op.name, ni, ti]

        return {"name": self.name, "trainable": self.trainable,
                "layers": layers,
                "input_layers": nest.map_structure(ref, self._inputs_struct),
                "output_layers": nest.map_structure(ref, self._outputs_struct)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from fnflow_keras.utils.serialization_lib import deserialize_keras_object

        created = {}
        pending = list(config["layers"])
        for layer_cfg in pending:
            cfg = {k: v for k, v in layer_cfg.items() if k not in ("inbound_nodes", "name")}
            cfg.pop("build_config", None)
            created[layer_cfg["name"]] = deserialize_keras_object(cfg, custom_objects)
        outputs_of = {}  # (layer name, node index) -> outputs (flat list)
        for name, lay in created.items():
            if isinstance(lay, InputLayer):
                outputs_of[(name, 0)] = [lay.output]
        # replay the calls until every node exists (a layer's nodes are created in order)
        remaining = [(c["name"], i, node) for c in config["layers"] for i, node in enumerate(c["inbound_nodes"])]
        counters = {name: (1 if isinstance(lay, InputLayer) else 0) for name, lay in created.items()}
        progress = True
        while remaining and progress:
            progress = False
            for item in list(remaining):
                name, _, node = item

                def resolve(x):
                    if isinstance(x, dict) and x.get("class_name") == "__keras_tensor__":
                        lname, ni, ti = x["config"]["keras_history"]
                        if (lname, ni) not in outputs_of:
                            raise KeyError
                        return outputs_of[(lname, ni)][ti]
                    return x

                try:
                    args = _map_refs(node["args"], resolve)
                except KeyError:
                    continue
                kwargs = dict(node.get("kwargs", {}))
                lay = created[name]
                out = lay(*args, **kwargs)
                outputs_of[(name, counters[name])] = nest.flatten(out)
                counters[name] += 1
                remaining.remove(item)
                progress = True
        if remaining:
            raise ValueError(f"Functional.from_config: could not rebuild the calls of {[r[0] for r in remaining]}")

        def out_ref(r):
            return outputs_of[(r[0], r[1])][r[2]]

        inputs = _map_ref_lists(config["input_layers"], out_ref)
        outputs = _map_ref_lists(config["output_layers"], out_ref)
        return cls(inputs=inputs, outputs=outputs, name=config.get("name"),
                   trainable=config.get("trainable", True))


def _is_ref(x):
    return (isinstance(x, (list, tuple)) and len(x) == 3 and isinstance(x[0], str)
            and isinstance(x[1], int) and isinstance(x[2], int))


def _map_ref_lists(struct, fn):
    if _is_ref(struct):
        return fn(struct)
    if isinstance(struct, dict):
        return {k: _map_ref_lists(v, fn) for k, v in struct.items()}
    return [_map_ref_lists(s, fn) for s in struct]


def _map_refs(x, fn):
    if isinstance(x, dict) and x.get("class_name") == "__keras_tensor__":
        return fn(x)
    if isinstance(x, list):
        return [_map_refs(e, fn) for e in x]
    if isinstance(x, dict):
        return {k: _map_refs(v, fn) for k, v in x.items()}
    return x


__all__ = ["Functional", "map_graph"]
