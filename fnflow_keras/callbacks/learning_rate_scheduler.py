"""``LearningRateScheduler``: set the optimizer's learning rate at the start of each epoch."""

from __future__ import annotations

import numpy as np

from fnflow_keras.callbacks.callback import Callback


def current_lr(model) -> float:
    return float(np.asarray(model.optimizer.learning_rate))


class LearningRateScheduler(Callback):
    """``schedule(epoch, lr) -> new lr`` (or ``schedule(epoch)``), applied before each epoch.

    The rate is a hyper-parameter held in the optimizer state, so the jitted
    train step is not retraced. The rate is logged as ``learning_rate``.
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        if not hasattr(self.model.optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        lr = current_lr(self.model)
        try:
            lr = self.schedule(epoch, lr)
        except TypeError:  # schedule(epoch) only (old API)
            lr = self.schedule(epoch)
        lr = float(np.asarray(lr))
        if not np.isfinite(lr):
            raise ValueError(f'The output of the "schedule" function should be a finite float. Got: {lr}')
        self.model.optimizer.learning_rate = lr
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = current_lr(self.model)
