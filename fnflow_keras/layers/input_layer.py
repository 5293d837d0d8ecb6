"""The Functional API's symbolic side: KerasTensor, Node, InputLayer and Input."""

from __future__ import annotations

from fnflow_keras import backend
from fnflow_keras.layers.layer import Layer
from fnflow_keras.utils import nest


class KerasHistory:
    __slots__ = ("operation", "node_index", "tensor_index")

    def __init__(self, operation, node_index, tensor_index):
        self.operation, self.node_index, self.tensor_index = operation, node_index, tensor_index

    def __iter__(self):
        return iter((self.operation, self.node_index, self.tensor_index))


class KerasTensor:
    """A symbolic tensor: a shape (``None`` for unknown dimensions), a dtype and the node that produced it."""

    def __init__(self, shape, dtype="float32", sparse=False, name=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = backend.standardize_dtype(dtype)
        self.sparse = sparse
        self.name = name or backend.auto_name("keras_tensor")
        self._keras_history = None

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, sparse={self.sparse}, name={self.name}>"

    def __hash__(self):
        return id(self)

    def __array__(self, *args, **kwargs):
        raise TypeError("A symbolic KerasTensor cannot be converted to a NumPy array: it has no value. Call a "
                        "layer on it, or build a Model(inputs, outputs) and call the model on data.")

    def __bool__(self):
        raise TypeError("A symbolic KerasTensor has no truth value (it is a placeholder in a Functional model)")

    # Arithmetic on KerasTensors records a Lambda-like layer, as Keras's operations on symbolic tensors do.
    def _op(self, fn, other=None, swap=False, name="op"):
        from fnflow_keras.layers.core.lambda_layer import _TensorOp

        if other is None:
            return _TensorOp(fn, name)(self)
        args = [other, self] if swap else [self, other]
        return _TensorOp(fn, name)(args)


def _install_ops():
    import fnflow.numpy as fnp

    def binary(fn, name, swap=False):
        return lambda self, other: self._op(lambda xs: fn(xs[0], xs[1]), other, swap, name)

    for nm, fn in [("add", fnp.add), ("sub", fnp.subtract), ("mul", fnp.multiply), ("truediv", fnp.true_divide),
                   ("pow", fnp.power), ("matmul", fnp.matmul)]:
        setattr(KerasTensor, f"__{nm}__", binary(fn, nm))
        setattr(KerasTensor, f"__r{nm}__", binary(fn, nm, swap=True))
    KerasTensor.__neg__ = lambda self: self._op(fnp.negative, name="neg")
    KerasTensor.__getitem__ = lambda self, idx: self._op(lambda x: x[idx], name="getitem")


_install_ops()


class Node:
    """One call of a layer on symbolic tensors: its arguments (with KerasTensors inside) and its outputs."""

    def __init__(self, operation, call_args=(), call_kwargs=None, outputs=None):
        self.operation = operation
        self.arguments = (tuple(call_args), dict(call_kwargs or {}))
        self.input_tensors = [t for t in nest.flatten(self.arguments) if isinstance(t, KerasTensor)]
        self.outputs = outputs
        self.output_tensors = [t for t in nest.flatten(outputs) if isinstance(t, KerasTensor)]
        self.parent_nodes = []
        for t in self.input_tensors:
            hist = t._keras_history
            if hist is None:
                raise ValueError(f"{t} was not produced by a Keras layer; use keras.Input to start a model")
            self.parent_nodes.append(hist.operation._inbound_nodes[hist.node_index])
            hist.operation._outbound_nodes.append(self)
        operation._inbound_nodes.append(self)
        index = len(operation._inbound_nodes) - 1
        for i, t in enumerate(self.output_tensors):
            t._keras_history = KerasHistory(operation, index, i)

    @property
    def is_input(self):
        return not self.input_tensors


class InputLayer(Layer):
    """The layer behind ``keras.Input``: produces one KerasTensor of ``batch_shape``."""

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, input_tensor=None,
                 optional=False, name=None, ragged=False, **kwargs):
        if "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
        if "batch_input_shape" in kwargs:
            batch_shape = kwargs.pop("batch_input_shape")
        super().__init__(name=name, dtype=dtype, **kwargs)
        if input_tensor is not None:
            batch_shape = input_tensor.shape
        if batch_shape is None:
            if shape is None:
                raise ValueError("InputLayer: pass `shape` (without the batch dimension) or `batch_shape`")
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            batch_shape = (batch_size,) + shape
        self._batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self.sparse = bool(sparse)
        if ragged:
            raise NotImplementedError("InputLayer(ragged=True): ragged tensors are not supported by fnflow_keras "
                                      "(Keras supports them only with the TensorFlow backend)")
        self.ragged = False
        self.optional = bool(optional)
        self.built = True
        tensor = input_tensor if input_tensor is not None else KerasTensor(self._batch_shape, self.dtype,
                                                                           name=self.name)
        Node(self, outputs=tensor)

    @property
    def batch_shape(self):
        return self._batch_shape

    def call(self, inputs):
        return inputs

    def get_config(self):
        return {"batch_shape": list(self._batch_shape), "dtype": self.dtype, "sparse": self.sparse,
                "ragged": self.ragged, "name": self.name, "optional": self.optional}


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None, tensor=None,
          optional=False, ragged=False):
    """A symbolic input for the Functional API: ``keras.Input(shape=(784,))`` is a KerasTensor ``(None, 784)``."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse, batch_shape=batch_shape,
                       name=name, input_tensor=tensor, optional=optional, ragged=ragged)
    return layer.output


__all__ = ["KerasTensor", "Node", "InputLayer", "Input", "KerasHistory"]
