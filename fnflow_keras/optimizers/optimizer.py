"""Keras's ``Optimizer`` base class: state in Variables, updates computed by ``fnflow.optim``.

Two kinds of optimizer share this class:

- the built-in ones (``SGD``, ``Adam`` ...) describe themselves with
  ``_fnflow_transform(learning_rate, **common)`` -> an ``fnflow.optim``
  GradientTransformation. At ``build`` its state is laid out in Variables:
  ``iterations`` (the step count), ``learning_rate`` (a hyper-parameter of the
  state, so assigning it never retraces a jitted step) and one Variable per
  slot array (``momentum``, ``velocity`` ...), in Keras's order;
- user subclasses that override ``build(var_list)`` and
  ``update_step(gradient, variable, learning_rate)`` as in Keras 3 (with
  ``add_variable_from_reference`` and ``self.assign``): their code runs inside a
  ``StatelessScope`` that binds the optimizer's and the model's variables, so
  it works eagerly and inside the trainer's jitted step.

``stateless_apply(optimizer_values, grads, trainable_values) -> (trainable_values,
optimizer_values)`` is the pure function the trainer jits; ``apply_gradients``
is its eager, stateful front.
"""

from __future__ import annotations

import re
import warnings

import numpy as np

import fnflow.numpy as fnp
import fnflow.optim as O
from fnflow.core import tree as tu
from fnflow.optim.clipping import keras_clipping
from fnflow.optim.transform import HyperparamsState
from fnflow_keras.variables import StatelessScope, Variable

_COMMON = ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm")


def _is_schedule(lr):
    return callable(lr) and not isinstance(lr, Variable)


class Optimizer:
    """Base of the Keras optimizers (see the module docstring)."""

    # built-in optimizers: the slot names of each of Keras's `add_optimizer_variables` calls, in order
    _keras_slot_groups = None

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if "lr" in kwargs:
            warnings.warn("The `lr` argument is deprecated, use `learning_rate` instead.", DeprecationWarning,
                          stacklevel=2)
            learning_rate = kwargs.pop("lr")
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.", stacklevel=2)
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        if gradient_accumulation_steps and not gradient_accumulation_steps >= 2:
            raise ValueError("`gradient_accumulation_steps` must be an integer >= 2. Received: "
                             f"gradient_accumulation_steps={gradient_accumulation_steps}")
        if use_ema:
            if ema_momentum > 1 or ema_momentum < 0:
                raise ValueError(f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={ema_momentum}")
            if ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int)
                                            or ema_overwrite_frequency < 1):
                raise ValueError("`ema_overwrite_frequency` must be an integer >= 1 or None. Received: "
                                 f"ema_overwrite_frequency={ema_overwrite_frequency}")
        if sum(v is not None for v in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
                             f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}")
        self.name = name or re.sub(r"(?<!^)(?=[A-Z])", "_", type(self).__name__).lower()
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.built = False
        self._variables = []
        self._exclude_names = ()
        self._exclude_vars = set()
        self._trainable_variables = []
        self._index = {}
        self._iterations = Variable(np.zeros((), np.int32), dtype="int32", trainable=False, name="iteration")
        # with gradient accumulation, `iterations` counts the updates: a read-only view `_iterations // steps`
        self._update_count = _UpdateCount(self._iterations, gradient_accumulation_steps) \
            if gradient_accumulation_steps else None
        self._averages = []  # use_ema: the moving average of each model variable (`<path>_average`)
        self._accumulators = []  # gradient accumulation: `<path>_gradient_accumulator` per model variable
        self._schedule = None
        self._learning_rate = Variable(np.zeros((), np.float32), dtype="float32", trainable=False,
                                       name="learning_rate")
        self._set_learning_rate(learning_rate)
        self._legacy_warned = False

    # ----------------------------------------------------------- learning rate

    def _set_learning_rate(self, learning_rate):
        if _is_schedule(learning_rate):
            if self.built and self._schedule is None:
                raise TypeError("This optimizer was created with a float learning rate; it cannot be replaced "
                                "by a schedule after it is built")
            self._schedule = learning_rate
            return
        if self._schedule is not None:
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object as its "
                            "`learning_rate`; its learning rate cannot be set to a float")
        value = learning_rate.value if isinstance(learning_rate, Variable) else learning_rate
        self._learning_rate.assign(np.asarray(value, np.float32))

    @property
    def learning_rate(self):
        """The current learning rate: a Variable (assign it to change the rate), or the schedule's value."""
        if self._schedule is not None:
            return self._schedule(self._iterations.value)
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._set_learning_rate(value)

    @property
    def lr(self):
        """Keras 2's name of :attr:`learning_rate`."""
        warnings.warn("`optimizer.lr` is deprecated, use `optimizer.learning_rate`", DeprecationWarning,
                      stacklevel=2)
        return self.learning_rate

    @lr.setter
    def lr(self, value):
        warnings.warn("`optimizer.lr` is deprecated, use `optimizer.learning_rate`", DeprecationWarning,
                      stacklevel=2)
        self.learning_rate = value

    def _current_learning_rate(self):
        if self._schedule is not None:
            return self._schedule(self._iterations.value)
        return self._learning_rate.value

    @property
    def iterations(self):
        """The number of updates done (a Variable).

        With ``gradient_accumulation_steps=n`` it is Keras's ``iterations // n``
        (a read-only view): the stored step count (``variables[0]``, what a
        learning-rate schedule sees) goes up at every call, the variables change
        at every n-th.
        """
        return self._iterations if self._update_count is None else self._update_count

    # ------------------------------------------------------------- variables

    @property
    def variables(self):
        """``[iterations, learning_rate, *slots]`` in Keras 3's order (learning_rate left out for schedules).

        Keras creates the slots of a built-in optimizer group by group (Adam: ``momentum, velocity`` then, with
        amsgrad, ``velocity_hat``; RMSprop: ``velocity``, ``momentum``, ``average_gradient``), the names of one
        group interleaved per model variable: ``kernel_momentum, kernel_velocity, bias_momentum, ...``.
        """
        head = [self._iterations] if self._schedule is not None else [self._iterations, self._learning_rate]
        if self._custom():  # the averages and accumulators were created in `self._variables` by `build`
            return head + list(self._variables)
        return head + self._averages + self._accumulators + list(getattr(self, "_keras_slots", None)
                                                                 or self._variables)

    def get_weights(self):
        """The values of :attr:`variables` as NumPy arrays."""
        return [np.array(v.numpy()) for v in self.variables]

    def set_weights(self, weights):
        """Set :attr:`variables` from arrays in the same order and shapes as :meth:`get_weights`."""
        variables = self.variables
        if len(weights) != len(variables):
            raise ValueError(f"Optimizer {self.name!r} expects {len(variables)} weights, received {len(weights)}")
        for v, w in zip(variables, weights):
            w = np.asarray(w)
            if tuple(w.shape) != tuple(v.shape):
                raise ValueError(f"Optimizer variable {v.name!r} has shape {tuple(v.shape)}, received "
                                 f"{tuple(w.shape)}")
            v.assign(w.astype(v.dtype))

    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="mean", name=None):
        """A new state Variable of this optimizer."""
        shape = tuple(shape)
        dtype = dtype or "float32"
        if isinstance(initializer, str):
            if initializer == "zeros":
                value = np.zeros(shape, dtype)
            elif initializer == "ones":
                value = np.ones(shape, dtype)
            else:
                from fnflow_keras import initializers

                value = initializers.get(initializer)(shape, dtype=dtype)
        elif callable(initializer):
            value = initializer(shape, dtype=dtype)
        else:
            value = np.broadcast_to(np.asarray(initializer, dtype), shape)
        var = Variable(np.array(value, dtype), dtype=dtype, trainable=False, name=name or "variable",
                       aggregation=aggregation)
        self._variables.append(var)
        return var

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        """A state Variable shaped like ``reference_variable`` (named ``<its path>_<name>``)."""
        base = getattr(reference_variable, "path", None) or getattr(reference_variable, "name", "variable")
        return self.add_variable(reference_variable.shape, initializer, dtype=reference_variable.dtype,
                                 name=f"{base.replace('/', '_')}_{name or 'slot'}")

    def assign(self, variable, value):
        variable.assign(value)

    def assign_add(self, variable, value):
        variable.assign(variable.value + value)

    def assign_sub(self, variable, value):
        variable.assign(variable.value - value)

    def _get_variable_index(self, variable):
        return self._index[id(variable)]

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Leave these variables (or those whose path contains one of ``var_names``) out of weight decay."""
        if self.built:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before the optimizer is built.")
        self._exclude_vars = {id(v) for v in (var_list or [])}
        self._exclude_names = tuple(var_names or ())

    def _use_weight_decay(self, variable):
        if id(variable) in self._exclude_vars:
            return False
        path = getattr(variable, "path", "") or getattr(variable, "name", "")
        return not any(re.search(n, path) for n in self._exclude_names)

    # ------------------------------------------------------------------ build

    def _custom(self):
        return type(self).update_step is not Optimizer.update_step or type(self).get_updates \
            is not Optimizer.get_updates

    def build(self, var_list):
        """Create the state for ``var_list`` (the model's trainable variables).

        Rebuilding a built optimizer for another list (a layer was frozen or
        unfrozen during ``fit``) keeps the slot values of the variables in both lists.
        """
        var_list = list(var_list)
        old_slots = dict(getattr(self, "_slot_of", None) or {}) if self.built else {}
        self._trainable_variables = var_list
        self._index = {id(v): i for i, v in enumerate(var_list)}
        self._build_ema_and_accumulators(var_list)
        if not self._custom():
            self._build_fnflow(var_list)
            for k, var in self._slot_of.items():
                old = old_slots.get(k)
                if old is not None and old.shape == var.shape:
                    var.assign(old.value)
        self.built = True

    def _build_ema_and_accumulators(self, var_list):
        """Keras's ``BaseOptimizer.build``: first the averages, then the accumulators, before any slot.

        A custom optimizer gets them through ``add_variable`` (so they come first in ``variables`` when its
        ``build`` calls ``super().build`` first, as in Keras); a rebuild keeps the values of the variables in both
        lists.
        """
        old = {}
        for kind, group in (("average", self._averages), ("gradient_accumulator", self._accumulators)):
            for ref, var in zip(getattr(self, "_extra_refs", ()), group):
                old[(id(ref), kind)] = var
        stale = {id(v) for v in old.values()}
        self._variables = [v for v in self._variables if id(v) not in stale]

        def make(kind):
            out = []
            for ref in var_list:
                var = self.add_variable_from_reference(ref, kind)
                prev = old.get((id(ref), kind))
                if prev is not None and prev.shape == var.shape:
                    var.assign(prev.value)
                out.append(var)
            return out

        self._averages = make("average") if self.use_ema else []
        self._accumulators = make("gradient_accumulator") if self.gradient_accumulation_steps else []
        self._extra_refs = list(var_list)
        if not self._custom():  # the built-in optimizers keep only their slots in `_variables`
            self._variables = []

    def _build_fnflow(self, var_list):
        mask = [self._use_weight_decay(v) for v in var_list]
        lr = self._schedule if self._schedule is not None else float(self._learning_rate.numpy())
        common = {"weight_decay": self.weight_decay, "clipnorm": self.clipnorm, "clipvalue": self.clipvalue,
                  "global_clipnorm": self.global_clipnorm}
        if self.weight_decay is not None and not all(mask):
            common["weight_decay_mask"] = mask
        self._tx = self._fnflow_transform(lr, **common)
        state = self._tx.init([v.value for v in var_list])
        if not isinstance(state, HyperparamsState):
            raise TypeError(f"{type(self).__name__}._fnflow_transform must return a Keras-style fnflow optimizer "
                            f"(learning rate kept in the state)")
        items, self._treedef = tu.tree_flatten_with_path(state)
        # where each leaf of the state comes from: "iterations", "learning_rate", "count" (= iterations),
        # "schedule" (recomputed by the transform) or a slot Variable
        self._layout = []
        self._variables = []
        self._keras_slots = None
        self._slot_of = {}  # (id of the model variable, slot name) -> slot Variable
        per_name, by_slot = {}, {}
        for path, leaf in items:
            key = tu.keystr(path)
            if key == ".count":
                self._layout.append("iterations")
            elif key == ".hyperparams['learning_rate']":
                self._layout.append("schedule" if self._schedule is not None else "learning_rate")
            elif np.ndim(leaf) == 0 and np.issubdtype(np.asarray(leaf).dtype, np.integer):
                self._layout.append("count")
            else:
                fields = re.findall(r"\.([A-Za-z_]\w*)", key)
                slot = fields[-1] if fields else "slot"
                i = per_name.get(slot, 0)
                per_name[slot] = i + 1
                ref = var_list[i] if i < len(var_list) and np.shape(leaf) == var_list[i].shape else None
                name = f"{ref.path.replace('/', '_')}_{slot}" if ref is not None else f"{slot}_{i}"
                var = Variable(np.asarray(leaf), dtype=np.asarray(leaf).dtype.name, trainable=False, name=name)
                if ref is not None:
                    self._slot_of[(id(ref), slot)] = var
                self._variables.append(var)
                self._layout.append(var)
                by_slot.setdefault(slot, []).append(var)
        self._keras_slots = self._keras_slot_order(by_slot, len(var_list))

    def _keras_slot_order(self, by_slot, n):
        """The slot Variables in Keras's creation order (None: keep fnflow's order, e.g. for an unknown layout)."""
        groups = self._keras_slot_groups
        if groups is None:
            return None
        groups = [[s for s in g if s in by_slot] for g in groups]
        grouped = {s for g in groups for s in g}
        if any(len(by_slot[s]) != n for s in grouped):
            return None
        # state that is not per model variable (Nadam's u_product) comes after the slots, as in Keras
        tail = [v for s, vs in by_slot.items() if s not in grouped for v in vs]
        return [by_slot[s][i] for g in groups for i in range(n) for s in g] + tail

    def _fnflow_transform(self, learning_rate, **common):
        raise NotImplementedError

    # ------------------------------------------------------------------ apply

    @property
    def _state_variables(self):
        """Every Variable the pure update reads and writes (the trainer threads their values)."""
        if self._custom():
            return [self._iterations, self._learning_rate] + list(self._variables)
        return [self._iterations, self._learning_rate] + self._averages + self._accumulators + list(self._variables)

    def _state_from(self, values, iterations, count):
        """The fnflow.optim state from the values by Variable id; ``iterations`` is the step count a schedule
        sees, ``count`` the number of updates done (they differ with gradient accumulation)."""
        leaves = []
        for src in self._layout:
            if isinstance(src, Variable):
                leaves.append(values[id(src)])
            elif src == "iterations":
                leaves.append(iterations)
            elif src == "count":
                leaves.append(count)
            elif src == "learning_rate":
                leaves.append(values[id(self._learning_rate)])
            elif src == "schedule":
                leaves.append(fnp.asarray(self._schedule(iterations)).astype(np.float32))
        return tu.tree_unflatten(self._treedef, leaves)

    def _slot_values_from(self, state):
        """``{id(slot Variable): new value}`` from a new fnflow.optim state."""
        return {id(src): leaf for src, leaf in zip(self._layout, tu.tree_leaves(state)) if isinstance(src, Variable)}

    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        """One update as a pure function: ``(new trainable values, new optimizer values)``.

        ``optimizer_variables`` are the values of ``self._state_variables``;
        ``trainable_variables`` the values of the variables the optimizer was built for.
        As Keras 3 (JAX backend): with ``gradient_accumulation_steps=n`` the gradients
        are summed in the accumulators and every n-th call updates the variables with
        ``(sum + gradient) / n`` (the other calls leave variables and slots as they are);
        with ``use_ema`` the moving averages follow the updated variables (and replace
        them every ``ema_overwrite_frequency`` updates); then the constraints are
        applied and the step count goes up by one.
        """
        state_vars = self._state_variables
        optimizer_variables, grads, params = list(optimizer_variables), list(grads), list(trainable_variables)
        if len(optimizer_variables) != len(state_vars) or len(params) != len(self._trainable_variables):
            raise ValueError(f"stateless_apply: expected {len(state_vars)} optimizer values and "
                             f"{len(self._trainable_variables)} trainable values, received {len(optimizer_variables)} "
                             f"and {len(params)}")
        if (self.use_ema and len(self._averages) != len(params)) or \
                (self.gradient_accumulation_steps and len(self._accumulators) != len(params)):
            raise ValueError(f"{type(self).__name__}: use_ema / gradient_accumulation_steps need the variables that "
                             f"Optimizer.build creates: call super().build(var_list) in build")
        old = {id(v): x for v, x in zip(state_vars, optimizer_variables)}
        it = fnp.asarray(old[id(self._iterations)])
        steps = self.gradient_accumulation_steps
        count = it // steps if steps else it
        step_grads = grads
        if steps:
            is_update = (it + 1) % steps == 0
            accs = [old[id(a)] for a in self._accumulators]
            step_grads = [None if g is None else fnp.where(is_update, (g + a) / steps, g) for g, a in zip(grads, accs)]
            new_accs = [a if g is None else fnp.where(is_update, fnp.zeros_like(a), g + a) for g, a in zip(grads, accs)]

        if not self._custom():
            state = self._state_from(old, it, count)
            updates, new_state = self._tx.update(step_grads, state, params)
            new_params = list(O.apply_updates(params, updates))
            new = dict(old)
            new.update(self._slot_values_from(new_state))
        else:
            mapping = list(zip(state_vars, optimizer_variables)) + list(zip(self._trainable_variables, params))
            with StatelessScope(mapping) as scope:
                self._custom_apply(step_grads, self._trainable_variables)
            new_params = [scope.get(v) for v in self._trainable_variables]
            new = {id(v): scope.get(v) for v in state_vars}

        if steps:  # only every n-th call updates; the accumulators restart after it
            new_params = [fnp.where(is_update, x, p) for x, p in zip(new_params, params)]
            new = {k: fnp.where(is_update, x, old[k]) for k, x in new.items()}
            new.update({id(a): x for a, x in zip(self._accumulators, new_accs)})

        if self.use_ema:
            # the first update (count 0) sets the averages to the variables
            new_avgs = []
            for p, avg in zip(new_params, self._averages):
                momentum = (count != 0).astype(p.dtype) * self.ema_momentum
                new_avgs.append(momentum * new[id(avg)] + (1 - momentum) * p)
            new.update({id(a): x for a, x in zip(self._averages, new_avgs)})
            if self.ema_overwrite_frequency:
                overwrite = (count + 1) % self.ema_overwrite_frequency == 0
                new_params = [fnp.where(overwrite, a, p) for a, p in zip(new_avgs, new_params)]

        new[id(self._iterations)] = it + 1
        return self._constrain(grads, new_params), [new[id(v)] for v in state_vars]

    def _constrain(self, grads, new_values):
        """Keras 3: after the update, each updated variable with a ``constraint`` takes ``constraint(new value)``
        (variables without a gradient are left alone). Pure, so it runs inside the trainer's jitted step too."""
        out = []
        for var, g, x in zip(self._trainable_variables, grads, new_values):
            constraint = getattr(var, "constraint", None)
            if constraint is not None and g is not None:
                x = fnp.asarray(constraint(x))
                if x.dtype != var.dtype:
                    x = x.astype(var.dtype)
            out.append(x)
        return out

    def _custom_apply(self, grads, variables):
        clipping = keras_clipping(clipnorm=self.clipnorm, clipvalue=self.clipvalue,
                                  global_clipnorm=self.global_clipnorm)
        if clipping is not None:
            grads, _ = clipping.update(grads, clipping.init(grads), None)
        lr = self._current_learning_rate()
        if self.weight_decay:
            for v in variables:
                if self._use_weight_decay(v):
                    v.assign(v.value - v.value * self.weight_decay * fnp.asarray(lr).astype(v.dtype))
        if type(self).update_step is not Optimizer.update_step:
            for g, v in zip(grads, variables):
                if g is not None:
                    self.update_step(g, v, fnp.asarray(lr).astype(v.dtype))
        else:
            self._legacy_apply(grads, variables)

    def update_step(self, gradient, variable, learning_rate):
        """Update one variable from its gradient (override in custom optimizers)."""
        raise NotImplementedError(f"{type(self).__name__} must implement update_step(gradient, variable, "
                                  f"learning_rate)")

    # Keras 2 compatibility: get_updates(loss, params) returning update pairs
    def get_updates(self, loss, params):
        """Keras 2's update hook (removed in Keras 3); override :meth:`update_step` instead."""
        raise NotImplementedError

    def get_gradients(self, loss, params):
        """Keras 2: the gradients of the loss for ``params`` (those of the current training step)."""
        grads = getattr(self, "_current_grads", None)
        if grads is None:
            raise RuntimeError("get_gradients() is only available inside get_updates() during training")
        return [grads[self._index[id(p)]] for p in params]

    def _legacy_apply(self, grads, variables):
        if not self._legacy_warned:
            warnings.warn(f"{type(self).__name__}.get_updates() is the Keras 2 optimizer API, removed in Keras 3; "
                          f"implement build(var_list) and update_step(gradient, variable, learning_rate) instead",
                          DeprecationWarning, stacklevel=4)
            self._legacy_warned = True
        self._current_grads = grads
        try:
            updates = self.get_updates(getattr(self, "_current_loss", None), variables)
        finally:
            self._current_grads = None
        if isinstance(updates, dict):
            updates = list(updates.items())
        for item in updates or ():
            if isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], Variable):
                item[0].assign(item[1])

    def apply_gradients(self, grads_and_vars):
        """Apply ``[(gradient, variable), ...]`` eagerly (variables change in place)."""
        pairs = [(g, v) for g, v in grads_and_vars]
        return self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def apply(self, grads, trainable_variables=None):
        """Apply ``grads`` to ``trainable_variables`` (those of ``build`` when omitted)."""
        if trainable_variables is None:
            trainable_variables = self._trainable_variables
        trainable_variables = list(trainable_variables)
        if not self.built:
            self.build(trainable_variables)
        elif [id(v) for v in trainable_variables] != [id(v) for v in self._trainable_variables]:
            raise ValueError("apply: the optimizer was built for other variables; create a new optimizer")
        grads = [None if g is None else fnp.asarray(g.value if isinstance(g, Variable) else g) for g in grads]
        new_params, new_state = self.stateless_apply([v.value for v in self._state_variables], grads,
                                                     [v.value for v in trainable_variables])
        for v, x in zip(trainable_variables, new_params):
            v.assign(x)
        for v, x in zip(self._state_variables, new_state):
            v.assign(x)
        return self._iterations

    def finalize_variable_values(self, var_list):
        """End of training (``fit`` calls it): with ``use_ema``, the variables take their moving averages."""
        if not self.use_ema or not self.built:
            return
        var_list = list(var_list)
        if len(var_list) != len(self._averages):
            raise ValueError(f"The length of model variables ({len(var_list)}) to override does not match the "
                             f"length of model variables stored in the optimizer ({len(self._averages)}). Please "
                             f"check if the optimizer was called on your model.")
        for var, avg in zip(var_list, self._averages):
            var.assign(avg.value)

    # ----------------------------------------------------------------- config

    def get_config(self):
        if self._schedule is not None:
            from fnflow_keras.optimizers import schedules

            lr = schedules.serialize(self._schedule)
        else:
            lr = float(self._learning_rate.numpy())
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency, "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            from fnflow_keras.optimizers import schedules

            config["learning_rate"] = schedules.deserialize(config["learning_rate"], custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class _UpdateCount(Variable):
    """``optimizer.iterations`` with gradient accumulation: the read-only view ``step_count // steps``."""

    def __init__(self, source, steps):
        super().__init__(np.zeros((), np.int32), dtype="int32", trainable=False, name="iteration")
        self._source, self._steps = source, steps

    @property
    def value(self):
        return self._source.value // self._steps

    def assign(self, value):
        raise TypeError("optimizer.iterations is `iterations // gradient_accumulation_steps` here: assign "
                        "optimizer.variables[0] (the step count) instead")

    def __repr__(self):
        return f"<iterations // {self._steps} = {np.asarray(self.value)!r}>"
