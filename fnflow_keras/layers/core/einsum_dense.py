"""EinsumDense: a dense layer written as an einsum ``equation`` between the inputs and a kernel."""

from __future__ import annotations

import re

import fnflow.numpy as fnp
from fnflow_keras import activations, constraints, initializers, regularizers
from fnflow_keras.layers.layer import Layer, check_no_lora, check_no_quantization
from fnflow_keras.utils.serialization_lib import serialize_keras_object


def analyze_equation(equation, bias_axes, input_shape, output_shape):
    """Keras's shapes for ``EinsumDense``: ``(kernel_shape, bias_shape, full_output_shape, input_axes,
    output_axes)``.

    ``equation`` is ``"<in>,<kernel>-><out>"`` with letters, where ``<in>`` and
    ``<out>`` may both start with ``...`` (leading axes kept) or both end with
    it (trailing axes kept). ``output_shape`` gives the output axes after the
    first one (the batch axis); None entries are taken from the input.
    ``input_axes``/``output_axes`` are the kernel axes contracted with the
    input and the ones that reach the output (the fans of the initializer).
    """
    m = re.fullmatch(r"([a-zA-Z.]+),([a-zA-Z]+)->([a-zA-Z.]+)", equation.replace(" ", ""))
    if m is None:
        raise ValueError(f"Invalid einsum equation '{equation}'. Equations must be in the form [X],[Y]->[Z], "
                         f"...[X],[Y]->...[Z], or [X]...,[Y]->[Z]....")
    in_spec, w_spec, out_spec = m.groups()
    left = in_spec.startswith("...") and out_spec.startswith("...")
    right = in_spec.endswith("...") and out_spec.endswith("...") and not left
    in_letters, out_letters = in_spec.replace("...", ""), out_spec.replace("...", "")
    if "." in in_letters + out_letters or (("..." in in_spec) != (left or right)) or (
            ("..." in out_spec) != (left or right)):
        raise ValueError(f"Invalid einsum equation '{equation}'. Equations must be in the form [X],[Y]->[Z], "
                         f"...[X],[Y]->...[Z], or [X]...,[Y]->[Z]....")
    input_shape = tuple(input_shape)
    elided = len(input_shape) - len(in_letters)
    if elided < 0 or (elided and not (left or right)):
        raise ValueError(f"EinsumDense: equation '{equation}' does not match inputs of rank {len(input_shape)}")
    partial = [output_shape] if isinstance(output_shape, int) else list(output_shape)
    if left:
        full = [input_shape[0]] + list(input_shape[1:elided]) + partial
        in_pos = {c: elided + i for i, c in enumerate(in_letters)}
        out_pos = {c: elided + i for i, c in enumerate(out_letters)}
    else:
        full = [input_shape[0]] + partial + (list(input_shape[len(input_shape) - elided:]) if right else [])
        in_pos = {c: i for i, c in enumerate(in_letters)}
        out_pos = {c: i for i, c in enumerate(out_letters)}
    if len(full) != len(out_letters) + (elided if left or right else 0):
        raise ValueError(f"EinsumDense: output_shape {tuple(partial)} does not fit the output spec of '{equation}'")
    for c, i in in_pos.items():
        if c in out_pos:
            if full[out_pos[c]] is None:
                full[out_pos[c]] = input_shape[i]
            elif input_shape[i] is not None and full[out_pos[c]] != input_shape[i]:
                raise ValueError(f"Input shape and output shape do not match at shared dimension '{c}'. Input "
                                 f"shape is {input_shape[i]}, and output shape is {full[out_pos[c]]}.")
    for c in out_letters:
        if c not in in_pos and c not in w_spec:
            raise ValueError(f"Dimension '{c}' was specified in the output '{out_spec}' but has no corresponding dim "
                             f"in the input spec '{in_spec}' or weight spec '{w_spec}'")
    kernel_shape, input_axes, output_axes = [], [], []
    for i, c in enumerate(w_spec):
        if c in out_pos:
            kernel_shape.append(full[out_pos[c]])
            output_axes.append(i)
        elif c in in_pos:
            kernel_shape.append(input_shape[in_pos[c]])
            input_axes.append(i)
        else:
            raise ValueError(f"Weight dimension '{c}' did not have a match in either the input spec '{in_spec}' or "
                             f"the output spec '{out_spec}'. For this layer, the weight must be fully specified.")
    bias_shape = None
    if bias_axes is not None:
        for c in bias_axes:
            if c not in out_letters:
                raise ValueError(f"Bias dimension '{c}' was requested, but is not part of the output spec "
                                 f"'{out_spec}'")
        first = min(out_letters.index(c) for c in bias_axes)
        # from the first bias axis on: the bias axes' sizes, 1 for the others (and for trailing elided axes)
        bias_shape = [full[out_pos[c]] if c in bias_axes else 1 for c in out_letters[first:]]
        if right:
            bias_shape += [1] * elided
    return kernel_shape, bias_shape, full, input_axes, output_axes


class EinsumDense(Layer):
    """A dense layer of any rank: ``activation(einsum(equation, inputs, kernel) + bias)``.

    ``EinsumDense("abc,cde->abde", output_shape=(None, heads, dim), bias_axes="de")``
    projects ``(batch, T, C)`` to ``(batch, T, heads, dim)`` with a kernel
    ``(C, heads, dim)`` and a bias ``(heads, dim)``.
    """

    def __init__(self, equation, output_shape, activation=None, bias_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        check_no_quantization("EinsumDense", quantization_config)
        check_no_lora("EinsumDense", lora_rank)
        self.equation = equation
        self.partial_output_shape = (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _kernel_initializer(self, input_axes, output_axes):
        """As Keras: a variance-scaling initializer without explicit fan axes takes the equation's."""
        init = self.kernel_initializer
        if getattr(init, "_fan_axes", False) and (init.input_axes is None or init.output_axes is None):
            config = {**init.get_config(), "seed": init.seed, "input_axes": input_axes, "output_axes": output_axes}
            return type(init).from_config(config)
        return init

    def build(self, input_shape):
        kernel_shape, bias_shape, _, in_axes, out_axes = analyze_equation(self.equation, self.bias_axes,
                                                                          input_shape, self.partial_output_shape)
        if any(d is None for d in kernel_shape) or (bias_shape and any(d is None for d in bias_shape)):
            raise ValueError(f"EinsumDense {self.name!r}: the kernel shape {tuple(kernel_shape)} (or bias shape "
                             f"{bias_shape}) is not fully defined for input shape {tuple(input_shape)}")
        self.kernel = self.add_weight(name="kernel", shape=tuple(kernel_shape),
                                      initializer=self._kernel_initializer(in_axes, out_axes),
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = (self.add_weight(name="bias", shape=tuple(bias_shape), initializer=self.bias_initializer,
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                     if bias_shape is not None else None)
        self.built = True

    def call(self, inputs):
        x = fnp.einsum(self.equation, inputs, self.kernel.value)
        if self.bias is not None:
            x = x + self.bias.value
        return self.activation(x)

    def compute_output_shape(self, input_shape):
        return tuple(analyze_equation(self.equation, self.bias_axes, input_shape, self.partial_output_shape)[2])

    def get_config(self):
        return {**super().get_config(), "output_shape": list(self.partial_output_shape), "equation": self.equation,
                "activation": activations.serialize(self.activation), "bias_axes": self.bias_axes,
                "kernel_initializer": serialize_keras_object(self.kernel_initializer),
                "bias_initializer": serialize_keras_object(self.bias_initializer),
                "kernel_regularizer": serialize_keras_object(self.kernel_regularizer),
                "bias_regularizer": serialize_keras_object(self.bias_regularizer),
                "activity_regularizer": serialize_keras_object(self.activity_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint), "quantization_config": None}


__all__ = ["EinsumDense"]
