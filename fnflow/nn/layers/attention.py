"""Multi-head attention with Keras's weight layout."""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

import fnflow.numpy as fnp
import fnflow.random as fr
from fnflow.nn import activations
from fnflow.nn import initializers as inits
from fnflow.nn.module import Module, static_field

__all__ = ["MultiHeadAttention"]

_NEG = -1e9  # Keras's additive mask value for float32 softmax inputs


@attrs.frozen
class MultiHeadAttention(Module):
    """Keras's ``MultiHeadAttention``: scaled dot-product attention over ``num_heads`` heads.

    Parameters (Keras's layout): ``query_kernel`` ``(query_dim, num_heads,
    key_dim)``, ``key_kernel`` ``(key_input_dim, num_heads, key_dim)``,
    ``value_kernel`` ``(value_input_dim, num_heads, value_dim)``, their biases
    ``(num_heads, head_dim)``, ``output_kernel`` ``(num_heads, value_dim,
    output_dim)`` and ``output_bias`` ``(output_dim,)``.

    ``mha(query, value=None, key_input=None, *, attention_mask=None,
    use_causal_mask=False, return_attention_scores=False, key=None,
    training=False)``: ``query`` ``(..., T, query_dim)``, ``value`` ``(..., S,
    value_input_dim)`` (``None``: self-attention on ``query``), ``key_input``
    the key tensor (Keras's ``key`` argument; defaults to ``value``).
    ``key=`` is the random key for attention dropout, as for every fnflow
    layer. ``attention_mask`` ``(..., T, S)`` is True (1) where a query may
    attend. Returns ``(..., T, output_dim)`` and, with
    ``return_attention_scores``, the probabilities ``(..., num_heads, T, S)``.
    """

    query_kernel: Any
    key_kernel: Any
    value_kernel: Any
    output_kernel: Any
    query_bias: Any = None
    key_bias: Any = None
    value_bias: Any = None
    output_bias: Any = None
    dropout: float = static_field(default=0.0, converter=float)

    stochastic = True

    @classmethod
    def init(cls, key, query_dim, num_heads, key_dim, *, value_dim=None, key_input_dim=None, value_input_dim=None,
             output_dim=None, dropout=0.0, use_bias=True, kernel_initializer="glorot_uniform",
             bias_initializer="zeros", dtype=np.float32):
        """A new layer. ``query_dim`` is the query's feature size; ``value_input_dim`` defaults to it,
        ``key_input_dim`` to ``value_input_dim``, ``value_dim`` (per-head value size) to ``key_dim``
        and ``output_dim`` to ``query_dim`` (Keras's defaults)."""
        h, kd = int(num_heads), int(key_dim)
        vd = kd if value_dim is None else int(value_dim)
        qin = int(query_dim)
        vin = qin if value_input_dim is None else int(value_input_dim)
        kin = vin if key_input_dim is None else int(key_input_dim)
        out = qin if output_dim is None else int(output_dim)
        ks = fr.split(key, 8)
        kinit, binit = inits.get(kernel_initializer), inits.get(bias_initializer)

        def b(k, shape):
            return binit(k, shape, dtype) if use_bias else None

        return cls(kinit(ks[0], (qin, h, kd), dtype), kinit(ks[1], (kin, h, kd), dtype),
                   kinit(ks[2], (vin, h, vd), dtype), kinit(ks[3], (h, vd, out), dtype),
                   b(ks[4], (h, kd)), b(ks[5], (h, kd)), b(ks[6], (h, vd)), b(ks[7], (out,)), dropout)

    @property
    def num_heads(self):
        return self.query_kernel.shape[1]

    @property
    def key_dim(self):
        return self.query_kernel.shape[2]

    @staticmethod
    def _dense(x, kernel, bias):
        y = fnp.einsum("...d,dnh->...nh", x, kernel)
        return y if bias is None else fnp.add(y, bias)

    def __call__(self, query, value=None, key_input=None, *, attention_mask=None, use_causal_mask=False,
                 return_attention_scores=False, key=None, training=False):
        query = fnp.asarray(query)
        value = query if value is None else fnp.asarray(value)
        key_input = value if key_input is None else fnp.asarray(key_input)
        q = self._dense(query, self.query_kernel, self.query_bias)       # (..., T, N, H)
        k = self._dense(key_input, self.key_kernel, self.key_bias)      # (..., S, N, H)
        v = self._dense(value, self.value_kernel, self.value_bias)      # (..., S, N, Hv)
        q = fnp.multiply(q, np.asarray(1.0 / math.sqrt(self.key_dim), q.dtype))
        scores = fnp.einsum("...snh,...tnh->...nts", k, q)              # (..., N, T, S)
        mask = None
        if attention_mask is not None:
            mask = fnp.expand_dims(fnp.asarray(attention_mask, bool), -3)
        if use_causal_mask:
            t, s = scores.shape[-2], scores.shape[-1]
            causal = fnp.tril(fnp.ones((t, s), bool))
            mask = causal if mask is None else fnp.logical_and(mask, causal)
        if mask is not None:
            scores = fnp.where(mask, scores, np.asarray(_NEG, scores.dtype))
        probs = activations.softmax(scores, axis=-1)
        if training and self.dropout > 0.0:
            if key is None:
                raise ValueError("MultiHeadAttention: training with dropout > 0 needs a random key: "
                                 "mha(q, v, key=k, training=True)")
            keep = fr.dropout_mask(key, self.dropout, probs.shape)
            dropped = fnp.where(keep, fnp.divide(probs, np.asarray(1.0 - self.dropout, probs.dtype)),
                                np.asarray(0, probs.dtype))
        else:
            dropped = probs
        ctx = fnp.einsum("...nts,...snh->...tnh", dropped, v)           # (..., T, N, Hv)
        out = fnp.einsum("...tnh,nho->...to", ctx, self.output_kernel)
        if self.output_bias is not None:
            out = fnp.add(out, self.output_bias)
        return (out, probs) if return_attention_scores else out

    def apply(self, x, state=None, *, key=None, training=False):
        """Self-attention on ``x`` (as a layer of a ``Sequential``)."""
        return self(x, key=key, training=training), state
