"""``Trainer``: the mixin that gives ``keras.Model`` its ``compile``/``fit``/``evaluate``/``predict``.

Training runs one pure, jitted step per batch::

    train_step(trainable, non_trainable, optimizer_state, metric_state, (x, y, sample_weight), key, step)
        -> (trainable, non_trainable, optimizer_state, metric_state, logs)

built from ``model.stateless_call`` (the layers under a ``StatelessScope``),
``fnflow.value_and_grad``, ``optimizer.stateless_apply`` (``fnflow.optim``) and
the metrics' ``update_state`` run under a ``StatelessScope`` of their variables.
Before each step the current values of the variables are read (so callbacks that
edit weights, or the learning rate, take effect at the next step); after it the
new values are bound back to the variables. The step is traced once per batch
shape: a smaller last batch adds one more cached trace, not one per epoch.
``run_eagerly=True`` runs the same step without ``jit``.

The per-step cost outside the compiled step is kept to a few tens of
microseconds (:class:`StepFunction`): the step is jitted as a function of flat
arrays, so each call takes ``fnflow.jit``'s fast path (one dictionary lookup on
the arguments' shapes and dtypes, then the compiled executable) instead of
flattening the nested state; ``fit`` resolves the variable lists once and
re-checks only their ``trainable`` flags per step (walking the layers costs about
a millisecond); reading and rebinding ``Variable._value`` is a list comprehension.
"""

from __future__ import annotations

import warnings

import numpy as np

import fnflow
from fnflow import tree_util as tu
from fnflow_keras import optimizers as optimizers_module
from fnflow_keras.callbacks.callback import CallbackList
from fnflow_keras.metrics.metric import Mean
from fnflow_keras.trainers import data_adapters as da
from fnflow_keras.trainers.compile_utils import CompileLoss, CompileMetrics
from fnflow_keras.utils import nest
from fnflow_keras.utils.masking import get_keras_mask, set_keras_mask
from fnflow_keras.variables import StatelessScope


def _pythonify(logs):
    """Logs as Python floats (arrays stay NumPy arrays), keys sorted as Keras does."""
    out = {}
    for k in sorted(logs):
        v = logs[k]
        out[k] = float(v) if getattr(v, "ndim", 0) == 0 else np.array(v)
    return out


def _stateful_rnns(model):
    return [lay for lay in model._flatten_layers()
            if getattr(lay, "stateful", False) and isinstance(getattr(lay, "states", None), list)]


def _assigned(new_ntv, ntv, record):
    """The non-trainable values a step assigned (a stateful RNN's states), their positions put in ``record``.

    Found at trace time: an unassigned value comes back as the very input. Returning
    only these keeps inference steps free of pass-through outputs.
    """
    record[:] = [i for i, (n, o) in enumerate(zip(new_ntv, ntv)) if n is not o]
    return [new_ntv[i] for i in record]


def _rebind_assigned(groups, values):
    ntv = groups.groups[1]
    for i, value in zip(groups.fn.assigned, values):
        ntv[i]._value = value


def _batch_size(x):
    leaves = [a for a in da.flatten(x) if hasattr(a, "shape") and len(a.shape)]
    return int(leaves[0].shape[0]) if leaves else 1


class StepFunction:
    """A pure step run on flat arrays, jitted once per argument structure.

    ``fn(*groups, data, *extras) -> (out_groups, tail)``: the ``groups`` are
    lists of arrays (variable values), ``data`` a pytree of arrays (the batch),
    ``extras`` single arrays (key, step); it returns a tuple of lists of arrays
    and a pytree ``tail`` (the logs, or the predictions). :meth:`run` calls
    ``fnflow.jit`` of a wrapper taking every leaf as a positional array, so a
    call costs jit's fast path (a lookup on shapes and dtypes) plus the compiled
    executable, with no flattening of the nested state. Calling the object with
    the structured arguments, ``f(*groups, data, *extras)``, returns
    ``(*out_groups, tail)`` (only ``tail`` when there are no output groups).
    """

    def __init__(self, fn, n_groups, jit=True, name="step"):
        self.fn = fn
        self.n_groups = n_groups
        self.jit = jit
        self.name = name
        self._flat = {}  # (group sizes, data treedef, number of extras) -> (flat function, output layout)

    @property
    def trace_count(self):
        """How many times the step was traced (once per batch structure and shapes)."""
        return sum(getattr(f, "trace_count", 0) for f, _ in self._flat.values())

    def _make(self, sizes, data_tree, n_extra):
        layout = {}

        def flat_step(*leaves):
            groups, i = [], 0
            for n in sizes:
                groups.append(list(leaves[i:i + n]))
                i += n
            end = len(leaves) - n_extra
            out_groups, tail = self.fn(*groups, tu.tree_unflatten(data_tree, list(leaves[i:end])), *leaves[end:])
            tail_leaves, layout["tail"] = tu.tree_flatten(tail)
            layout["sizes"] = tuple(len(g) for g in out_groups)
            return [v for g in out_groups for v in g] + list(tail_leaves)

        flat_step.__name__ = self.name
        return (fnflow.jit(flat_step) if self.jit else flat_step), layout

    def run(self, groups, data, extras=()):
        """``(out_groups, tail)`` for lists of values ``groups``, the batch ``data`` and the arrays ``extras``."""
        leaves, data_tree = tu.tree_flatten(data)
        key = (tuple(len(g) for g in groups), data_tree, len(extras))
        entry = self._flat.get(key)
        if entry is None:
            entry = self._flat[key] = self._make(*key)
        flat, layout = entry
        args = [v for g in groups for v in g]
        args += leaves
        args += extras
        outs = flat(*args)
        del args  # the inputs' buffers can be recycled by the next call once the variables are rebound
        out_groups, i = [], 0
        for n in layout["sizes"]:
            out_groups.append(outs[i:i + n])
            i += n
        return out_groups, tu.tree_unflatten(layout["tail"], outs[i:])

    def __call__(self, *args):
        n = self.n_groups
        out_groups, tail = self.run(args[:n], args[n], tuple(args[n + 1:]))
        return (*out_groups, tail) if out_groups else tail


class _VariableGroups:
    """The variables a step threads, in groups, with their ``trainable`` flags when resolved.

    ``fit`` and ``evaluate`` keep one between steps and re-resolve it only when
    the step function was replaced (``compile``) or a flag changed (a callback
    froze or unfroze a layer): walking the layers for the lists costs ~1 ms.
    """

    __slots__ = ("fn", "groups", "flat", "flags")

    def __init__(self, fn, groups):
        self.fn, self.groups = fn, groups
        self.flat = [v for g in groups[:2] for v in g]
        self.flags = [v.trainable for v in self.flat]

    def valid(self, fn):
        return fn is self.fn and [v.trainable for v in self.flat] == self.flags

    def values(self):
        return [[v._value for v in g] for g in self.groups]

    def rebind(self, new_groups, which=None):
        groups = self.groups if which is None else [self.groups[i] for i in which]
        for group, values in zip(groups, new_groups):
            for v, val in zip(group, values):
                v._value = val


class Trainer:
    """Keras's training API; mixed into ``Model``."""

    def __init__(self):
        self.compiled = False
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.history = None
        self._compile_loss = None
        self._compile_metrics = None
        self._loss_tracker = None
        self._compile_built = False
        self.train_function = None
        self.test_function = None
        self.predict_function = None
        self.run_eagerly = False
        self.jit_compile = True

    # ------------------------------------------------------------------ compile

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True):
        """Configure the model for training (Keras's arguments; strings or objects, per-output lists/dicts)."""
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = loss
        names = getattr(self, "output_names", None)
        try:
            names = list(names) if names else None
        except TypeError:
            names = None
        self._compile_loss = CompileLoss(loss, loss_weights, names) if loss is not None else None
        # as Keras 3: a CompileMetrics container only when metrics were asked for
        self._compile_metrics = (CompileMetrics(metrics, weighted_metrics, names)
                                 if metrics is not None or weighted_metrics is not None else None)
        self._loss_tracker = Mean(name="loss")
        self.run_eagerly = bool(run_eagerly)
        self.jit_compile = True if jit_compile == "auto" else bool(jit_compile)
        self.compiled = True
        self._compile_built = False
        self.train_function = self.test_function = self.predict_function = None
        self._compile_config = dict(loss=loss, loss_weights=loss_weights, metrics=metrics,
                                    weighted_metrics=weighted_metrics, run_eagerly=run_eagerly)

    @property
    def metrics(self):
        """Keras 3's list: ``[loss tracker, CompileMetrics container, per-output loss trackers]``."""
        if not self.compiled or self._loss_tracker is None:
            return []
        out = [self._loss_tracker]
        if self._compile_metrics is not None:
            out.append(self._compile_metrics)
        if self._compile_built and self._compile_loss is not None:
            out += self._compile_loss.metrics
        return out

    @property
    def metrics_names(self):
        """``[m.name for m in model.metrics]``: ``["loss", "compile_metrics"]`` with compiled metrics."""
        return [m.name for m in self.metrics]

    def _log_names(self):
        """The names of the logs in Keras's order (the compiled metrics expanded), for evaluate's list."""
        names = []
        for m in self.metrics:
            if m is self._compile_metrics:
                names += [n for n, *_ in m.entries]
            else:
                names.append(m.name)
        return names

    def get_compile_config(self):
        """The arguments of ``compile`` as Keras 3 serializes them (None when the model is not compiled)."""
        from fnflow_keras.saving._compile import get_compile_config

        return get_compile_config(self)

    def compile_from_config(self, config):
        """``compile`` from :meth:`get_compile_config`'s dict; builds the optimizer when the model is built."""
        from fnflow_keras.saving._compile import compile_from_config

        compile_from_config(self, config)

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def _metric_variables(self):
        return [v for m in self.metrics for v in m.variables]

    def _assert_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"You must call `compile()` before using the model for {what}.")

    # ------------------------------------------------------------------ loss

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss plus the layers' losses (regularizers, ``add_loss``). Override to customize."""
        total, per_output = (None, []) if self._compile_loss is None else self._compile_loss(y, y_pred,
                                                                                            sample_weight)
        self._per_output_losses = per_output
        for extra in getattr(self, "_step_losses", None) or []:
            total = extra if total is None else total + extra
        if total is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        return total

    # ------------------------------------------------------------------ build

    def _build_for_batch(self, x, y, sample_weight=None):
        """Build the model, the compile losses/metrics and the optimizer from one concrete batch."""
        states = {id(lay): [v._value for v in lay.states] for lay in _stateful_rnns(self)}
        y_pred = self(x, training=False)
        for lay in _stateful_rnns(self):  # this call only builds: a stateful RNN's states must not advance
            lay.reset_state(states.get(id(lay)))
        if not self._compile_built:
            if self._compile_loss is not None and not self._compile_loss.built:
                self._compile_loss.build(y, y_pred)
            if self._compile_metrics is not None:
                self._compile_metrics.build(y, y_pred)
            self._compile_built = True
        trainable = self.trainable_variables
        if not self.optimizer.built or [id(v) for v in self.optimizer._trainable_variables] != [
                id(v) for v in trainable]:
            self.optimizer.build(trainable)

    def _function_signature(self):
        return (tuple(id(v) for v in self.trainable_variables), tuple(id(v) for v in self.non_trainable_variables),
                tuple(id(v) for v in self._metric_variables()))

    def _step_function(self, fn, n_groups, name):
        return StepFunction(fn, n_groups, jit=not self.run_eagerly and self.jit_compile, name=name)

    # ------------------------------------------------------------------ steps

    def _update_metrics(self, metric_values, loss, y, y_pred, sample_weight, batch_size):
        metric_vars = self._metric_variables()
        with StatelessScope(list(zip(metric_vars, metric_values))) as scope:
            self._loss_tracker.update_state(loss, sample_weight=batch_size)
            if self._compile_loss is not None:
                for tracker, value in zip(self._compile_loss.trackers, self._per_output_losses):
                    if tracker is not None:
                        tracker.update_state(value, sample_weight=batch_size)
            if self._compile_metrics is not None:
                self._compile_metrics.update_state(y, y_pred, sample_weight)
            logs = {m_name: m.result() for m_name, m in self._named_metrics()}
        return [scope.get(v) for v in metric_vars], logs

    def _named_metrics(self):
        out = [("loss", self._loss_tracker)]
        if self._compile_metrics is not None:
            out += [(n, m) for n, m, _, _ in self._compile_metrics.entries]
        if self._compile_loss is not None:
            out += [(t.name, t) for t in self._compile_loss.metrics]
        return out

    def make_train_function(self, force=False):
        sig = self._function_signature()
        if self.train_function is not None and not force and getattr(self, "_train_sig", None) == sig:
            return self.train_function
        trainable, non_trainable = self.trainable_variables, self.non_trainable_variables
        optimizer = self.optimizer

        def train_step(tv, ntv, ov, mv, data, key, step):
            x, y, sw = data
            rng = fnflow.random.fold_in(key, step)

            def loss_fn(tv):
                y_pred, new_ntv, losses = self.stateless_call(tv, ntv, x, training=True, rng_key=rng,
                                                              return_losses=True)
                self._step_losses = losses
                try:
                    loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sw, training=True)
                finally:
                    self._step_losses = None
                masks = [get_keras_mask(t) for t in nest.flatten(y_pred)]
                return loss, (y_pred, new_ntv, self._per_output_losses, masks)

            (loss, (y_pred, new_ntv, per_output, masks)), grads = fnflow.value_and_grad(loss_fn, has_aux=True)(
                list(tv))
            for t, m in zip(nest.flatten(y_pred), masks):  # the output masks weigh the metrics too
                set_keras_mask(t, m)
            self._per_output_losses = per_output
            if hasattr(optimizer, "_current_loss"):
                optimizer._current_loss = loss
            new_tv, new_ov = optimizer.stateless_apply(ov, grads, tv)
            new_mv, logs = self._update_metrics(mv, loss, y, y_pred, sw, _batch_size(x))
            return (new_tv, new_ntv, new_ov, new_mv), logs

        self._train_vars = (trainable, non_trainable)
        self._train_sig = sig
        self.train_function = self._step_function(train_step, 4, "train_step")
        return self.train_function

    def make_test_function(self, force=False):
        sig = self._function_signature()
        if self.test_function is not None and not force and getattr(self, "_test_sig", None) == sig:
            return self.test_function

        assigned = []

        def test_step(tv, ntv, mv, data):
            x, y, sw = data
            y_pred, new_ntv, losses = self.stateless_call(tv, ntv, x, training=False, return_losses=True)
            self._step_losses = losses
            try:
                loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sw, training=False)
            finally:
                self._step_losses = None
            new_mv, logs = self._update_metrics(mv, loss, y, y_pred, sw, _batch_size(x))
            return (_assigned(new_ntv, ntv, assigned), new_mv), logs  # a stateful RNN's states carry on

        self._test_sig = sig
        self.test_function = self._step_function(test_step, 3, "test_step")
        self.test_function.assigned = assigned
        return self.test_function

    def make_predict_function(self, force=False):
        sig = (tuple(id(v) for v in self.trainable_variables), tuple(id(v) for v in self.non_trainable_variables))
        if self.predict_function is not None and not force and getattr(self, "_predict_sig", None) == sig:
            return self.predict_function

        assigned = []

        def predict_step(tv, ntv, x):
            y_pred, new_ntv = self.stateless_call(tv, ntv, x, training=False)
            return (_assigned(new_ntv, ntv, assigned),), y_pred  # a stateful RNN's states carry on

        self._predict_sig = sig
        self.predict_function = StepFunction(predict_step, 2, jit=not self.run_eagerly, name="predict_step")
        self.predict_function.assigned = assigned
        return self.predict_function

    def _train_groups(self, data, cached=None):
        """The train function and the variables it threads (``cached`` when still valid)."""
        if cached is not None and cached.valid(self.train_function):
            return cached
        x, y, sw = data
        opt = self.optimizer
        if not self._compile_built or not opt.built or [id(v) for v in opt._trainable_variables] != [
                id(v) for v in self.trainable_variables]:  # first step, or a layer was (un)frozen since
            self._build_for_batch(x, y, sw)
        fn = self.make_train_function()
        tv_vars, ntv_vars = self._train_vars
        return _VariableGroups(fn, (tv_vars, ntv_vars, list(self.optimizer._state_variables),
                                    self._metric_variables()))

    def _run_train_step(self, data, key, step, cached=None):
        """One training step; returns ``(logs, groups)``, ``groups`` to pass back as ``cached`` next step."""
        groups = self._train_groups(data, cached)
        new, logs = groups.fn.run(groups.values(), data, (key, np.asarray(step, np.int32)))
        groups.rebind(new)
        return logs, groups

    def _test_groups(self, data, cached=None):
        if cached is not None and cached.valid(self.test_function):
            return cached
        x, y, sw = data
        if not self._compile_built:
            self._build_for_batch(x, y, sw)
        fn = self.make_test_function()
        return _VariableGroups(fn, (self.trainable_variables, self.non_trainable_variables,
                                    self._metric_variables()))

    def _run_test_step(self, data, cached=None):
        groups = self._test_groups(data, cached)
        (new_ntv, new_mv), logs = groups.fn.run(groups.values(), data)
        groups.rebind((new_mv,), which=(2,))
        _rebind_assigned(groups, new_ntv)
        return logs, groups

    def _predict_groups(self, x, cached=None):
        if cached is not None and cached.valid(self.predict_function):
            return cached
        if not self.built:
            self(x, training=False)
        fn = self.make_predict_function()
        return _VariableGroups(fn, (self.trainable_variables, self.non_trainable_variables))

    def _run_predict_step(self, x, cached=None):
        groups = self._predict_groups(x, cached)
        (new_ntv,), out = groups.fn.run(groups.values(), x)
        _rebind_assigned(groups, new_ntv)
        return out, groups

    # ------------------------------------------------------------------ fit

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` epochs; returns the ``History`` (``history.history[name]`` per epoch)."""
        self._assert_compiled("training")
        if validation_split and validation_data is None:
            if not isinstance(x, (np.ndarray, list, tuple, dict)) and not hasattr(x, "__array__"):
                raise ValueError("`validation_split` is only supported for Tensors or NumPy arrays, found "
                                 f"{type(x).__name__}")
            arrays = (da.to_arrays(x), da.to_arrays(y), da.to_arrays(sample_weight))
            (x, y, sample_weight), validation_data = da.train_validation_split(arrays, validation_split)
        adapter = da.get_adapter(x, y, sample_weight, batch_size=batch_size, steps=steps_per_epoch,
                                 shuffle=shuffle, class_weight=class_weight)
        val = None
        if validation_data is not None:
            if isinstance(validation_data, (tuple, list)) and not da._is_dataset(validation_data):
                vx, vy, vsw = da.unpack_x_y_sample_weight(tuple(validation_data))
                val = da.get_adapter(vx, vy, vsw, batch_size=validation_batch_size or batch_size,
                                     steps=validation_steps)
            else:
                val = da.get_adapter(validation_data, steps=validation_steps, batch_size=validation_batch_size)
        callbacks = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                                 verbose=verbose, epochs=epochs, steps=adapter.num_batches)
        from fnflow_keras import random as krandom

        key = krandom.draw_key()
        self.stop_training = False
        callbacks.on_train_begin()
        step = int(np.asarray(self.optimizer._iterations.numpy())) if self.optimizer.built else 0  # every call
        epoch_logs = {}
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            callbacks.on_epoch_begin(epoch)
            logs, seen, groups = {}, 0, None
            for i, data in enumerate(adapter.epoch()):
                callbacks.on_train_batch_begin(i)
                raw, groups = self._run_train_step(data, key, step, groups)
                logs = _pythonify(raw)
                step += 1
                seen += 1
                callbacks.on_train_batch_end(i, logs)
                if self.stop_training:
                    break
            adapter.on_epoch_end()
            if seen == 0:
                warnings.warn("fit: the input produced no batch for this epoch; stopping training.", stacklevel=2)
                break
            epoch_logs = dict(logs)
            if val is not None and self._should_validate(epoch, validation_freq):
                val_logs = self._evaluate_adapter(val, callbacks)
                epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
            callbacks.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        if epochs > 0:  # as Keras: with use_ema the model variables take their moving averages
            self.optimizer.finalize_variable_values(self.trainable_weights)
        callbacks.on_train_end(logs=epoch_logs)
        return callbacks._history

    @staticmethod
    def _should_validate(epoch, validation_freq):
        if isinstance(validation_freq, int):
            return (epoch + 1) % validation_freq == 0
        return epoch + 1 in validation_freq

    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1, callbacks=None,
                      validation_data=None, validation_steps=None, class_weight=None, initial_epoch=0, **kwargs):
        """Keras 2's name for ``fit`` on a generator (removed in Keras 3)."""
        warnings.warn("`Model.fit_generator` is deprecated and removed in Keras 3; use `Model.fit`, which supports "
                      "generators.", DeprecationWarning, stacklevel=2)
        return self.fit(generator, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose,
                        callbacks=callbacks, validation_data=validation_data, validation_steps=validation_steps,
                        class_weight=class_weight, initial_epoch=initial_epoch)

    # ------------------------------------------------------------------ evaluate

    def _evaluate_adapter(self, adapter, callbacks):
        self.reset_metrics()
        callbacks.on_test_begin()
        logs, groups = {}, None
        for i, data in enumerate(adapter.epoch()):
            callbacks.on_test_batch_begin(i)
            raw, groups = self._run_test_step(data, groups)
            logs = _pythonify(raw)
            callbacks.on_test_batch_end(i, logs)
        adapter.on_epoch_end()
        callbacks.on_test_end(logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, **kwargs):
        """The loss and metrics on the data: a scalar, a list ``[loss, *metrics]`` or a dict."""
        self._assert_compiled("evaluation")
        adapter = da.get_adapter(x, y, sample_weight, batch_size=batch_size, steps=steps)
        callbacks = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1,
                                 steps=adapter.num_batches)
        logs = self._evaluate_adapter(adapter, callbacks)
        return logs if return_dict else self._flatten_logs(logs)

    def _flatten_logs(self, logs):
        names = [n for n in self._log_names() if n in logs]
        results = [logs[n] for n in names] + [logs[k] for k in sorted(logs) if k not in names]
        return results[0] if len(results) == 1 else results

    def evaluate_generator(self, generator, steps=None, **kwargs):
        """Keras 2's name for ``evaluate`` on a generator (removed in Keras 3)."""
        warnings.warn("`Model.evaluate_generator` is deprecated; use `Model.evaluate`.", DeprecationWarning,
                      stacklevel=2)
        return self.evaluate(generator, steps=steps, **kwargs)

    # ------------------------------------------------------------------ predict

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs on ``x``, batch by batch, as NumPy arrays."""
        adapter = da.get_adapter(x, batch_size=batch_size, steps=steps)
        callbacks = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1,
                                 steps=adapter.num_batches)
        callbacks.on_predict_begin()
        outputs, groups = [], None
        for i, (bx, _, _) in enumerate(adapter.epoch()):
            callbacks.on_predict_batch_begin(i)
            out, groups = self._run_predict_step(bx, groups)
            outputs.append(out)
            callbacks.on_predict_batch_end(i, {"outputs": out})
        adapter.on_epoch_end()
        callbacks.on_predict_end()
        if not outputs:
            raise ValueError("predict: the input produced no batch")
        flat = [nest.flatten(o) for o in outputs]
        joined = [np.concatenate([np.asarray(f[j]) for f in flat], axis=0) for j in range(len(flat[0]))]
        return nest.pack_sequence_as(outputs[0], joined)

    def predict_generator(self, generator, steps=None, **kwargs):
        """Keras 2's name for ``predict`` on a generator (removed in Keras 3)."""
        warnings.warn("`Model.predict_generator` is deprecated; use `Model.predict`.", DeprecationWarning,
                      stacklevel=2)
        return self.predict(generator, steps=steps, **kwargs)

    # ------------------------------------------------------------------ *_on_batch

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One training step on one batch; returns the current loss and metrics."""
        self._assert_compiled("training")
        data = next(da.ArrayAdapter(x, y, sample_weight, batch_size=_batch_size(da.to_arrays(x)),
                                    class_weight=class_weight).epoch())
        from fnflow_keras import random as krandom

        if getattr(self, "_on_batch_key", None) is None:
            self._on_batch_key = krandom.draw_key()
        step = int(self.optimizer._iterations.numpy()) if self.optimizer.built else 0  # every call, not updates
        raw, self._on_batch_train = self._run_train_step(data, self._on_batch_key, step,
                                                         getattr(self, "_on_batch_train", None))
        logs = _pythonify(raw)
        return logs if return_dict else self._flatten_logs(logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """The loss and metrics on one batch."""
        self._assert_compiled("evaluation")
        self.reset_metrics()
        data = next(da.ArrayAdapter(x, y, sample_weight, batch_size=_batch_size(da.to_arrays(x))).epoch())
        raw, self._on_batch_test = self._run_test_step(data, getattr(self, "_on_batch_test", None))
        logs = _pythonify(raw)
        return logs if return_dict else self._flatten_logs(logs)

    def predict_on_batch(self, x):
        """The model's outputs on one batch, as NumPy arrays."""
        out, self._on_batch_predict = self._run_predict_step(da.to_arrays(x), getattr(self, "_on_batch_predict", None))
        return nest.map_structure(np.asarray, out)
