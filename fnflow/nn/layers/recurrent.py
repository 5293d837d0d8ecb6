"""Recurrent layers with Keras's weights and formulas: ``SimpleRNN``, ``LSTM``, ``GRU``.

Inputs are ``(batch, time, features)``. The input projection ``x @ kernel``
is computed for every step at once; the recurrence runs in
:func:`fnflow.lax.scan`. Options as Keras's: ``return_sequences`` (every
step's output, ``(batch, time, units)``, instead of the last one),
``return_state`` (also return the final states: ``(output, h)`` or, for
LSTM, ``(output, h, c)``), ``go_backwards`` (process the sequence in reverse;
returned sequences are then in processing order, as Keras does).
``layer(x, initial_state=...)`` takes a state (a tuple of ``(batch, units)``
arrays, or one array for SimpleRNN/GRU); the default is zeros. ``layer.cell(x_t,
states) -> (h, new_states)`` runs one step (without dropout).

Dropout as Keras 3: ``dropout`` (inputs) and ``recurrent_dropout`` (the previous
output ``h`` in the recurrent products) are rates in ``[0, 1)``, active with
``layer(x, key=k, training=True)``. The masks are drawn once per call from ``k``
(the same for every time step; the same key gives the same masks) and scale kept
entries by ``1 / (1 - rate)``. Without recurrent dropout LSTM and GRU share one
input mask between their gates; with ``recurrent_dropout > 0`` (Keras's
implementation 1) every gate has its own input mask and its own mask on ``h``,
and the masked copies of ``h`` only feed the recurrent products: the carried
state is never masked (GRU's blend ``z h + (1 - z) hh`` uses the unmasked ``h``).
:meth:`dropout_masks` returns the masks a key gives.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

import fnflow.numpy as fnp
import fnflow.random as fr
from fnflow import lax
from fnflow.nn import initializers as inits
from fnflow.nn.module import Module, activation_field, get_activation, static_field

__all__ = ["SimpleRNN", "LSTM", "GRU"]


def _mm(a, b):
    return fnp.matmul(a, b)


def _rate(name):
    def check(instance, attribute, value):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{type(instance).__name__}: {name} must be a rate in [0, 1), got {value}")

    return check


def _gate_kernel(kernel, gates):
    """``(n, gates * u)`` -> ``(gates, n, u)``: one block per gate, for the batched per-gate products."""
    n, m = kernel.shape
    return fnp.moveaxis(fnp.reshape(kernel, (n, gates, m // gates)), 1, 0)


def _gate_recurrent(h, masks, rk_gates):
    """``(h * masks[g]) @ rk_gates[g]`` for every gate as one batched product: ``(gates, batch, u)``."""
    return _mm(h if masks is None else fnp.multiply(h, masks), rk_gates)


def _scaled_mask(key, rate, shape, dtype):
    keep = fr.dropout_mask(key, rate, shape)
    return fnp.where(keep, fnp.asarray(1.0 / (1.0 - rate), dtype), fnp.zeros((), dtype))


@attrs.frozen
class _RNN(Module):
    """Shared sequence machinery: subclasses define ``_step``, ``_num_states``, ``_gates`` and, for the
    per-gate dropout path, ``_step_gates``."""

    return_sequences: bool = static_field(default=False, kw_only=True, converter=bool)
    return_state: bool = static_field(default=False, kw_only=True, converter=bool)
    go_backwards: bool = static_field(default=False, kw_only=True, converter=bool)
    dropout: float = static_field(default=0.0, kw_only=True, converter=float, validator=_rate("dropout"))
    recurrent_dropout: float = static_field(default=0.0, kw_only=True, converter=float,
                                            validator=_rate("recurrent_dropout"))

    _num_states = 1
    _gates = 1

    @property
    def units(self):
        return self.recurrent_kernel.shape[0]

    @property
    def stochastic(self):
        """A layer with a dropout rate takes ``key=`` and ``training=`` (:class:`fnflow.nn.Sequential`)."""
        return self.dropout > 0.0 or self.recurrent_dropout > 0.0

    @property
    def per_gate(self):
        """Whether dropout uses one mask per gate (LSTM/GRU with ``recurrent_dropout > 0``, as Keras)."""
        return self._gates > 1 and self.recurrent_dropout > 0.0

    def _input_bias(self):
        return self.bias

    def _project(self, x):
        """The input part of every gate, ``x @ kernel (+ input bias)``."""
        y = _mm(x, self.kernel)
        b = self._input_bias()
        return y if b is None else fnp.add(y, b)

    def dropout_masks(self, key, batch, features=None, dtype=np.float32):
        """The masks one training call draws from ``key``: ``(input_mask, recurrent_mask)``, None when unused.

        Entries are 0 or ``1 / (1 - rate)``. Shapes ``(batch, features)`` and
        ``(batch, units)``, with a leading gate axis (``(gates, batch, ...)``,
        independent masks) when :attr:`per_gate`. ``features`` defaults to the kernel's.
        """
        features = self.kernel.shape[0] if features is None else int(features)
        lead = (self._gates,) if self.per_gate else ()
        k_in, k_rec = fr.split(key)
        inp = _scaled_mask(k_in, self.dropout, lead + (batch, features), dtype) if self.dropout > 0 else None
        rec = (_scaled_mask(k_rec, self.recurrent_dropout, lead + (batch, self.units), dtype)
               if self.recurrent_dropout > 0 else None)
        return inp, rec

    def _gate_project(self, xs, masks):
        """Per-gate input part, gate-major ``(time, gates, batch, u)`` from time-major ``xs``."""
        g = self._gates
        time, batch, features = xs.shape
        u = self.kernel.shape[1] // g
        if masks is None:
            y = fnp.reshape(_mm(xs, self.kernel), (time, batch, g, u))
            y = fnp.swapaxes(y, 1, 2)
        else:
            xm = fnp.multiply(xs[None], masks[:, None])  # (gates, time, batch, features)
            y = _mm(fnp.reshape(xm, (g, time * batch, features)), _gate_kernel(self.kernel, g))
            y = fnp.swapaxes(fnp.reshape(y, (g, time, batch, u)), 0, 1)
        b = self._input_bias()
        return y if b is None else fnp.add(y, fnp.reshape(b, (g, 1, u)))

    def cell(self, x_t, states):
        """One step on ``x_t`` ``(batch, features)``: ``(output, new_states)``."""
        return self._step(self._project(x_t), tuple(states))

    def _zeros(self, batch, dtype):
        return tuple(fnp.zeros((batch, self.units), dtype) for _ in range(self._num_states))

    def __call__(self, x, initial_state=None, *, key=None, training=False):
        """Run the layer on ``x`` ``(batch, time, features)``; ``key`` and ``training=True`` turn dropout on."""
        x = fnp.asarray(x)
        if fnp.ndim(x) != 3:
            raise ValueError(f"{type(self).__name__}: expected an input of shape (batch, time, features), "
                             f"got {x.shape}")
        if x.shape[2] != self.kernel.shape[0]:
            raise ValueError(f"{type(self).__name__}: input has {x.shape[2]} features, the kernel expects "
                             f"{self.kernel.shape[0]} (kernel shape {self.kernel.shape})")
        drop = training and self.stochastic
        if drop and key is None:
            raise ValueError(f"{type(self).__name__}: training=True with dropout={self.dropout}, "
                             f"recurrent_dropout={self.recurrent_dropout} needs a random key: "
                             "layer(x, key=k, training=True) with k from fnflow.random.key / split")
        xs = fnp.swapaxes(x, 0, 1)  # time-major for the scan
        if self.go_backwards:
            xs = fnp.flip(xs, 0)
        in_mask = rec_mask = None
        if drop:
            dtype = fnp.result_type(xs.dtype, self.kernel.dtype)
            in_mask, rec_mask = self.dropout_masks(key, x.shape[0], x.shape[2], dtype)
        if drop and self.per_gate:
            proj = self._gate_project(xs, in_mask)  # (time, gates, batch, u)
            rk_gates = _gate_kernel(self.recurrent_kernel, self._gates)

            def cell_step(p, carry):
                return self._step_gates(p, carry, rec_mask, rk_gates)
        else:
            if in_mask is not None:
                xs = fnp.multiply(xs, in_mask)  # one mask for every step and gate
            proj = self._project(xs)
            if rec_mask is None:
                def cell_step(p, carry):
                    return self._step(p, carry)
            else:  # SimpleRNN
                def cell_step(p, carry):
                    return self._step(p, carry, rec_mask)
        if initial_state is None:
            states = self._zeros(x.shape[0], proj.dtype)
        else:
            states = tuple(initial_state) if isinstance(initial_state, (tuple, list)) else (initial_state,)
            if len(states) != self._num_states:
                raise ValueError(f"{type(self).__name__}: initial_state needs {self._num_states} arrays, "
                                 f"got {len(states)}")
            states = tuple(fnp.asarray(s, proj.dtype) for s in states)

        def body(carry, p):
            out, new = cell_step(p, carry)
            return new, out

        final, outs = lax.scan(body, states, proj)
        output = fnp.swapaxes(outs, 0, 1) if self.return_sequences else final[0]
        return (output, *final) if self.return_state else output

    def apply(self, x, state=None, *, key=None, training=False):
        return self(x, key=key, training=training), state


def _rnn_init_args(key, in_features, units, n_gates, kernel_initializer, recurrent_initializer, dtype):
    kk, kr, kb = fr.split(key, 3)
    kernel = inits.get(kernel_initializer)(kk, (int(in_features), n_gates * int(units)), dtype)
    recurrent = inits.get(recurrent_initializer)(kr, (int(units), n_gates * int(units)), dtype)
    return kernel, recurrent, kb


@attrs.frozen
class SimpleRNN(_RNN):
    """``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)`` (Keras's SimpleRNN).

    Parameters: ``kernel`` ``(in, units)`` glorot-uniform, ``recurrent_kernel``
    ``(units, units)`` orthogonal, ``bias`` ``(units,)`` zeros.
    """

    kernel: Any = None
    recurrent_kernel: Any = None
    bias: Any = None
    activation: Any = activation_field("tanh")

    @classmethod
    def init(cls, key, in_features, units, *, activation="tanh", use_bias=True,
             kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
             return_sequences=False, return_state=False, go_backwards=False, dropout=0.0, recurrent_dropout=0.0,
             dtype=np.float32):
        kernel, recurrent, kb = _rnn_init_args(key, in_features, units, 1, kernel_initializer,
                                               recurrent_initializer, dtype)
        bias = inits.get(bias_initializer)(kb, (int(units),), dtype) if use_bias else None
        return cls(kernel, recurrent, bias, activation, return_sequences=return_sequences,
                   return_state=return_state, go_backwards=go_backwards, dropout=dropout,
                   recurrent_dropout=recurrent_dropout)

    def _step(self, p, states, rec_mask=None):
        (h,) = states
        hm = h if rec_mask is None else fnp.multiply(h, rec_mask)  # masks the recurrent product only
        h = get_activation(self.activation)(fnp.add(p, _mm(hm, self.recurrent_kernel)))
        return h, (h,)


@attrs.frozen
class LSTM(_RNN):
    """Keras's LSTM: gates in the order i, f, c, o along the last axis of the weights.

    ``z = x_t @ kernel + h @ recurrent_kernel + bias``;
    ``i, f, o = recurrent_activation(z_i, z_f, z_o)``;
    ``c_t = f * c + i * activation(z_c)``; ``h_t = o * activation(c_t)``.
    Parameters: ``kernel`` ``(in, 4 units)`` glorot-uniform, ``recurrent_kernel``
    ``(units, 4 units)`` orthogonal, ``bias`` ``(4 units,)`` zeros, with the
    forget slice set to 1 when ``unit_forget_bias`` (the default).
    """

    kernel: Any = None
    recurrent_kernel: Any = None
    bias: Any = None
    activation: Any = activation_field("tanh")
    recurrent_activation: Any = activation_field("sigmoid")

    _num_states = 2
    _gates = 4

    @classmethod
    def init(cls, key, in_features, units, *, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
             kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
             unit_forget_bias=True, return_sequences=False, return_state=False, go_backwards=False, dropout=0.0,
             recurrent_dropout=0.0, dtype=np.float32):
        units = int(units)
        kernel, recurrent, kb = _rnn_init_args(key, in_features, units, 4, kernel_initializer,
                                               recurrent_initializer, dtype)
        bias = None
        if use_bias:
            binit = inits.get(bias_initializer)
            if unit_forget_bias:
                k1, k2 = fr.split(kb)
                bias = fnp.concatenate([binit(k1, (units,), dtype), fnp.ones((units,), dtype),
                                        binit(k2, (2 * units,), dtype)])
            else:
                bias = binit(kb, (4 * units,), dtype)
        return cls(kernel, recurrent, bias, activation, recurrent_activation, return_sequences=return_sequences,
                   return_state=return_state, go_backwards=go_backwards, dropout=dropout,
                   recurrent_dropout=recurrent_dropout)

    def _step(self, p, states):
        h, c = states
        u = self.units
        z = fnp.add(p, _mm(h, self.recurrent_kernel))
        act, ract = get_activation(self.activation), get_activation(self.recurrent_activation)
        i = ract(z[..., :u])
        f = ract(z[..., u:2 * u])
        g = act(z[..., 2 * u:3 * u])
        o = ract(z[..., 3 * u:])
        c = fnp.add(fnp.multiply(f, c), fnp.multiply(i, g))
        h = fnp.multiply(o, act(c))
        return h, (h, c)

    def _step_gates(self, p, states, rec_masks, rk_gates):
        """Per-gate step: ``p`` ``(4, batch, units)``, ``rec_masks`` ``(4, batch, units)`` or None."""
        h, c = states
        z = fnp.add(p, _gate_recurrent(h, rec_masks, rk_gates))
        act, ract = get_activation(self.activation), get_activation(self.recurrent_activation)
        i, f, o = ract(z[0]), ract(z[1]), ract(z[3])
        c = fnp.add(fnp.multiply(f, c), fnp.multiply(i, act(z[2])))
        h = fnp.multiply(o, act(c))
        return h, (h, c)


@attrs.frozen
class GRU(_RNN):
    """Keras's GRU: gates in the order z (update), r (reset), h (candidate).

    ``z = ra(x W_z + b_z + h U_z + b'_z)``, ``r = ra(x W_r + b_r + h U_r + b'_r)``;
    with ``reset_after=True`` (the default, cuDNN-compatible) the candidate is
    ``hh = act(x W_h + b_h + r * (h U_h + b'_h))`` and ``bias`` is
    ``(2, 3 units)`` (row 0 input bias, row 1 recurrent bias); with
    ``reset_after=False`` it is ``hh = act(x W_h + b_h + (r * h) U_h)`` and
    ``bias`` is ``(3 units,)``. Then ``h_t = z * h + (1 - z) * hh``.
    """

    kernel: Any = None
    recurrent_kernel: Any = None
    bias: Any = None
    activation: Any = activation_field("tanh")
    recurrent_activation: Any = activation_field("sigmoid")
    reset_after: bool = static_field(default=True, converter=bool)

    @classmethod
    def init(cls, key, in_features, units, *, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
             reset_after=True, kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
             bias_initializer="zeros", return_sequences=False, return_state=False, go_backwards=False,
             dropout=0.0, recurrent_dropout=0.0, dtype=np.float32):
        units = int(units)
        kernel, recurrent, kb = _rnn_init_args(key, in_features, units, 3, kernel_initializer,
                                               recurrent_initializer, dtype)
        bias = None
        if use_bias:
            shape = (2, 3 * units) if reset_after else (3 * units,)
            bias = inits.get(bias_initializer)(kb, shape, dtype)
        return cls(kernel, recurrent, bias, activation, recurrent_activation, reset_after,
                   return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards,
                   dropout=dropout, recurrent_dropout=recurrent_dropout)

    _gates = 3

    def _input_bias(self):
        if self.bias is None:
            return None
        return self.bias[0] if self.reset_after else self.bias

    def _step(self, p, states):
        (h,) = states
        u = self.units
        act, ract = get_activation(self.activation), get_activation(self.recurrent_activation)
        rk = self.recurrent_kernel
        if self.reset_after:
            inner = _mm(h, rk)
            if self.bias is not None:
                inner = fnp.add(inner, self.bias[1])
        else:
            inner = _mm(h, rk[:, :2 * u])
        z = ract(fnp.add(p[..., :u], inner[..., :u]))
        r = ract(fnp.add(p[..., u:2 * u], inner[..., u:2 * u]))
        if self.reset_after:
            rh = fnp.multiply(r, inner[..., 2 * u:])
        else:
            rh = _mm(fnp.multiply(r, h), rk[:, 2 * u:])
        hh = act(fnp.add(p[..., 2 * u:], rh))
        h = fnp.add(fnp.multiply(z, h), fnp.multiply(fnp.subtract(1.0, z), hh))
        return h, (h,)

    def _step_gates(self, p, states, rec_masks, rk_gates):
        """Per-gate step: ``p`` ``(3, batch, units)``, ``rec_masks`` ``(3, batch, units)`` or None.

        The masked copies of ``h`` feed the recurrent products only; the blend uses the unmasked ``h``."""
        (h,) = states
        act, ract = get_activation(self.activation), get_activation(self.recurrent_activation)
        if self.reset_after:
            inner = _gate_recurrent(h, rec_masks, rk_gates)
            if self.bias is not None:
                inner = fnp.add(inner, fnp.reshape(self.bias[1], (3, 1, self.units)))
        else:
            inner = _gate_recurrent(h, None if rec_masks is None else rec_masks[:2], rk_gates[:2])
        z = ract(fnp.add(p[0], inner[0]))
        r = ract(fnp.add(p[1], inner[1]))
        if self.reset_after:
            rh = fnp.multiply(r, inner[2])
        else:
            hm = h if rec_masks is None else fnp.multiply(h, rec_masks[2])
            rh = _mm(fnp.multiply(r, hm), rk_gates[2])
        hh = act(fnp.add(p[2], rh))
        h = fnp.add(fnp.multiply(z, h), fnp.multiply(fnp.subtract(1.0, z), hh))
        return h, (h,)
