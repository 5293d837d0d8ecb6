"""Small callbacks: ``CSVLogger``, ``TerminateOnNaN``, ``LambdaCallback``, ``TensorBoard`` (not supported)."""

from __future__ import annotations

import collections
import csv
import os
import warnings

import numpy as np

from fnflow_keras.callbacks.callback import Callback


class CSVLogger(Callback):
    """Stream the epoch logs to a CSV file: ``epoch`` then the log keys in sorted order."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys = None
        self.writer = None
        self.csv_file = None
        self._header = True

    def on_train_begin(self, logs=None):
        self._header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename) as f:
                self._header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        self.csv_file = open(self.filename, mode, newline="")  # noqa: SIM115  (kept open across epochs)
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}

        def fmt(v):
            if isinstance(v, str):
                return v
            a = np.asarray(v)
            return float(a) if a.ndim == 0 else f'"[{", ".join(str(x) for x in a.ravel())}]"'

        if self.keys is None:
            self.keys = sorted(logs.keys())
        if self.writer is None:
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch", *self.keys], delimiter=self.sep)
            if self._header:
                self.writer.writeheader()
        row = collections.OrderedDict({"epoch": epoch})
        row.update((k, fmt(logs[k]) if k in logs else "NA") for k in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None:
            self.csv_file.close()
        self.writer = None


class TerminateOnNaN(Callback):
    """Stop training as soon as the loss of a batch is NaN or infinite."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(float(np.asarray(loss))):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``.

    Accepts any hook name (``on_train_begin``, ``on_train_batch_end``, ``on_batch_end`` ...).
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                     on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end, **kwargs)
        for name, fn in hooks.items():
            if not name.startswith("on_") or not hasattr(Callback, name):
                raise TypeError(f"LambdaCallback: unknown hook {name!r}")
            if fn is not None:
                setattr(self, name, fn)


class TensorBoard(Callback):
    """Accepted for compatibility; fnflow_keras writes no TensorBoard logs (a warning says so)."""

    def __init__(self, log_dir="logs", **kwargs):
        super().__init__()
        self.log_dir = log_dir
        warnings.warn("fnflow_keras: the TensorBoard callback writes nothing (no TensorBoard writer); use "
                      "CSVLogger or the History returned by fit()", stacklevel=2)
