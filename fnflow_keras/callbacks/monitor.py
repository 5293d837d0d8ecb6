"""Helpers shared by the callbacks that watch a logged quantity: the comparison direction of a monitor."""

from __future__ import annotations

import warnings

import numpy as np


def monitor_direction(monitor, mode, model=None, callback="callback"):
    """``"min"`` or ``"max"`` for ``monitor`` under ``mode`` (``"auto"`` guesses as Keras does)."""
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{callback} mode {mode} is unknown, fallback to auto mode.", stacklevel=3)
        mode = "auto"
    if mode != "auto":
        return mode
    name = monitor[4:] if monitor.startswith("val_") else monitor
    if name == "loss" or name.endswith("_loss"):
        return "min"
    for m in getattr(model, "metrics", None) or []:
        direction = getattr(m, "_direction", None)
        if getattr(m, "name", None) == name and direction in ("up", "down"):
            return "max" if direction == "up" else "min"
    if any(s in name for s in ("acc", "auc", "precision", "recall", "f1", "iou", "fmeasure")):
        return "max"
    return "min"


def as_float(value):
    if value is None:
        return None
    return float(np.asarray(value))
