"""The losses and metrics of ``compile``, matched to the model's outputs (one or many, list or dict).

``CompileLoss`` resolves the ``loss`` argument (a name, a function, a Loss
object, or a list / dict of them per output) and ``loss_weights``;
``CompileMetrics`` resolves ``metrics`` and ``weighted_metrics``, including
Keras's ``"accuracy"`` rule: binary accuracy when the output has one unit,
sparse categorical accuracy when the labels have one axis less than the output
(or a last axis of 1 against several units), categorical accuracy otherwise.
Both are built once, from the first batch, and then run inside the pure train step.
"""

from __future__ import annotations

import math

import fnflow.numpy as fnp
from fnflow_keras import losses as losses_module
from fnflow_keras import metrics as metrics_module
from fnflow_keras.utils import nest
from fnflow_keras.utils.masking import get_keras_mask


def apply_mask(sample_weight, mask, reduction, dtype="float32"):
    """Keras's ``apply_mask``: fold an output mask into the sample weights.

    For the mean reductions the valid entries weigh ``total / valid`` (so the
    mean is taken over the unmasked entries only), for sums they weigh 1.
    """
    if mask is None:
        return sample_weight
    mask = fnp.asarray(mask)
    if reduction in ("mean", "sum_over_batch_size"):
        total = float(math.prod(mask.shape))
        valid = fnp.sum(mask.astype(dtype))
        weight = fnp.where(valid > 0, total / fnp.maximum(valid, 1.0), 0.0).astype(dtype)
        float_mask = fnp.where(mask.astype("bool"), weight, fnp.zeros((), dtype))
    else:
        float_mask = mask.astype(dtype)
    if sample_weight is None:
        return float_mask
    sample_weight = fnp.asarray(sample_weight).astype(dtype)
    while sample_weight.ndim < float_mask.ndim:
        sample_weight = fnp.expand_dims(sample_weight, -1)
    while float_mask.ndim < sample_weight.ndim:
        float_mask = fnp.expand_dims(float_mask, -1)
    return sample_weight * float_mask


def _shape(x):
    return tuple(getattr(x, "shape", ()))


def is_binary_or_sparse_categorical(y_true, y_pred):
    ts, ps = _shape(y_true), _shape(y_pred)
    is_binary = bool(ps) and ps[-1] == 1
    is_sparse = len(ts) < len(ps) or (bool(ts) and ts[-1] == 1 and bool(ps) and ps[-1] > 1)
    return is_binary, is_sparse


def get_metric(identifier, y_true, y_pred):
    """A metric object for ``identifier``, resolving ``"accuracy"``/``"acc"`` from the shapes."""
    if identifier is None:
        return None
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        is_binary, is_sparse = is_binary_or_sparse_categorical(y_true, y_pred)
        if is_binary:
            return metrics_module.BinaryAccuracy(name=identifier)
        if is_sparse:
            return metrics_module.SparseCategoricalAccuracy(name=identifier)
        return metrics_module.CategoricalAccuracy(name=identifier)
    return metrics_module.get(identifier)


def get_loss(identifier, y_true, y_pred):
    """A Loss object for ``identifier`` (``"crossentropy"``/``"ce"`` picks the crossentropy from the shapes)."""
    if identifier is None:
        return None
    if isinstance(identifier, str) and identifier.lower() in ("crossentropy", "ce"):
        is_binary, is_sparse = is_binary_or_sparse_categorical(y_true, y_pred)
        fn = (losses_module.binary_crossentropy if is_binary else losses_module.sparse_categorical_crossentropy
              if is_sparse else losses_module.categorical_crossentropy)
        return losses_module.LossFunctionWrapper(fn, name=identifier)
    obj = losses_module.get(identifier)
    if isinstance(obj, losses_module.Loss):
        return obj
    name = identifier if isinstance(identifier, str) else getattr(obj, "__name__", "loss")
    return losses_module.LossFunctionWrapper(obj, name=name)


def output_names_for(y_pred, output_names):
    """One name per flat output: the dict keys, the model's output names, or ``output_<i>``."""
    if isinstance(y_pred, dict):
        return sorted(y_pred)
    n = len(nest.flatten(y_pred))
    if output_names and len(output_names) == n:
        return list(output_names)
    return [f"output_{i}" if n > 1 else "output" for i in range(n)]


def flat_targets(y, names, n, what="y"):
    """``y`` as a flat list aligned with the flat outputs (dicts by output name)."""
    if y is None:
        return [None] * n
    if isinstance(y, dict):
        missing = [k for k in names if k not in y]
        if missing and n > 1:
            raise ValueError(f"`{what}` is a dict but has no entries for outputs {missing}; keys: {sorted(y)}")
        return [y.get(k) for k in names]
    flat = nest.flatten(y) if isinstance(y, (list, tuple)) else [y]
    if len(flat) == 1 and n > 1 and what == "sample_weight":
        return flat * n
    if len(flat) != n:
        raise ValueError(f"`{what}` has {len(flat)} entries but the model has {n} outputs")
    return flat


def _per_output(arg, names, what):
    """``arg`` (one value, a list or a dict by output name) as a list with one entry per output."""
    n = len(names)
    if isinstance(arg, dict):
        unknown = [k for k in arg if k not in names]
        if unknown:
            raise ValueError(f"In the dict argument `{what}`, key(s) {unknown} do not correspond to any model "
                             f"output. Outputs: {names}")
        return [arg.get(k) for k in names]
    if isinstance(arg, (list, tuple)) and n > 1:
        if len(arg) != n:
            raise ValueError(f"For a model with multiple outputs, when providing the `{what}` argument as a list, it "
                             f"should have as many entries as the model has outputs. Received: {what}={arg} of "
                             f"length {len(arg)} whereas the model has {n} outputs.")
        return list(arg)
    return [arg] * n


class CompileLoss:
    """The total loss ``sum_i weight_i * loss_i(y_true_i, y_pred_i, sample_weight_i)`` over the outputs."""

    def __init__(self, loss, loss_weights=None, output_names=None):
        self._loss, self._loss_weights, self._output_names = loss, loss_weights, output_names
        self.built = False
        self.losses, self.weights, self.names, self.trackers = [], [], [], []

    def build(self, y_true, y_pred):
        names = output_names_for(y_pred, self._output_names)
        self.output_names = names
        flat_pred = nest.flatten(y_pred)
        flat_true = flat_targets(y_true, names, len(flat_pred))
        loss = self._loss
        if isinstance(loss, (list, tuple)) and len(flat_pred) == 1 and len(loss) == 1:
            loss = loss[0]
        per = _per_output(loss, names, "loss")
        self.losses = [get_loss(lo, yt, yp) for lo, yt, yp in zip(per, flat_true, flat_pred)]
        w = self._loss_weights
        self.weights = [None] * len(names) if w is None else _per_output(
            w[0] if isinstance(w, (list, tuple)) and len(names) == 1 else w, names, "loss_weights")
        self.names = names
        self.trackers = []
        if sum(lo is not None for lo in self.losses) > 1:
            self.trackers = [metrics_module.Mean(name=f"{nm}_loss") if lo is not None else None
                             for nm, lo in zip(names, self.losses)]
        self.built = True

    def __call__(self, y_true, y_pred, sample_weight=None):
        """``(total, [per-output unweighted loss or None])``."""
        flat_pred = nest.flatten(y_pred)
        flat_true = flat_targets(y_true, self.names, len(flat_pred))
        flat_sw = flat_targets(sample_weight, self.names, len(flat_pred), "sample_weight")
        total, values = None, []
        for fn, w, yt, yp, sw in zip(self.losses, self.weights, flat_true, flat_pred, flat_sw):
            if fn is None:
                values.append(None)
                continue
            v = fn(yt, yp, sw)  # a Loss applies the output mask itself, as in Keras
            values.append(v)
            v = v * w if w is not None else v
            total = v if total is None else total + v
        return total, values

    @property
    def metrics(self):
        return [t for t in self.trackers if t is not None]


class CompileMetrics:
    """The ``metrics`` and ``weighted_metrics`` of ``compile``, per output, with Keras's log names.

    As in Keras 3 it is itself one entry of ``model.metrics`` (named ``compile_metrics``) whose
    ``result()`` is the dict of its metrics' results.
    """

    name = "compile_metrics"

    def __init__(self, metrics, weighted_metrics, output_names=None):
        for arg, what in ((metrics, "metrics"), (weighted_metrics, "weighted_metrics")):
            if arg and not isinstance(arg, (list, tuple, dict)):
                raise ValueError(f"Expected `{what}` argument to be a list, tuple, or dict. Received instead: "
                                 f"{what}={arg} of type {type(arg)}")
        self._metrics, self._weighted, self._output_names = metrics, weighted_metrics, output_names
        self.built = False
        self.entries = []  # (log name, metric, output index, weighted)

    def _resolve(self, arg, names, flat_true, flat_pred):
        n = len(names)
        if not arg:
            return [[] for _ in range(n)]
        if isinstance(arg, dict):
            per = _per_output(arg, names, "metrics")
        elif n > 1 and len(arg) == n:
            per = list(arg)  # Keras 3: one entry (a metric or a list) per output
        else:
            per = [list(arg)] * n  # Keras 2's rule (Keras 3 refuses): the same metrics on every output
        out = []
        for ms, yt, yp in zip(per, flat_true, flat_pred):
            ms = [] if ms is None else ms if isinstance(ms, (list, tuple)) else [ms]
            out.append([get_metric(m, yt, yp) for m in ms if m is not None])
        return out

    def build(self, y_true, y_pred):
        names = output_names_for(y_pred, self._output_names)
        flat_pred = nest.flatten(y_pred)
        flat_true = flat_targets(y_true, names, len(flat_pred))
        plain = self._resolve(self._metrics, names, flat_true, flat_pred)
        weighted = self._resolve(self._weighted, names, flat_true, flat_pred)
        self.names = names
        self.entries = []
        used = set()
        multi = len(names) > 1
        for kind, table in ((False, plain), (True, weighted)):
            for i, ms in enumerate(table):
                for m in ms:
                    m._build_for(flat_true[i], flat_pred[i])
                    name = f"{names[i]}_{m.name}" if multi else m.name
                    if name in used:
                        name = (f"{names[i]}_weighted_{m.name}" if multi else f"weighted_{m.name}") if kind else name
                        k = 1
                        base = name
                        while name in used:
                            name = f"{base}_{k}"
                            k += 1
                    used.add(name)
                    self.entries.append((name, m, i, kind))
        self.built = True

    @property
    def metrics(self):
        return [m for _, m, _, _ in self.entries]

    @property
    def variables(self):
        return [v for m in self.metrics for v in m.variables]

    def reset_state(self):
        for m in self.metrics:
            m.reset_state()

    def __repr__(self):
        return "<CompileMetrics name=compile_metrics>"

    def update_state(self, y_true, y_pred, sample_weight=None):
        flat_pred = nest.flatten(y_pred)
        flat_true = flat_targets(y_true, self.names, len(flat_pred))
        flat_sw = flat_targets(sample_weight, self.names, len(flat_pred), "sample_weight")
        for _, m, i, weighted in self.entries:
            # as Keras's MeanMetricWrapper: the output mask weighs the entries (masked ones count 0)
            sw = apply_mask(flat_sw[i] if weighted else None, get_keras_mask(flat_pred[i]), "sum")
            m.update_state(flat_true[i], flat_pred[i], sample_weight=sw)

    def result(self):
        return {name: m.result() for name, m, _, _ in self.entries}
