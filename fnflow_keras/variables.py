"""Variable (a stateful holder of an fnflow array) and StatelessScope (the door to pure functions).

A :class:`Variable` owns an immutable fnflow array in ``_value``. Reading
``.value`` inside an active :class:`StatelessScope` returns the value the scope
binds to the variable (a traced value under ``jit``/``grad``), and ``assign``
inside a scope only records the new value in the scope. This is how a stateful
Keras layer becomes a pure function::

    with StatelessScope({v: new_value for v, new_value in ...}, rng_key=key) as scope:
        y = layer(x, training=True)
    new_moving_mean = scope.get(bn.moving_mean)
"""

from __future__ import annotations

import threading

import numpy as np

import fnflow
import fnflow.numpy as fnp
from fnflow.core.trace import Tracer
from fnflow_keras import backend

_local = threading.local()


def _scopes():
    if not hasattr(_local, "stack"):
        _local.stack = []
    return _local.stack


def get_stateless_scope():
    """The innermost active StatelessScope, or None."""
    stack = _scopes()
    return stack[-1] if stack else None


def in_stateless_scope() -> bool:
    return bool(_scopes())


class StatelessScope:
    """Bind variables to values and collect assignments without touching the variables.

    ``state_mapping``: a dict ``{variable: value}`` or a list of ``(variable, value)``
    pairs. ``rng_key``: an fnflow random key; layers that need randomness draw
    ``fold_in(rng_key, n)`` for the n-th draw in the scope. Scopes nest; a variable
    not bound in the innermost scope is looked up in the enclosing ones.
    """

    def __init__(self, state_mapping=None, rng_key=None, collect_losses=False):
        self._values = {}
        self._vars = {}
        items = state_mapping.items() if isinstance(state_mapping, dict) else (state_mapping or ())
        for var, value in items:
            if not isinstance(var, Variable):
                raise TypeError(f"StatelessScope: keys must be Variables, got {type(var).__name__}")
            value = fnp.asarray(value) if not isinstance(value, Tracer) else value
            if tuple(value.shape) != var.shape:
                raise ValueError(f"StatelessScope: value for variable {var.path!r} has shape {tuple(value.shape)}, "
                                 f"expected {var.shape}")
            if value.dtype != var.dtype:
                value = value.astype(var.dtype)
            self._values[id(var)] = value
            self._vars[id(var)] = var
        self.rng_key = rng_key
        self._draws = 0
        self.collect_losses = collect_losses
        self.losses = []
        self._assigned = {}

    def __enter__(self):
        _scopes().append(self)
        return self

    def __exit__(self, *exc):
        stack = _scopes()
        if stack and stack[-1] is self:
            stack.pop()

    def _lookup(self, var):
        if id(var) in self._assigned:
            return self._assigned[id(var)]
        return self._values.get(id(var))

    def get(self, var, default=None):
        """The current value of ``var`` in this scope (an assigned value wins over the bound one)."""
        v = self._lookup(var)
        return default if v is None else v

    def add_update(self, var, value):
        self._assigned[id(var)] = value
        self._vars[id(var)] = var

    @property
    def updated_variables(self):
        """The variables assigned inside this scope."""
        return [self._vars[i] for i in self._assigned]

    def next_key(self):
        """A fresh key ``fold_in(rng_key, n)``, or None when the scope has no key."""
        if self.rng_key is None:
            return None
        self._draws += 1
        return fnflow.random.fold_in(self.rng_key, self._draws)

    def add_loss(self, loss):
        self.losses.append(loss)


def _current_value(var):
    for scope in reversed(_scopes()):
        v = scope._lookup(var)
        if v is not None:
            return v
    return var._value


def _initial_value(initializer, shape, dtype):
    from fnflow_keras import initializers

    if callable(initializer) or isinstance(initializer, str):
        if shape is None:
            raise ValueError("Variable: `shape` is required when the initial value is an initializer")
        init = initializers.get(initializer)
        value = init(shape, dtype=dtype)
    else:
        value = initializer
    value = fnp.asarray(value, dtype=dtype) if dtype is not None else fnp.asarray(value)
    if isinstance(value, Tracer):
        raise ValueError("Variable: the initial value must be concrete, got a traced value (create variables "
                         "outside jit/grad, e.g. by building the layer first)")
    return value


class Variable:
    """A named, stateful container for an fnflow array (Keras's ``keras.Variable``).

    ``Variable(initializer, shape=None, dtype=None, trainable=True, name=None)``:
    ``initializer`` is an array-like value, or an initializer (object or name)
    called with ``shape``. Reading goes through ``.value`` (scope-aware); writing
    through ``assign`` / ``assign_add`` / ``assign_sub``.
    """

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, autocast=True, aggregation="none",
                 synchronization="auto", name=None, regularizer=None, constraint=None):
        if dtype is None and not (callable(initializer) or isinstance(initializer, str)):
            probe = np.asarray(initializer) if not hasattr(initializer, "dtype") else initializer
            dtype = np.dtype(probe.dtype)
            dtype = backend.floatx() if dtype.kind == "f" else ("int32" if dtype == np.int64 else dtype)
        dtype = backend.standardize_dtype(dtype)
        self._value = _initial_value(initializer, None if shape is None else tuple(shape), dtype)
        if shape is not None and tuple(self._value.shape) != tuple(shape):
            raise ValueError(f"Variable: initial value has shape {tuple(self._value.shape)}, expected {tuple(shape)}")
        self.name = name or "variable"
        parent = backend.current_path()
        self.path = f"{parent}/{self.name}" if parent else self.name
        self._trainable = bool(trainable)
        self.regularizer = regularizer
        self.constraint = constraint
        self.aggregation = aggregation
        self.synchronization = synchronization
        self.autocast = autocast
        self._initializer = initializer

    # ------------------------------------------------------------ state

    @property
    def value(self):
        """The current value: the one bound in the active StatelessScope, else the stored array."""
        return _current_value(self)

    def assign(self, value):
        """Set a new value (recorded in the active StatelessScope if there is one)."""
        value = value.value if isinstance(value, Variable) else value
        value = value if isinstance(value, Tracer) else fnp.asarray(value)
        if tuple(value.shape) != self.shape:
            raise ValueError(f"Variable.assign: variable {self.path!r} has shape {self.shape}, the new value has "
                             f"shape {tuple(value.shape)}")
        if value.dtype != self.dtype:
            value = value.astype(self.dtype)
        scope = get_stateless_scope()
        if scope is not None:
            scope.add_update(self, value)
        else:
            if isinstance(value, Tracer):
                raise ValueError(f"Variable.assign: cannot store a traced value in variable {self.path!r} outside "
                                 f"a StatelessScope (a tracer would leak out of jit/grad)")
            self._value = value
        return value

    def assign_add(self, value):
        return self.assign(self.value + value)

    def assign_sub(self, value):
        return self.assign(self.value - value)

    def numpy(self):
        """The current value as a (read-only) NumPy array."""
        v = self.value
        if isinstance(v, Tracer):
            raise ValueError(f"Variable.numpy: variable {self.path!r} holds a traced value here")
        return np.asarray(v)

    @property
    def shape(self):
        return tuple(self._value.shape)

    @property
    def dtype(self):
        return self._value.dtype.name

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)

    def __repr__(self):
        return (f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, "
                f"value={np.asarray(self._value)!r}>")

    # --------------------------------------------------- array protocol

    def __fnflow_array__(self):
        return self.value

    def __array__(self, dtype=None, copy=None):
        v = self.numpy()
        return v.astype(dtype) if dtype is not None else v

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, idx):
        return self.value[idx]

    def __iter__(self):
        v = self.value
        return (v[i] for i in range(self.shape[0]))

    def __bool__(self):
        return bool(self.numpy())

    def __float__(self):
        return float(self.numpy())

    def __int__(self):
        return int(self.numpy())

    @property
    def T(self):
        return fnp.transpose(self.value)

    def astype(self, dtype):
        return fnp.asarray(self.value).astype(dtype)

    def reshape(self, *shape):
        return fnp.reshape(self.value, shape[0] if len(shape) == 1 else shape)

    __hash__ = object.__hash__


def _binary(fn, swap=False):
    def op(self, other):
        other = other.value if isinstance(other, Variable) else other
        return fn(other, self.value) if swap else fn(self.value, other)
    return op


for _name, _fn in [("add", fnp.add), ("sub", fnp.subtract), ("mul", fnp.multiply), ("truediv", fnp.true_divide),
                   ("floordiv", fnp.floor_divide), ("mod", fnp.mod), ("pow", fnp.power), ("matmul", fnp.matmul)]:
    setattr(Variable, f"__{_name}__", _binary(_fn))
    setattr(Variable, f"__r{_name}__", _binary(_fn, swap=True))
for _name, _fn in [("lt", fnp.less), ("le", fnp.less_equal), ("gt", fnp.greater), ("ge", fnp.greater_equal)]:
    setattr(Variable, f"__{_name}__", _binary(_fn))
Variable.__neg__ = lambda self: fnp.negative(self.value)
Variable.__pos__ = lambda self: self.value
Variable.__abs__ = lambda self: fnp.abs(self.value)


__all__ = ["Variable", "StatelessScope", "get_stateless_scope", "in_stateless_scope"]
