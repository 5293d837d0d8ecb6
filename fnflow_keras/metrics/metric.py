"""Keras's ``Metric`` base class (state in Variables) and the wrapper around ``fnflow.metrics``.

A metric keeps its state in non-trainable :class:`~fnflow_keras.variables.Variable`
objects, so the same ``update_state`` code runs eagerly (the variables change)
and inside the trainer's jitted step, where it runs under a ``StatelessScope``
that binds the variables to traced values and collects the assignments.
Built-in metrics delegate every number to the pure ``(init, update, result)``
functions of ``fnflow.metrics``.
"""

from __future__ import annotations

import numpy as np

import fnflow.metrics as FM
import fnflow.numpy as fnp
from fnflow.core import tree as tu
from fnflow_keras.losses.loss import _snake
from fnflow_keras.variables import StatelessScope, Variable


def _plain(x):
    """Metric inputs as arrays (Variables unwrapped, lists converted)."""
    if x is None:
        return None
    if isinstance(x, Variable):
        return x.value
    if isinstance(x, (list, tuple, int, float, bool, np.generic)):
        return np.asarray(x)
    return x


class Metric:
    """Base of the metric classes.

    Subclasses create their state with ``self.add_variable(shape, initializer="zeros", dtype=None, name=None)``
    in ``__init__`` (or ``build``) and implement ``update_state(y_true, y_pred, sample_weight=None)`` with
    ``variable.assign(...)`` / ``assign_add`` and ``result()``.
    """

    def __init__(self, dtype=None, name=None):
        self.name = name or _snake(type(self).__name__)
        self._dtype = dtype or "float32"
        self._variables = []
        self._direction = None

    # ------------------------------------------------------------- state

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum", name=None):
        """A non-trainable state variable of this metric (``initializer``: "zeros", "ones" or a value/callable)."""
        shape = tuple(int(s) for s in (shape if isinstance(shape, (tuple, list)) else (shape,)))
        dtype = dtype or self._dtype
        if isinstance(initializer, str):
            if initializer not in ("zeros", "ones"):
                from fnflow_keras import initializers

                value = initializers.get(initializer)(shape, dtype=dtype)
            else:
                value = (np.zeros if initializer == "zeros" else np.ones)(shape, dtype)
        elif callable(initializer):
            value = initializer(shape, dtype=dtype)
        else:
            value = np.broadcast_to(np.asarray(initializer, dtype), shape)
        var = Variable(np.array(value, dtype=dtype), dtype=dtype, trainable=False, name=name or "variable",
                       aggregation=aggregation)
        var._metric_initial = np.array(value, dtype=dtype)
        self._variables.append(var)
        return var

    def add_weight(self, name=None, shape=(), initializer="zeros", dtype=None, aggregation="sum", **kwargs):
        """Keras 2's name for :meth:`add_variable`."""
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, aggregation=aggregation,
                                 name=name)

    @property
    def variables(self):
        out = list(self._variables)
        for v in self.__dict__.values():  # metrics that hold metrics (e.g. a MetricsList)
            for m in (v if isinstance(v, (list, tuple)) else [v]):
                if isinstance(m, Metric) and m is not self:
                    out.extend(x for x in m.variables if x not in out)
        return out

    @property
    def dtype(self):
        return self._dtype

    def reset_state(self):
        """Put every state variable back to its initial value."""
        for v in self.variables:
            init = getattr(v, "_metric_initial", None)
            v.assign(np.zeros(v.shape, v.dtype) if init is None else init)

    def reset_states(self):
        """Keras 2's name for :meth:`reset_state`."""
        self.reset_state()

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement update_state()")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must implement result()")

    def __call__(self, *args, **kwargs):
        """Update the state with one batch and return the result so far."""
        self.update_state(*args, **kwargs)
        return self.result()

    # ----------------------------------------------------- pure versions

    def _build_for(self, y_true, y_pred):
        """Create data-shaped state before the first traced update (overridden by wrappers that need it)."""

    def stateless_update_state(self, metric_variables, *args, **kwargs):
        """The new values of ``self.variables`` after ``update_state(*args)``, from the given values."""
        with StatelessScope(list(zip(self.variables, metric_variables))) as scope:
            self.update_state(*args, **kwargs)
        return [scope.get(v) for v in self.variables]

    def stateless_result(self, metric_variables):
        with StatelessScope(list(zip(self.variables, metric_variables))):
            return self.result()

    def stateless_reset_state(self):
        return [fnp.zeros(v.shape, v.dtype) for v in self.variables]

    # ------------------------------------------------------------ config

    def get_config(self):
        return {"name": self.name, "dtype": self._dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class FnflowMetric(Metric):
    """A Keras metric whose numbers come from an ``fnflow.metrics.Metric`` (pure init/update/result)."""

    def __init__(self, fn_metric, name=None, dtype=None):
        super().__init__(dtype=dtype, name=name or fn_metric.name)
        self._fn_metric = fn_metric
        self._direction = fn_metric.direction
        self._state_vars = None
        self._treedef = None
        try:
            state = fn_metric.init()
        except (TypeError, ValueError):  # the state shape depends on the data: built on the first update
            state = None
        if state is not None:
            self._make_state(state)

    def _make_state(self, state):
        items, self._treedef = tu.tree_flatten_with_path(state)
        self._state_vars = []
        for path, leaf in items:
            name = tu.keystr(path).strip("[]'\"") or "state"
            var = self.add_variable(shape=np.shape(leaf), initializer=np.asarray(leaf, self._dtype), name=name)
            self._state_vars.append(var)

    def _build_for(self, y_true, y_pred):
        if self._state_vars is None:
            self._make_state(self._fn_metric.init(_plain(y_true), _plain(y_pred)))

    def _state(self):
        return tu.tree_unflatten(self._treedef, [v.value for v in self._state_vars])

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred, sample_weight = _plain(y_true), _plain(y_pred), _plain(sample_weight)
        self._build_for(y_true, y_pred)
        new = self._fn_metric.update(self._state(), y_true, y_pred, sample_weight)
        for var, value in zip(self._state_vars, tu.tree_leaves(new)):
            var.assign(value)

    def result(self):
        if self._state_vars is None:
            return fnp.zeros((), self._dtype)
        return self._fn_metric.result(self._state())

    def get_config(self):
        cfg = {"name": self.name, "dtype": self._dtype}
        cfg.update({k: (list(v) if isinstance(v, tuple) else v) for k, v in self._fn_metric.config
                    if k != "fn"})
        return cfg


class Mean(FnflowMetric):
    """The (weighted) mean of the values passed to ``update_state(values, sample_weight=None)``."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(FM.mean(name=name), name=name, dtype=dtype)

    def update_state(self, values, sample_weight=None):
        values, sample_weight = _plain(values), _plain(sample_weight)
        new = self._fn_metric.update(self._state(), values, sample_weight)
        for var, value in zip(self._state_vars, tu.tree_leaves(new)):
            var.assign(value)

    def get_config(self):
        return {"name": self.name, "dtype": self._dtype}


class Sum(Mean):
    """The (weighted) sum of the values passed to ``update_state(values, sample_weight=None)``."""

    def __init__(self, name="sum", dtype=None):
        FnflowMetric.__init__(self, FM.sum(name=name), name=name, dtype=dtype)


class MeanMetricWrapper(FnflowMetric):
    """The mean over samples of ``fn(y_true, y_pred, **kwargs)`` (any per-sample function, e.g. a loss)."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        self._fn = fn
        self._fn_kwargs = kwargs
        super().__init__(FM.mean_metric_wrapper(fn, name=name or getattr(fn, "__name__", None),
                                                **kwargs),
                         name=name or getattr(fn, "__name__", "mean_metric_wrapper"), dtype=dtype)
        if fn in _LOSS_FUNCTIONS():
            self._direction = "down"

    def get_config(self):
        from fnflow_keras import losses

        cfg = {"name": self.name, "dtype": self._dtype, **self._fn_kwargs}
        if type(self) is MeanMetricWrapper:
            try:
                cfg["fn"] = losses.serialize(self._fn)
            except ValueError:
                cfg["fn"] = getattr(self._fn, "__name__", None)
        return cfg


def _LOSS_FUNCTIONS():
    import fnflow.losses as FL

    return {FL.mean_squared_error, FL.mean_absolute_error, FL.mean_absolute_percentage_error,
            FL.mean_squared_logarithmic_error, FL.binary_crossentropy, FL.categorical_crossentropy,
            FL.sparse_categorical_crossentropy, FL.kl_divergence, FL.poisson, FL.hinge, FL.squared_hinge,
            FL.categorical_hinge, FL.log_cosh, FL.huber}
