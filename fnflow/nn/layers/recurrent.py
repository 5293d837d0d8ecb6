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
states) -> (h, new_states)`` runs one step.
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


@attrs.frozen
class _RNN(Module):
    """Shared sequence machinery: subclasses define ``_project``, ``_step`` and ``_num_states``."""

    return_sequences: bool = static_field(default=False, kw_only=True, converter=bool)
    return_state: bool = static_field(default=False, kw_only=True, converter=bool)
    go_backwards: bool = static_field(default=False, kw_only=True, converter=bool)

    _num_states = 1

    @property
    def units(self):
        return self.recurrent_kernel.shape[0]

    def _project(self, x):
        """The input part of every gate, ``x @ kernel (+ input bias)``."""
        y = _mm(x, self.kernel)
        return y if self.bias is None else fnp.add(y, self.bias)

    def cell(self, x_t, states):
        """One step on ``x_t`` ``(batch, features)``: ``(output, new_states)``."""
        return self._step(self._project(x_t), tuple(states))

    def _zeros(self, batch, dtype):
        return tuple(fnp.zeros((batch, self.units), dtype) for _ in range(self._num_states))

    def __call__(self, x, initial_state=None):
        x = fnp.asarray(x)
        if fnp.ndim(x) != 3:
            raise ValueError(f"{type(self).__name__}: expected an input of shape (batch, time, features), "
                             f"got {x.shape}")
        if x.shape[2] != self.kernel.shape[0]:
            raise ValueError(f"{type(self).__name__}: input has {x.shape[2]} features, the kernel expects "
                             f"{self.kernel.shape[0]} (kernel shape {self.kernel.shape})")
        xs = fnp.swapaxes(x, 0, 1)  # time-major for the scan
        if self.go_backwards:
            xs = fnp.flip(xs, 0)
        proj = self._project(xs)
        if initial_state is None:
            states = self._zeros(x.shape[0], proj.dtype)
        else:
            states = tuple(initial_state) if isinstance(initial_state, (tuple, list)) else (initial_state,)
            if len(states) != self._num_states:
                raise ValueError(f"{type(self).__name__}: initial_state needs {self._num_states} arrays, "
                                 f"got {len(states)}")
            states = tuple(fnp.asarray(s, proj.dtype) for s in states)

        def body(carry, p):
            out, new = self._step(p, carry)
            return new, out

        final, outs = lax.scan(body, states, proj)
        output = fnp.swapaxes(outs, 0, 1) if self.return_sequences else final[0]
        return (output, *final) if self.return_state else output


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
             return_sequences=False, return_state=False, go_backwards=False, dtype=np.float32):
        kernel, recurrent, kb = _rnn_init_args(key, in_features, units, 1, kernel_initializer,
                                               recurrent_initializer, dtype)
        bias = inits.get(bias_initializer)(kb, (int(units),), dtype) if use_bias else None
        return cls(kernel, recurrent, bias, activation, return_sequences=return_sequences,
                   return_state=return_state, go_backwards=go_backwards)

    def _step(self, p, states):
        (h,) = states
        h = get_activation(self.activation)(fnp.add(p, _mm(h, self.recurrent_kernel)))
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

    @classmethod
    def init(cls, key, in_features, units, *, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
             kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
             unit_forget_bias=True, return_sequences=False, return_state=False, go_backwards=False,
             dtype=np.float32):
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
                   return_state=return_state, go_backwards=go_backwards)

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
             dtype=np.float32):
        units = int(units)
        kernel, recurrent, kb = _rnn_init_args(key, in_features, units, 3, kernel_initializer,
                                               recurrent_initializer, dtype)
        bias = None
        if use_bias:
            shape = (2, 3 * units) if reset_after else (3 * units,)
            bias = inits.get(bias_initializer)(kb, shape, dtype)
        return cls(kernel, recurrent, bias, activation, recurrent_activation, reset_after,
                   return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards)

    def _project(self, x):
        y = _mm(x, self.kernel)
        if self.bias is None:
            return y
        return fnp.add(y, self.bias[0] if self.reset_after else self.bias)

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
