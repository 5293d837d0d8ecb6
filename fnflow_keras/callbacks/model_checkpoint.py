"""``ModelCheckpoint``: save the model (or its weights) at the end of epochs."""

from __future__ import annotations

import os
import warnings

from fnflow_keras.callbacks.callback import Callback
from fnflow_keras.callbacks.monitor import as_float, monitor_direction


class ModelCheckpoint(Callback):
    """Save after each epoch to ``filepath`` formatted with ``epoch`` (1-based) and the logs
    (``"model-{epoch:02d}-{val_loss:.2f}.keras"``); with ``save_best_only`` only when ``monitor`` improves.

    ``save_weights_only`` calls ``model.save_weights`` (``.weights.h5``), else ``model.save``.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.mode = mode
        self.save_freq = save_freq
        self.best = initial_value_threshold
        self._direction = None
        self._batches_seen = 0
        self._epoch = 0
        if save_freq != "epoch" and not isinstance(save_freq, int):
            raise ValueError(f"Unrecognized save_freq: {save_freq}. Expected 'epoch' or an integer")

    def on_train_begin(self, logs=None):
        self._direction = monitor_direction(self.monitor, self.mode, self.model, "ModelCheckpoint")

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if isinstance(self.save_freq, int):
            self._batches_seen += 1
            if self._batches_seen % self.save_freq == 0:
                self._save(self._epoch, logs, batch=batch)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, logs)

    def _improved(self, current):
        if self.best is None:
            return True
        return current < self.best if self._direction == "min" else current > self.best

    def _path(self, epoch, logs, batch=None):
        try:
            if batch is None:
                return self.filepath.format(epoch=epoch + 1, **(logs or {}))
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **(logs or {}))
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". Reason: {e}') from None

    def _save(self, epoch, logs, batch=None):
        logs = logs or {}
        path = self._path(epoch, logs, batch)
        if self.save_best_only:
            current = as_float(logs.get(self.monitor))
            if current is None:
                warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
                return
            if not self._improved(current):
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
            if self.verbose > 0:
                prev = "inf" if self.best is None else f"{self.best:.5f}"
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {prev} to {current:.5f}, saving model "
                      f"to {path}")
            self.best = current
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        method = "save_weights" if self.save_weights_only else "save"
        save = getattr(self.model, method, None)
        if save is None:
            raise NotImplementedError(f"ModelCheckpoint: this model has no `{method}` method yet")
        save(path, overwrite=True)
