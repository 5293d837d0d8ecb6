"""Recurrent layers over ``fnflow.lax.scan``: SimpleRNN, LSTM, GRU (Keras weight layouts and gate orders).

Each layer owns a cell (``simple_rnn_cell``, ``lstm_cell``, ``gru_cell``) that
holds ``kernel`` ``(input_dim, k * units)``, ``recurrent_kernel`` ``(units, k *
units)`` and ``bias``. Gate orders: LSTM ``i, f, c, o``; GRU ``z, r, h`` with
``reset_after=True`` (bias ``(2, 3 * units)``: input and recurrent biases).

Dropout follows Keras 3: ``dropout`` draws input masks and ``recurrent_dropout``
masks for the previous output ``h``, once per call (the same for every time
step), scaled by ``1 / (1 - rate)``, only with ``training=True``. Without
recurrent dropout, LSTM and GRU (Keras's implementation 2) use one input mask for
all gates. With ``recurrent_dropout > 0`` (or ``implementation=1``) they switch to
Keras's implementation 1: one independent input mask and one recurrent mask per
gate (LSTM 4, GRU 3); each masked copy of ``h`` only feeds its gate's recurrent
product and the carried state itself is never masked (GRU's blend ``z * h + (1 -
z) * hh`` uses the unmasked ``h``). This path runs the gates "gate-major":
``(gates, batch, units)`` blocks computed by one batched matrix product per step.
SimpleRNN has one input mask and one recurrent mask.
"""

from __future__ import annotations

import numpy as np

import fnflow
import fnflow.lax as lax
import fnflow.numpy as fnp
from fnflow_keras import activations, constraints, initializers, regularizers
from fnflow_keras import random as krandom
from fnflow_keras.layers.layer import Layer
from fnflow_keras.utils.serialization_lib import serialize_keras_object


def _gate_kernel(kernel, gates):
    """``(n, gates * u)`` -> ``(gates, n, u)``: one block per gate, for the batched per-gate products."""
    n, m = kernel.shape
    return fnp.moveaxis(fnp.reshape(kernel, (n, gates, m // gates)), 1, 0)


def _gate_recurrent(h, masks, rk_gates):
    """Per-gate recurrent products ``(h * masks[g]) @ rk_gates[g]``, all gates at once: ``(gates, batch, u)``.

    ``masks`` is ``(gates, batch, units)`` (or None: the same ``h`` for every gate)."""
    return fnp.matmul(h if masks is None else h * masks, rk_gates)


class _Cell(Layer):
    gates = 1
    # LSTM and GRU test ``0 < rate < 1`` before dropping (Keras's cells); SimpleRNN drops for any rate > 0
    _open_rate_interval = True

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        self._extra = {k: kwargs.pop(k) for k in ("unit_forget_bias", "reset_after") if k in kwargs}
        implementation = kwargs.pop("implementation", 2)  # Keras's LSTM/GRU argument; not saved in configs
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = min(1.0, max(0.0, dropout))
        self.recurrent_dropout = min(1.0, max(0.0, recurrent_dropout))
        self.seed = seed
        self.seed_generator = krandom.SeedGenerator(seed)
        # Keras: recurrent dropout switches LSTM/GRU to implementation 1 (per-gate masks)
        self.implementation = 1 if (self.recurrent_dropout != 0.0 and self.gates > 1) else implementation

    def _active(self, rate):
        return 0.0 < rate < 1.0 if self._open_rate_interval else rate > 0.0

    @property
    def per_gate(self):
        """Whether dropout runs Keras's implementation 1 (one mask per gate)."""
        return self.gates > 1 and self.implementation == 1

    def _mask(self, shape, rate, dtype):
        return krandom.dropout(fnp.ones(shape, dtype), rate, seed=self.seed_generator)

    def dropout_masks(self, batch, features, dtype):
        """The dropout masks of one training call: ``(input_mask, recurrent_mask)``, each None when unused.

        Entries are 0 or ``1 / (1 - rate)`` (Keras's ``dropout(ones)``). Shapes:
        ``(batch, features)`` and ``(batch, units)``, with a leading gate axis
        (``(gates, batch, ...)``: independent masks) in the per-gate implementation.
        """
        lead = (self.gates,) if self.per_gate else ()
        inp = self._mask(lead + (batch, features), self.dropout, dtype) if self._active(self.dropout) else None
        rec = (self._mask(lead + (batch, self.units), self.recurrent_dropout, dtype)
               if self._active(self.recurrent_dropout) else None)
        return inp, rec

    def input_bias(self, w):
        """The bias added to the input projection (``(gates * units,)``) or None."""
        return w["bias"] if self.use_bias else None

    def input_projection(self, x, w):
        xw = fnp.matmul(x, w["kernel"])
        b = self.input_bias(w)
        return xw if b is None else xw + b

    def gate_projection(self, x, w, masks):
        """Implementation 1's input part, gate-major: ``(gates, batch, time, units)``.

        ``masks`` ``(gates, batch, features)`` or None; the per-gate products are one
        batched matrix product over the gate axis."""
        g, u = self.gates, self.units
        batch, time, features = x.shape
        if masks is None:
            xg = fnp.moveaxis(fnp.reshape(fnp.matmul(x, w["kernel"]), (batch, time, g, u)), 2, 0)
        else:
            xm = fnp.reshape(x[None] * masks[:, :, None, :], (g, batch * time, features))
            xg = fnp.reshape(fnp.matmul(xm, _gate_kernel(w["kernel"], g)), (g, batch, time, u))
        b = self.input_bias(w)
        return xg if b is None else xg + fnp.reshape(b, (g, 1, 1, u))

    def _bias_shape(self):
        return (self.gates * self.units,)

    def _bias_init(self):
        return self.bias_initializer

    def build(self, input_shape):
        n = self.gates * self.units
        self.kernel = self.add_weight(shape=(input_shape[-1], n), name="kernel", initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(shape=(self.units, n), name="recurrent_kernel",
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = (self.add_weight(shape=self._bias_shape(), name="bias", initializer=self._bias_init(),
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)
        self.built = True

    @property
    def state_size(self):
        return self.units

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": activations.serialize(self.activation),
                "recurrent_activation": activations.serialize(self.recurrent_activation), "use_bias": self.use_bias,
                "kernel_initializer": serialize_keras_object(self.kernel_initializer),
                "recurrent_initializer": serialize_keras_object(self.recurrent_initializer),
                "bias_initializer": serialize_keras_object(self.bias_initializer),
                "kernel_regularizer": serialize_keras_object(self.kernel_regularizer),
                "recurrent_regularizer": serialize_keras_object(self.recurrent_regularizer),
                "bias_regularizer": serialize_keras_object(self.bias_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint),
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "seed": self.seed, **self._extra}


class SimpleRNNCell(_Cell):
    gates = 1
    _open_rate_interval = False

    def __init__(self, units, activation="tanh", **kwargs):
        kwargs.pop("recurrent_activation", None)
        super().__init__(units, activation=activation, **kwargs)

    def step(self, xw, states, w, rec_mask=None):
        """One step; ``rec_mask`` ``(batch, units)`` masks the previous output in the recurrent product only."""
        (h,) = states
        hm = h if rec_mask is None else h * rec_mask
        out = self.activation(xw + fnp.matmul(hm, w["recurrent_kernel"]))
        return out, (out,)

    def initial_states(self, batch, dtype):
        return (fnp.zeros((batch, self.units), dtype),)

    def get_config(self):
        config = super().get_config()
        config.pop("recurrent_activation", None)
        config.pop("seed", None)  # Keras's SimpleRNN does not save its seed
        return config


class LSTMCell(_Cell):
    gates = 4

    def __init__(self, units, unit_forget_bias=True, **kwargs):
        super().__init__(units, unit_forget_bias=unit_forget_bias, **kwargs)
        self.unit_forget_bias = unit_forget_bias

    def _bias_init(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, u = self.bias_initializer, self.units

        def init(shape, dtype=None):
            return fnp.concatenate([base((u,), dtype), fnp.ones((u,), dtype or "float32"), base((2 * u,), dtype)])

        return init

    @property
    def state_size(self):
        return [self.units, self.units]

    def initial_states(self, batch, dtype):
        return (fnp.zeros((batch, self.units), dtype), fnp.zeros((batch, self.units), dtype))

    def step(self, xw, states, w):
        h, c = states
        z = xw + fnp.matmul(h, w["recurrent_kernel"])
        u = self.units
        i = self.recurrent_activation(z[:, :u])
        f = self.recurrent_activation(z[:, u:2 * u])
        g = self.activation(z[:, 2 * u:3 * u])
        o = self.recurrent_activation(z[:, 3 * u:])
        c = f * c + i * g
        h = o * self.activation(c)
        return h, (h, c)

    def step_gates(self, xg, states, w, rec_masks):
        """Implementation 1's step: ``xg`` ``(4, batch, units)``; ``rec_masks`` ``(4, batch, units)`` or None."""
        h, c = states
        z = xg + _gate_recurrent(h, rec_masks, w["rk_gates"])
        i = self.recurrent_activation(z[0])
        f = self.recurrent_activation(z[1])
        o = self.recurrent_activation(z[3])
        c = f * c + i * self.activation(z[2])
        h = o * self.activation(c)
        return h, (h, c)


class GRUCell(_Cell):
    gates = 3

    def __init__(self, units, reset_after=True, **kwargs):
        super().__init__(units, reset_after=reset_after, **kwargs)
        self.reset_after = reset_after

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def input_bias(self, w):
        if not self.use_bias:
            return None
        return w["bias"][0] if self.reset_after else w["bias"]

    def initial_states(self, batch, dtype):
        return (fnp.zeros((batch, self.units), dtype),)

    def step(self, xw, states, w):
        (h,) = states
        u = self.units
        rk = w["recurrent_kernel"]
        xz, xr, xh = xw[:, :u], xw[:, u:2 * u], xw[:, 2 * u:]
        if self.reset_after:
            inner = fnp.matmul(h, rk)
            if self.use_bias:
                inner = inner + w["bias"][1]
            z = self.recurrent_activation(xz + inner[:, :u])
            r = self.recurrent_activation(xr + inner[:, u:2 * u])
            hh = self.activation(xh + r * inner[:, 2 * u:])
        else:
            z = self.recurrent_activation(xz + fnp.matmul(h, rk[:, :u]))
            r = self.recurrent_activation(xr + fnp.matmul(h, rk[:, u:2 * u]))
            hh = self.activation(xh + fnp.matmul(r * h, rk[:, 2 * u:]))
        h = z * h + (1.0 - z) * hh
        return h, (h,)

    def step_gates(self, xg, states, w, rec_masks):
        """Implementation 1's step: ``xg`` ``(3, batch, units)``; ``rec_masks`` ``(3, batch, units)`` or None.

        The masked copies of ``h`` feed the recurrent products only: the blend uses the unmasked ``h``."""
        (h,) = states
        rkg = w["rk_gates"]
        if self.reset_after:
            inner = _gate_recurrent(h, rec_masks, rkg)
            if self.use_bias:
                inner = inner + fnp.reshape(w["bias"][1], (3, 1, self.units))
            z = self.recurrent_activation(xg[0] + inner[0])
            r = self.recurrent_activation(xg[1] + inner[1])
            hh = self.activation(xg[2] + r * inner[2])
        else:
            inner = _gate_recurrent(h, None if rec_masks is None else rec_masks[:2], rkg[:2])
            z = self.recurrent_activation(xg[0] + inner[0])
            r = self.recurrent_activation(xg[1] + inner[1])
            hm = h if rec_masks is None else h * rec_masks[2]
            hh = self.activation(xg[2] + fnp.matmul(r * hm, rkg[2]))
        h = z * h + (1.0 - z) * hh
        return h, (h,)


def _is_state(v):
    """Whether a variable is a stateful RNN's state (a variable, but not a weight: Keras leaves it out of
    ``weights``, ``get_weights`` and the saved files)."""
    return getattr(v, "_rnn_state", False)


class RNN(Layer):
    """Runs a cell over the time axis (``(batch, time, features)``) with ``fnflow.lax.scan``.

    ``stateful=True`` keeps the last states of a batch in non-trainable variables
    (``layer.states``, one ``(batch, units)`` per cell state) and starts the next
    batch from them; it needs a fixed batch size. The states are updated with
    ``Variable.assign`` inside ``call`` (as BatchNormalization's moving statistics),
    so eager calls, ``stateless_call`` and every trainer step carry them;
    ``reset_state()`` zeroes them.
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, **kwargs):
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences, self.return_state = return_sequences, return_state
        self.go_backwards, self.stateful, self.unroll = go_backwards, stateful, unroll
        self.zero_output_for_mask = zero_output_for_mask
        self.states = None  # stateful: the state variables, created in build
        self._expected_batch_size = None

    @property
    def units(self):
        return self.cell.units

    def build(self, input_shape):
        if not self.cell.built:
            self.cell._maybe_build((input_shape[0],) + tuple(input_shape[2:]))
        if self.stateful:
            if self.states is not None:
                self.reset_state()
            else:
                self._create_state_variables(input_shape)
        self.built = True

    def _create_state_variables(self, input_shape):
        batch = input_shape[0]
        if batch is None:
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}) has `stateful=True`, which needs a fixed "
                             f"batch size, but its input shape {tuple(input_shape)} has an unknown batch size. Pass "
                             "`batch_size=` (or `batch_shape=`) to `keras.Input`, or `batch_input_shape=` / "
                             "`batch_size=` to the first layer of a Sequential model.")
        sizes = self.cell.state_size
        sizes = [sizes] if isinstance(sizes, int) else list(sizes)
        states = []
        for size in sizes:
            v = self.add_weight(shape=(int(batch), int(size)), initializer="zeros", trainable=False,
                                name="rnn_state")
            v._rnn_state = True
            states.append(v)
        self.states = states
        self._expected_batch_size = int(batch)

    def reset_state(self, states=None):
        """Zero the states of a stateful RNN (or set them to ``states``, Keras 2's argument); no-op otherwise."""
        if self.states is None:
            return
        if states is None:
            values = [np.zeros(v.shape, v.dtype) for v in self.states]
        else:
            values = list(states) if isinstance(states, (list, tuple)) else [states]
            if len(values) != len(self.states):
                raise ValueError(f"Layer {self.name!r} expects {len(self.states)} states, got {len(values)}")
        for v, value in zip(self.states, values):
            v.assign(value)

    def reset_states(self, states=None):
        """Keras's alias of :meth:`reset_state`."""
        self.reset_state(states)

    def _own_weights(self):
        return [v for v in self._trainable_variables + self._non_trainable_variables if not _is_state(v)]

    def save_own_variables(self, store):
        """Keras's file layout: the states are not saved."""
        for i, v in enumerate(self._own_weights()):
            store[str(i)] = v.numpy()

    def load_own_variables(self, store):
        own = self._own_weights()
        if len(store) != len(own):
            raise ValueError(f"Layer '{self.name}' expected {len(own)} variables, but received {len(store)} "
                             f"variables during loading. Expected: {[v.name for v in own]}")
        for i, v in enumerate(own):
            v.assign(np.asarray(store[str(i)]))

    def call(self, sequences, initial_state=None, mask=None, training=False):
        cell = self.cell
        x = sequences
        batch = x.shape[0]
        w = {"kernel": cell.kernel.value, "recurrent_kernel": cell.recurrent_kernel.value,
             "bias": cell.bias.value if cell.bias is not None else None}
        if self.stateful and self._expected_batch_size is not None and batch != self._expected_batch_size:
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}) is stateful: the batch size of its input "
                             f"sequences must be the batch size of its states. Expected batch size: "
                             f"{self._expected_batch_size}, received batch size: {batch} (input shape "
                             f"{tuple(sequences.shape)}).")
        # Keras draws the masks once per call: the same for every time step
        in_mask, rec_mask = (cell.dropout_masks(batch, x.shape[-1], w["kernel"].dtype) if training
                             else (None, None))
        if in_mask is not None:
            x = fnp.asarray(x)
        if cell.per_gate and (in_mask is not None or rec_mask is not None):
            # implementation 1: gate-major inputs (time, gates, batch, units) and per-gate recurrent masks
            xw = fnp.moveaxis(cell.gate_projection(x, w, in_mask), 2, 0)
            w["rk_gates"] = _gate_kernel(w["recurrent_kernel"], cell.gates)

            def cell_step(xt, carry):
                return cell.step_gates(xt, carry, w, rec_mask)
        else:
            if in_mask is not None:
                x = x * in_mask[:, None, :]
            xw = fnp.moveaxis(cell.input_projection(x, w), 1, 0)  # (time, batch, k*units): all steps at once
            if rec_mask is None:
                def cell_step(xt, carry):
                    return cell.step(xt, carry, w)
            else:  # SimpleRNN
                def cell_step(xt, carry):
                    return cell.step(xt, carry, w, rec_mask)
        if initial_state is None and self.states is not None:
            states = tuple(v.value.astype(xw.dtype) for v in self.states)
        elif initial_state is None:
            states = cell.initial_states(batch, xw.dtype)
        else:
            states = tuple(initial_state) if isinstance(initial_state, (list, tuple)) else (initial_state,)
            states = tuple(fnp.asarray(s).astype(xw.dtype) for s in states)

        def body(carry, xt):
            out, new = cell_step(xt, carry)
            return new, out

        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if mask is None:
            xs, step = xw, body
        else:
            # Keras's masked steps: the states stay as they were and the output repeats the previous output
            # (the first state) — or is zero with zero_output_for_mask
            xs = (xw, fnp.moveaxis(fnp.asarray(mask).astype("bool"), 1, 0)[:, :, None])
            zero_out = self.zero_output_for_mask

            def step(carry, x_m):
                xt, mt = x_m
                new, out = body(carry, xt)
                out = fnp.where(mt, out, fnp.zeros((), out.dtype) if zero_out else carry[0])
                return tuple(fnp.where(mt, n, c) for n, c in zip(new, carry)), out

        if self.go_backwards:
            xs = tuple(x[::-1] for x in xs) if isinstance(xs, tuple) else xs[::-1]
        last, outs = lax.scan(step, states, xs)
        if self.states is not None:  # stateful: the next call starts from here (no gradient across calls)
            for v, s in zip(self.states, last):
                v.assign(fnflow.stop_gradient(s))
        outs = fnp.moveaxis(outs, 0, 1)
        output = outs if self.return_sequences else outs[:, -1]
        if self.return_state:
            return [output, *last]
        return output

    def compute_mask(self, inputs, mask=None):
        """Keras: the input mask for ``return_sequences`` outputs, None otherwise (and for the states)."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out = mask if self.return_sequences else None
        if self.return_state:
            return [out] + [None] * (2 if isinstance(self.cell, LSTMCell) else 1)
        return out

    def compute_output_shape(self, input_shape):
        batch, time = input_shape[0], input_shape[1]
        out = (batch, time, self.cell.units) if self.return_sequences else (batch, self.cell.units)
        if self.return_state:
            n = 2 if isinstance(self.cell, LSTMCell) else 1
            return [out] + [(batch, self.cell.units)] * n
        return out

    def get_config(self):
        config = {**super().get_config(), "return_sequences": self.return_sequences,
                  "return_state": self.return_state, "go_backwards": self.go_backwards, "stateful": self.stateful,
                  "unroll": self.unroll, "zero_output_for_mask": self.zero_output_for_mask}
        if type(self) is RNN:
            config["cell"] = serialize_keras_object(self.cell)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "cell" in config and isinstance(config["cell"], dict):
            from fnflow_keras.utils.serialization_lib import deserialize_keras_object

            config["cell"] = deserialize_keras_object(config["cell"])
        return super().from_config(config) if cls is not RNN else cls(**config)


_RNN_ARGS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll", "zero_output_for_mask",
             "name", "trainable", "dtype", "input_shape", "input_dim", "batch_input_shape", "batch_size",
             "activity_regularizer", "time_major")


class _Recurrent(RNN):
    cell_class = None

    def __init__(self, units, **kwargs):
        layer_kw = {k: kwargs.pop(k) for k in list(kwargs) if k in _RNN_ARGS}
        layer_kw.pop("time_major", None)
        cell_kw = dict(kwargs)
        dtype = layer_kw.get("dtype")
        cell = self.cell_class(units, name=self._cell_name(), dtype=dtype, **cell_kw)
        super().__init__(cell, **layer_kw)

    @classmethod
    def _cell_name(cls):
        from fnflow_keras.backend import to_snake_case

        return to_snake_case(cls.cell_class.__name__)

    def get_config(self):
        cfg = self.cell.get_config()
        for k in ("name", "trainable", "dtype"):
            cfg.pop(k, None)
        return {**RNN.get_config(self), "activity_regularizer": serialize_keras_object(self.activity_regularizer),
                **cfg}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class SimpleRNN(_Recurrent):
    """Fully-connected RNN: ``h = tanh(x @ kernel + h @ recurrent_kernel + bias)``."""

    cell_class = SimpleRNNCell


class LSTM(_Recurrent):
    """Long short-term memory (gates i, f, c, o; ``unit_forget_bias=True`` starts the forget bias at 1)."""

    cell_class = LSTMCell


class GRU(_Recurrent):
    """Gated recurrent unit (gates z, r, h; ``reset_after=True`` as Keras 3 / cuDNN)."""

    cell_class = GRUCell


__all__ = ["RNN", "SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell"]
