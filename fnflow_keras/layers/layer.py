"""The Layer base class: weights, build on first call, eager and symbolic calls, configs, pure calls.

A layer owns :class:`~fnflow_keras.variables.Variable` objects (``add_weight``)
and computes with ``fnflow.numpy`` on their ``.value``. Called on arrays it runs
``call`` eagerly; called on KerasTensors it records a Node (Functional API) and
infers the output shapes (``compute_output_shape`` or by tracing ``call`` with
``fnflow.eval_shape``). ``stateless_call`` runs it as a pure function of
explicit variable values inside a StatelessScope.
"""

from __future__ import annotations

import inspect
import threading

import numpy as np

import fnflow
import fnflow.numpy as fnp
from fnflow.core.trace import Tracer
from fnflow_keras import backend
from fnflow_keras import initializers as kinit
from fnflow_keras.utils import nest
from fnflow_keras.utils.masking import get_keras_mask, masks_of, set_keras_mask
from fnflow_keras.variables import StatelessScope, Variable, get_stateless_scope

_ctx = threading.local()


def _training_stack():
    if not hasattr(_ctx, "training"):
        _ctx.training = []
    return _ctx.training


def _is_keras_tensor(x):
    from fnflow_keras.layers.input_layer import KerasTensor

    return isinstance(x, KerasTensor)


def _shape_of(x):
    return tuple(x.shape) if hasattr(x, "shape") else ()


def _to_tensor(x, dtype):
    """Array-like inputs as fnflow values; floats are cast to the layer's compute dtype (as Keras)."""
    if x is None or isinstance(x, (str, bool)):
        return x
    if isinstance(x, Variable):
        x = x.value
    if isinstance(x, Tracer):
        if np.dtype(x.dtype).kind == "f" and dtype is not None and x.dtype != dtype:
            return x.astype(dtype)
        return x
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return x
    arr = np.asarray(x)
    if arr.dtype.kind == "f" and dtype is not None and arr.dtype != dtype:
        arr = arr.astype(dtype)
    elif arr.dtype == np.int64:
        arr = arr.astype(np.int32)
    elif arr.dtype.kind in "OUS":
        return x
    return fnp.asarray(arr)


class Layer:
    """Base class of all layers (Keras 3's ``keras.layers.Layer``)."""

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        # remember the constructor arguments: the default get_config of custom layers returns them
        try:
            bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
            cfg = dict(bound.arguments)
            cfg.pop("self", None)
            extra = cfg.pop("kwargs", {})
            cfg.update(extra if isinstance(extra, dict) else {})
            for name, p in inspect.signature(cls.__init__).parameters.items():
                if p.kind == p.VAR_POSITIONAL:
                    cfg.pop(name, None)
            obj.__dict__["_auto_config"] = cfg
        except TypeError:
            obj.__dict__["_auto_config"] = None
        return obj

    def __init__(self, *, activity_regularizer=None, trainable=True, dtype=None, autocast=True, name=None,
                 **kwargs):
        input_dim = kwargs.pop("input_dim", None)
        input_shape = kwargs.pop("input_shape", None)
        batch_input_shape = kwargs.pop("batch_input_shape", None)
        batch_size = kwargs.pop("batch_size", None)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}")
        d = self.__dict__
        d.setdefault("_trainable_variables", [])
        d.setdefault("_non_trainable_variables", [])
        d.setdefault("_inbound_nodes", [])
        d.setdefault("_outbound_nodes", [])
        d.setdefault("_losses", [])
        self._trainable = bool(trainable)
        if isinstance(dtype, dict):
            dtype = dtype.get("config", {}).get("name", None)
        self._dtype = backend.standardize_dtype(getattr(dtype, "name", dtype))
        self.name = name or backend.auto_name(backend.to_snake_case(type(self).__name__))
        self.built = False
        self.autocast = autocast
        from fnflow_keras import regularizers

        self.activity_regularizer = regularizers.get(activity_regularizer)
        # Keras 3: a layer supports masking when it defines compute_mask (others set it in their constructor)
        self.supports_masking = type(self).compute_mask is not Layer.compute_mask
        self._build_shapes = None
        if batch_input_shape is not None:
            self._input_shape_arg = tuple(batch_input_shape)[1:]
            batch_size = tuple(batch_input_shape)[0]
        elif input_shape is not None:
            self._input_shape_arg = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
        elif input_dim is not None:
            self._input_shape_arg = (int(input_dim),)
        else:
            self._input_shape_arg = None
        self._batch_size_arg = batch_size
        sig = inspect.signature(self.call).parameters
        self._call_has_training = "training" in sig
        self._call_has_mask = "mask" in sig

    # ------------------------------------------------------------ tracking

    def __setattr__(self, name, value):
        d = self.__dict__
        if isinstance(value, Variable):
            tv = d.setdefault("_trainable_variables", [])
            ntv = d.setdefault("_non_trainable_variables", [])
            if not any(v is value for v in tv + ntv):
                (tv if value.trainable else ntv).append(value)
        object.__setattr__(self, name, value)

    def _sublayers(self):
        """Direct sublayers: Layer attributes (also inside lists, tuples and dicts), in assignment order."""
        found, seen = [], {id(self)}

        def visit(v, depth=0):
            if isinstance(v, Layer):
                if id(v) not in seen:
                    seen.add(id(v))
                    found.append(v)
            elif isinstance(v, (list, tuple)) and depth < 4:
                for e in v:
                    visit(e, depth + 1)
            elif isinstance(v, dict) and depth < 4:
                for e in v.values():
                    visit(e, depth + 1)

        for key, value in self.__dict__.items():
            if key in ("_inbound_nodes", "_outbound_nodes", "_auto_config"):
                continue
            visit(value)
        return found

    @property
    def _layers(self):
        return self._sublayers()

    def _flatten_layers(self, include_self=True, recursive=True):
        out = [self] if include_self else []
        for layer in self._sublayers():
            out.extend(layer._flatten_layers(True, recursive) if recursive else [layer])
        seen, uniq = set(), []
        for lay in out:
            if id(lay) not in seen:
                seen.add(id(lay))
                uniq.append(lay)
        return uniq

    # ------------------------------------------------------------ weights

    @property
    def variables(self):
        out, seen = [], set()
        for v in self._trainable_variables + self._non_trainable_variables:
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        for layer in self._sublayers():
            for v in layer.variables:
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    @property
    def weights(self):
        """``variables`` less those that are not weights (a stateful RNN's states: Keras leaves them out of
        ``weights``, ``get_weights`` and the saved files)."""
        return [v for v in self.variables if not getattr(v, "_rnn_state", False)]

    @property
    def trainable_variables(self):
        if not self.trainable:
            return []
        return [v for v in self.variables if v.trainable]

    @property
    def non_trainable_variables(self):
        if not self.trainable:
            return self.variables
        return [v for v in self.variables if not v.trainable]

    @property
    def trainable_weights(self):
        return [v for v in self.trainable_variables if not getattr(v, "_rnn_state", False)]

    @property
    def non_trainable_weights(self):
        return [v for v in self.non_trainable_variables if not getattr(v, "_rnn_state", False)]

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        value = bool(value)
        self._trainable = value
        for v in self._trainable_variables:
            v.trainable = value
        for layer in self._sublayers():
            layer.trainable = value

    @property
    def dtype(self):
        """The variables' dtype (``"float32"``)."""
        return self._dtype

    @property
    def compute_dtype(self):
        return self._dtype

    @property
    def variable_dtype(self):
        return self._dtype

    @property
    def dtype_policy(self):
        return self._dtype

    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True, autocast=True, regularizer=None,
                   constraint=None, aggregation="none", name=None):
        """Create a Variable owned by this layer (default initializer: glorot_uniform for floats, zeros else)."""
        shape = () if shape is None else ((shape,) if isinstance(shape, int) else tuple(shape))
        dtype = backend.standardize_dtype(dtype or self._dtype)
        if initializer is None:
            initializer = "glorot_uniform" if np.dtype(dtype).kind == "f" else "zeros"
        init = kinit.get(initializer)
        from fnflow_keras import constraints, regularizers

        with backend.name_scope(self.name) if backend.current_path().split("/")[-1] != self.name else _null():
            var = Variable(init, shape=shape, dtype=dtype, trainable=trainable, name=name,
                           regularizer=regularizers.get(regularizer), constraint=constraints.get(constraint))
        (self._trainable_variables if trainable else self._non_trainable_variables).append(var)
        if not self.trainable and trainable:
            var.trainable = False  # frozen layer; setting layer.trainable = True thaws it
        return var

    def add_variable(self, shape, initializer, dtype=None, trainable=True, name=None, **kwargs):
        return self.add_weight(shape=shape, initializer=initializer, dtype=dtype, trainable=trainable, name=name,
                               **kwargs)

    def get_weights(self):
        """The weights' current values as NumPy arrays (in ``weights`` order)."""
        return [np.array(v.numpy()) for v in self.weights]

    def set_weights(self, weights):
        """Set the weights from a list of arrays (same order and shapes as ``get_weights()``)."""
        mine = self.weights
        if len(weights) != len(mine):
            raise ValueError(f"You called `set_weights(weights)` on layer {self.name!r} with a weight list of length "
                             f"{len(weights)}, but the layer was expecting {len(mine)} weights.")
        for v, w in zip(mine, weights):
            w = np.asarray(w)
            if tuple(w.shape) != v.shape:
                raise ValueError(f"Layer {self.name!r} weight shape {v.shape} is not compatible with provided weight "
                                 f"shape {tuple(w.shape)}.")
            v.assign(w)

    def count_params(self):
        """The number of scalars in the weights (the layer must be built)."""
        if not self.built:
            raise ValueError(f"You tried to call `count_params` on layer '{self.name}', but the layer isn't built. "
                             f"You can build it manually via: `layer.build(input_shape)`.")
        return int(sum(v.size for v in self.weights))

    # ------------------------------------------------------------ losses

    def add_loss(self, loss):
        """Record a loss term computed in ``call`` (collected by the trainer)."""
        scope = get_stateless_scope()
        if scope is not None:
            scope.add_loss(loss)
        else:
            self._losses.append(loss)

    @property
    def losses(self):
        """Losses added in the last call plus the weight-regularization penalties of all sublayers."""
        out = []
        for layer in self._flatten_layers():
            out.extend(layer._losses)
            for v in layer._trainable_variables + layer._non_trainable_variables:
                if v.regularizer is not None:
                    out.append(v.regularizer(v.value))
        return out

    def _clear_losses(self):
        for layer in self._flatten_layers():
            layer._losses.clear()

    # ------------------------------------------------------------ build / call

    def build(self, input_shape=None):
        """Create the weights for inputs of ``input_shape`` (override; the default creates nothing)."""
        self.built = True

    def call(self, inputs, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"Layer {type(self).__name__} does not have a `call()` method implemented.")

    def _maybe_build(self, shapes):
        if self.built:
            return
        self._build_shapes = shapes
        with backend.name_scope(self.name):
            params = inspect.signature(self.build).parameters
            if len(params) == 0:
                self.build()
            else:
                self.build(shapes)
        self.built = True

    def build_from_config(self, config):
        shape = (config or {}).get("input_shape")
        if shape is not None and not self.built:
            self._maybe_build(_as_shape_tree(shape))

    def get_build_config(self):
        if self._build_shapes is not None:
            return {"input_shape": self._build_shapes}
        return None

    def compute_mask(self, inputs, previous_mask=None):
        """The mask of the outputs (Keras's default: the inputs' mask, passed through)."""
        return previous_mask

    def _previous_mask(self, args, kwargs):
        """The explicit ``mask=`` argument, else the mask attached to the first input (Keras's rule)."""
        mask = kwargs.get("mask")
        if mask is None and args:
            mask = masks_of(args[0])
        return mask

    def _set_output_masks(self, inputs, outputs, previous_mask):
        """Attach ``compute_mask(inputs, previous_mask)`` to the outputs that do not carry a mask yet."""
        if not self.supports_masking:
            return
        if previous_mask is None and type(self).compute_mask is Layer.compute_mask:
            return
        single = not isinstance(outputs, (list, tuple))
        outs = [outputs] if single else list(outputs)
        if all(get_keras_mask(o) is not None for o in outs):
            return
        masks = self.compute_mask(inputs, previous_mask)
        if masks is None:
            return
        masks = [masks] if single or not isinstance(masks, (list, tuple)) else list(masks)
        if len(masks) == 1 and len(outs) > 1:
            masks = masks * len(outs)
        for o, m in zip(outs, masks):
            if m is not None and get_keras_mask(o) is None:
                set_keras_mask(o, m)

    def __call__(self, *args, **kwargs):
        if not args and "inputs" in kwargs:
            args = (kwargs.pop("inputs"),)
        if any(_is_keras_tensor(t) for t in nest.flatten((args, kwargs))):
            return self._symbolic_call(args, kwargs)
        previous_mask = self._previous_mask(args, kwargs)
        args = nest.map_structure(lambda t: _to_tensor(t, self.compute_dtype), args)
        training = kwargs.get("training", None)
        stack = _training_stack()
        if training is None and stack:
            training = stack[-1]
        if self._call_has_training:
            if training is not None:
                kwargs["training"] = training
            elif "training" in kwargs:
                kwargs.pop("training")
        else:
            kwargs.pop("training", None)
        if not self._call_has_mask:
            kwargs.pop("mask", None)
        elif kwargs.get("mask") is None and previous_mask is not None:
            kwargs["mask"] = previous_mask
        if not self.built:
            self._maybe_build(nest.map_structure(_shape_of, args[0]) if args else None)
        if not stack:  # the outermost call: `losses` are those of this call (as Keras's call context)
            self._clear_losses()
        stack.append(training)
        try:
            with backend.name_scope(self.name):
                outputs = self.call(*args, **kwargs)
        finally:
            stack.pop()
        if self.activity_regularizer is not None:
            for out in nest.flatten(outputs):
                self.add_loss(self.activity_regularizer(out) / max(1, int(out.shape[0]) if out.ndim else 1))
        if args:
            self._set_output_masks(args[0], outputs, previous_mask)
        return outputs

    # ------------------------------------------------------------ symbolic calls

    def compute_output_shape(self, *args, **kwargs):
        """Output shape(s) for input shape(s) (override for speed; the default traces ``call``)."""
        from fnflow_keras.layers.input_layer import KerasTensor

        kts = nest.map_shape_structure(lambda s: KerasTensor(s, self.compute_dtype), args)
        spec = self._trace_output_spec(*kts, **kwargs)
        return nest.map_structure(lambda t: t.shape, spec)

    def _overrides_output_shape(self):
        return type(self).compute_output_shape is not Layer.compute_output_shape

    def compute_output_spec(self, *args, **kwargs):
        """KerasTensors describing the outputs for symbolic inputs."""
        from fnflow_keras.layers.input_layer import KerasTensor

        if not self._overrides_output_shape():
            return self._trace_output_spec(*args, **kwargs)
        shapes = nest.map_structure(lambda t: t.shape if _is_keras_tensor(t) else t, args)
        shapes = [_as_shape_tree(s) if isinstance(s, list) else s for s in shapes]
        kw = {k: v for k, v in kwargs.items() if k not in ("training", "mask")}
        out = self.compute_output_shape(*shapes, **kw)
        return nest.map_shape_structure(lambda s: KerasTensor(s, self.compute_dtype), out)

    def _trace_output_spec(self, *args, **kwargs):
        """Output KerasTensors found by tracing ``__call__`` with batch sizes 2 and 3 for unknown dimensions."""
        from fnflow_keras.layers.input_layer import KerasTensor

        flat = nest.flatten((args, kwargs))
        kts = [t for t in flat if _is_keras_tensor(t)]

        def run(n):
            def f(*vals):
                it = iter(vals)
                repl = [next(it) if _is_keras_tensor(t) else t for t in flat]
                a, k = nest.pack_sequence_as((args, kwargs), repl)
                with StatelessScope():
                    return self.__call__(*a, **k)

            specs = [fnflow.ShapeDtypeStruct(tuple(n if d is None else d for d in t.shape), t.dtype) for t in kts]
            return fnflow.eval_shape(f, *specs)

        a, b = run(2), run(3)

        def merge(x, y):
            shape = tuple(d1 if d1 == d2 else None for d1, d2 in zip(x.shape, y.shape))
            return KerasTensor(shape, np.dtype(x.dtype).name)

        fa, fb = nest.flatten(a), nest.flatten(b)
        return nest.pack_sequence_as(a, [merge(x, y) for x, y in zip(fa, fb)])

    def _symbolic_call(self, args, kwargs):
        from fnflow_keras.layers.input_layer import Node

        if not self.built:
            first = args[0] if args else None
            self._maybe_build(nest.map_structure(lambda t: t.shape if _is_keras_tensor(t) else _shape_of(t),
                                                 first))
        # masks are not recorded in the node: at run time they travel attached to the values
        previous_mask = self._previous_mask(args, kwargs)
        outputs = self.compute_output_spec(*args, **kwargs)
        Node(self, args, kwargs, outputs)
        if self.supports_masking and args and (previous_mask is not None
                                               or type(self).compute_mask is not Layer.compute_mask):
            self._set_symbolic_masks(args[0], outputs, previous_mask)
        return outputs

    def _set_symbolic_masks(self, first, outputs, previous_mask):
        """KerasTensor masks for symbolic outputs: ``compute_mask`` traced on shapes (unknown sizes 2 and 3)."""
        from fnflow_keras.layers.input_layer import KerasTensor

        struct = (first, previous_mask)
        flat = nest.flatten(struct)
        kts = [t for t in flat if _is_keras_tensor(t)]
        none_out = []

        def run(n):
            def f(*vals):
                it = iter(vals)
                a, m = nest.pack_sequence_as(struct, [next(it) if _is_keras_tensor(t) else t for t in flat])
                masks = self.compute_mask(a, m)
                ms = masks if isinstance(masks, (list, tuple)) else [masks]
                none_out[:] = [x is None for x in ms]
                return [fnp.zeros((), "bool") if x is None else fnp.asarray(x) for x in ms]

            specs = [fnflow.ShapeDtypeStruct(tuple(n if d is None else d for d in t.shape), t.dtype) for t in kts]
            return fnflow.eval_shape(f, *specs)

        try:
            a, b = run(2), run(3)
        except Exception:  # a compute_mask that cannot be traced on shapes: masks appear at run time only
            return
        masks = [None if is_none else KerasTensor(tuple(d1 if d1 == d2 else None for d1, d2 in zip(x.shape, y.shape)),
                                                  "bool")
                 for x, y, is_none in zip(a, b, none_out)]
        outs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        if len(masks) == 1 and len(outs) > 1:
            masks = masks * len(outs)
        for o, m in zip(outs, masks):
            if m is not None and _is_keras_tensor(o) and get_keras_mask(o) is None:
                set_keras_mask(o, m)

    # ------------------------------------------------------------ functional-API attributes

    def _node_attr(self, attr):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name!r} has never been called and thus has no defined {attr}.")
        node = self._inbound_nodes[0]
        tensors = node.input_tensors if attr == "input" else node.output_tensors
        if attr == "output" and node.outputs is not None and not isinstance(node.outputs, (list, tuple, dict)):
            return node.outputs
        if attr == "output" and isinstance(node.outputs, (list, tuple, dict)):
            return node.outputs
        return tensors[0] if len(tensors) == 1 else list(tensors)

    @property
    def input(self):
        if type(self).__name__ == "InputLayer":
            return self._node_attr("output")
        return self._node_attr("input")

    @property
    def output(self):
        return self._node_attr("output")

    @property
    def output_shape(self):
        return nest.map_structure(lambda t: t.shape, self.output)

    @property
    def input_shape(self):
        return nest.map_structure(lambda t: t.shape, self.input)

    # ------------------------------------------------------------ pure calls

    def stateless_call(self, trainable_variables, non_trainable_variables, *args, return_losses=False, rng_key=None,
                       **kwargs):
        """Run the layer as a pure function of the given variable values.

        Returns ``(outputs, non_trainable_variables)`` — the updated values of
        ``self.non_trainable_variables`` (e.g. BatchNormalization's moving stats) —
        and the losses as a third element with ``return_losses=True``.
        """
        tv, ntv = self.trainable_variables, self.non_trainable_variables
        if len(trainable_variables) != len(tv) or len(non_trainable_variables) != len(ntv):
            raise ValueError(f"stateless_call on {self.name!r}: expected {len(tv)} trainable and {len(ntv)} "
                             f"non-trainable values, got {len(trainable_variables)} and "
                             f"{len(non_trainable_variables)}")
        mapping = list(zip(tv, trainable_variables)) + list(zip(ntv, non_trainable_variables))
        with StatelessScope(mapping, rng_key=rng_key, collect_losses=return_losses) as scope:
            outputs = self.__call__(*args, **kwargs)
            losses = list(scope.losses)
            if return_losses:
                for layer in self._flatten_layers():
                    for v in layer._trainable_variables + layer._non_trainable_variables:
                        if v.regularizer is not None:
                            losses.append(v.regularizer(v.value))
        new_ntv = [scope.get(v, val) for v, val in zip(ntv, non_trainable_variables)]
        if return_losses:
            return outputs, new_ntv, losses
        return outputs, new_ntv

    # ------------------------------------------------------------ config

    def get_config(self):
        """The constructor arguments that recreate this layer (without its weights)."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if type(self).get_config is Layer.get_config:
            auto = self.__dict__.get("_auto_config")
            if auto is None:
                raise NotImplementedError(f"Layer {type(self).__name__} has arguments that cannot be saved "
                                          f"automatically; implement get_config().")
            params = inspect.signature(type(self).__init__).parameters
            has_kwargs = any(p.kind == p.VAR_KEYWORD for p in params.values())
            extra = {k: v for k, v in auto.items() if k not in config}
            config.update(extra)
            if not has_kwargs:
                for k in ("name", "trainable", "dtype"):
                    if k not in params:
                        config.pop(k, None)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = config["dtype"].get("config", {}).get("name")
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def check_no_quantization(layer_name, quantization_config):
    """Keras 3.15 writes ``quantization_config: null``; a real quantization config is not supported."""
    if quantization_config is not None:
        raise NotImplementedError(f"{layer_name}: quantization_config={quantization_config!r} is not supported by "
                                  f"fnflow_keras (quantized layers); only None")


def check_no_lora(layer_name, lora_rank):
    """LoRA adapters (``lora_rank``) are not built: refuse rather than train the full kernel silently."""
    if lora_rank:
        raise NotImplementedError(f"{layer_name}: LoRA (lora_rank={lora_rank!r}) is not supported by fnflow_keras; "
                                  f"leave lora_rank=None")


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _as_shape_tree(shape):
    """Shapes from JSON (lists) back to tuples; a list of shapes stays a list."""
    if isinstance(shape, dict):
        return {k: _as_shape_tree(v) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)):
        if all(d is None or isinstance(d, (int, np.integer)) for d in shape):
            return tuple(None if d is None else int(d) for d in shape)
        return [_as_shape_tree(s) for s in shape]
    return shape


__all__ = ["Layer"]
