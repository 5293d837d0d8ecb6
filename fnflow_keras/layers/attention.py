"""Attention layers: MultiHeadAttention with Keras's sublayers (query/key/value/attention_output einsum
projections), Attention (dot-product or concat scores) and AdditiveAttention."""

from __future__ import annotations

import math

import fnflow.nn as nn
import fnflow.numpy as fnp
from fnflow_keras import constraints, initializers, regularizers
from fnflow_keras import random as krandom
from fnflow_keras.layers.core.misc import Dropout
from fnflow_keras.layers.layer import Layer
from fnflow_keras.utils.serialization_lib import serialize_keras_object


class _Projection(Layer):
    """An EinsumDense-like projection: kernel ``in_shape + out_shape`` contracted over the input axes."""

    def __init__(self, in_axes, out_shape, use_bias, kernel_initializer, bias_initializer, kernel_constraint=None,
                 bias_constraint=None, kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint
        self.in_axes, self.out_shape, self.use_bias = in_axes, tuple(out_shape), use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer

    def build(self, input_shape):
        in_shape = tuple(input_shape[-self.in_axes:])
        self.kernel = self.add_weight(name="kernel", shape=in_shape + self.out_shape,
                                      initializer=self.kernel_initializer.clone(), constraint=self.kernel_constraint,
                                      regularizer=self.kernel_regularizer)
        bias_shape = self.out_shape if self.in_axes == 1 else self.out_shape[-1:]
        self.bias = (self.add_weight(name="bias", shape=bias_shape, initializer=self.bias_initializer.clone(),
                                     constraint=self.bias_constraint, regularizer=self.bias_regularizer)
                     if self.use_bias else None)
        self.built = True

    def call(self, x):
        k = self.kernel.value
        n_in = self.in_axes
        lead = tuple(x.shape[:-n_in])
        xr = fnp.reshape(x, lead + (-1,))
        kr = fnp.reshape(k, (-1, math.prod(self.out_shape)))
        y = fnp.reshape(fnp.matmul(xr, kr), lead + self.out_shape)
        return y + self.bias.value if self.bias is not None else y


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al.), Keras 3's layout: ``query`` kernel ``(dim, heads, key_dim)``..."""

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, seed=None, use_gate=False, sliding_window=None, **kwargs):
        super().__init__(**kwargs)
        # as Keras: the regularizers go to the four projections (so does the activity one, on their outputs)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.projection_activity_regularizer = regularizers.get(activity_regularizer)
        if use_gate or sliding_window is not None:
            raise NotImplementedError("MultiHeadAttention: use_gate=True and sliding_window are not supported by "
                                      "fnflow_keras")
        if attention_axes not in (None, -2, (1,), [1]):
            raise NotImplementedError("MultiHeadAttention: only attention over the sequence axis is available")
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = int(value_dim) if value_dim else self.key_dim
        self.dropout, self.use_bias = float(dropout), use_bias
        self._output_shape = output_shape
        self.attention_axes = attention_axes
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.seed = seed

    def build(self, query_shape, value_shape=None, key_shape=None):
        if isinstance(query_shape, list) and query_shape and isinstance(query_shape[0], tuple):
            query_shape, value_shape = query_shape[0], query_shape[1]
        value_shape = value_shape or query_shape
        key_shape = key_shape or value_shape
        h = self.num_heads
        args = dict(use_bias=self.use_bias, kernel_initializer=self.kernel_initializer,
                    bias_initializer=self.bias_initializer, kernel_constraint=self.kernel_constraint,
                    bias_constraint=self.bias_constraint, kernel_regularizer=self.kernel_regularizer,
                    bias_regularizer=self.bias_regularizer, activity_regularizer=self.projection_activity_regularizer)
        out_dim = query_shape[-1] if self._output_shape is None else (
            self._output_shape if isinstance(self._output_shape, int) else self._output_shape[-1])
        self._query_dense = _Projection(1, (h, self.key_dim), name="query", **args)
        self._key_dense = _Projection(1, (h, self.key_dim), name="key", **args)
        self._value_dense = _Projection(1, (h, self.value_dim), name="value", **args)
        self._output_dense = _Projection(2, (out_dim,), name="attention_output", **args)
        self._query_dense._maybe_build(tuple(query_shape))
        self._key_dense._maybe_build(tuple(key_shape))
        self._value_dense._maybe_build(tuple(value_shape))
        self._output_dense._maybe_build(tuple(query_shape[:-1]) + (h, self.value_dim))
        self._dropout_layer = Dropout(self.dropout, seed=self.seed)
        self.built = True

    def __call__(self, query, value=None, key=None, **kwargs):
        if not self.built:
            from fnflow_keras import backend

            shape = tuple(query.shape)
            with backend.name_scope(self.name):
                self.build(shape, None if value is None else tuple(value.shape),
                           None if key is None else tuple(key.shape))
            self._build_shapes = shape
            self.built = True
        return super().__call__(query, value=value, key=key, **kwargs)

    def call(self, query, value=None, key=None, attention_mask=None, return_attention_scores=False, training=None,
             use_causal_mask=False):
        value = query if value is None else value
        key = value if key is None else key
        q = self._query_dense(query) * (1.0 / math.sqrt(self.key_dim))  # (B, T, H, K)
        k = self._key_dense(key)
        v = self._value_dense(value)
        scores = fnp.einsum("bthk,bshk->bhts", q, k)
        mask = None
        if attention_mask is not None:
            mask = fnp.asarray(attention_mask).astype(bool)[:, None]
        if use_causal_mask:
            t, s = scores.shape[-2], scores.shape[-1]
            causal = fnp.tril(fnp.ones((t, s), bool))
            mask = causal if mask is None else fnp.logical_and(mask, causal)
        if mask is not None:
            scores = fnp.where(mask, scores, fnp.full_like(scores, -1e9))
        weights = nn.softmax(scores, axis=-1)
        weights_d = self._dropout_layer(weights, training=training)
        out = fnp.einsum("bhts,bshv->bthv", weights_d, v)
        out = self._output_dense(out)
        if return_attention_scores:
            return out, weights
        return out

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout, "use_bias": self.use_bias, "use_gate": False,
                "output_shape": self._output_shape, "attention_axes": self.attention_axes, "sliding_window": None,
                "kernel_initializer": serialize_keras_object(self.kernel_initializer),
                "bias_initializer": serialize_keras_object(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": regularizers.serialize(self.projection_activity_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint), "seed": self.seed}



class Attention(Layer):
    """Dot-product (Luong) attention over ``[query, value]`` or ``[query, value, key]`` (key defaults to value).

    ``scores = query @ key^T`` (times the trainable scalar ``scale`` with ``use_scale=True``);
    ``score_mode="concat"`` scores with ``concat_score_weight * sum(tanh(scale * (q + k)))`` instead.
    ``mask=[query_mask, value_mask]`` hides value steps from the softmax and zeroes masked query steps;
    ``use_causal_mask=True`` lets query step ``i`` see value steps ``<= i`` only.
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"Invalid value for argument score_mode. Expected one of {{'dot', 'concat'}}. "
                             f"Received: score_mode={score_mode}")
        self.use_scale, self.score_mode = use_scale, score_mode
        self.dropout, self.seed = dropout, seed
        self.seed_generator = krandom.SeedGenerator(seed) if dropout > 0 else None
        self.supports_masking = True

    def _check_inputs(self, inputs, mask=None):
        name = type(self).__name__
        if not isinstance(inputs, (list, tuple)) or not 2 <= len(inputs) <= 3:
            raise ValueError(f"{name} layer must be called on a list of inputs, namely [query, value] or [query, "
                             f"value, key]. Received: inputs={inputs}.")
        if mask is not None and (not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3):
            raise ValueError(f"{name} layer mask must be a list, namely [query_mask, value_mask]. Received: "
                             f"mask={mask}.")

    def build(self, input_shape):
        self._check_inputs(input_shape)
        self.scale = self.add_weight(name="scale", shape=(), initializer="ones") if self.use_scale else None
        self.concat_score_weight = (self.add_weight(name="concat_score_weight", shape=(), initializer="ones")
                                    if self.score_mode == "concat" else None)
        self.built = True

    def _scores(self, query, key):
        if self.score_mode == "dot":
            scores = fnp.matmul(query, fnp.swapaxes(key, -2, -1))
            return scores * self.scale.value if self.scale is not None else scores
        pairs = fnp.expand_dims(query, -2) + fnp.expand_dims(key, -3)  # (..., Tq, Tv, dim)
        if self.scale is not None:
            pairs = pairs * self.scale.value
        return self.concat_score_weight.value * fnp.sum(fnp.tanh(pairs), axis=-1)

    def call(self, inputs, mask=None, training=False, return_attention_scores=False, use_causal_mask=False):
        self._check_inputs(inputs, mask)
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) > 2 else v
        q_mask = None if not mask or mask[0] is None else fnp.asarray(mask[0]).astype(bool)
        v_mask = None if not mask or mask[1] is None else fnp.asarray(mask[1]).astype(bool)
        scores = self._scores(q, k)
        keep = None if v_mask is None else fnp.expand_dims(v_mask, -2)  # (B, 1, Tv)
        if use_causal_mask:
            tq, tv = scores.shape[-2], scores.shape[-1]
            causal = fnp.tril(fnp.ones((tq, tv), bool))[None]
            keep = causal if keep is None else fnp.logical_and(keep, causal)
        if keep is not None:  # as Keras: masked scores are lowered by 1e9, not set to -inf
            scores = fnp.where(keep, scores, scores - 1e9)
        weights = nn.softmax(scores, axis=-1)
        used = weights
        if training and self.dropout > 0:
            used = krandom.dropout(weights, self.dropout, seed=self.seed_generator)
        out = fnp.matmul(used, v)
        if q_mask is not None:
            out = fnp.where(fnp.expand_dims(q_mask, -1), out, fnp.zeros_like(out))
        return (out, weights) if return_attention_scores else out

    def compute_mask(self, inputs, mask=None):
        if mask is None or mask[0] is None:
            return None
        return fnp.asarray(mask[0])

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode,
                "dropout": self.dropout, "seed": self.seed}


class AdditiveAttention(Attention):
    """Additive (Bahdanau) attention: ``scores = sum(scale * tanh(q + k), axis=-1)`` with a trainable ``scale``
    vector of the query's feature size (``use_scale=True``), else a sum of ``tanh(q + k)``."""

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        self._check_inputs(input_shape)
        dim = input_shape[0][-1]
        self.scale = self.add_weight(name="scale", shape=(dim,), initializer="glorot_uniform") \
            if self.use_scale else None
        self.concat_score_weight = None
        self.built = True

    def _scores(self, query, key):
        t = fnp.tanh(fnp.expand_dims(query, -2) + fnp.expand_dims(key, -3))
        return fnp.sum(t * self.scale.value if self.scale is not None else t, axis=-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config


__all__ = ["MultiHeadAttention", "Attention", "AdditiveAttention"]
