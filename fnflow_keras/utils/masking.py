"""Keras masks: a boolean ``(batch, time)`` tensor attached to a layer's output as ``_keras_mask``.

Eager fnflow arrays and KerasTensors take the attribute directly; values that
cannot (the tracers of ``jit``/``grad``) keep it in a table keyed by object id,
cleared when the value is garbage-collected (as Keras's ``set_keras_mask``).
"""

from __future__ import annotations

import weakref

_MASKS = {}  # id(tensor) -> mask, for tensors without an instance __dict__


def _forget(key):
    _MASKS.pop(key, None)


def set_keras_mask(x, mask):
    """Attach ``mask`` to ``x`` (``None`` removes it)."""
    try:
        x._keras_mask = mask
        return
    except AttributeError:
        pass
    if mask is None:
        _MASKS.pop(id(x), None)
        return
    try:
        weakref.finalize(x, _forget, id(x))
    except TypeError:
        return  # neither an attribute nor a weak reference: a plain Python value carries no mask
    _MASKS[id(x)] = mask


def get_keras_mask(x):
    """The mask attached to ``x``, or None."""
    if x is None:
        return None
    try:
        return x.__dict__["_keras_mask"]
    except (AttributeError, KeyError):
        pass
    return _MASKS.get(id(x))


def masks_of(x):
    """The mask of ``x``, or the list of masks of a list/tuple of tensors (None when none has one)."""
    if isinstance(x, (list, tuple)):
        masks = [get_keras_mask(t) for t in x]
        return None if all(m is None for m in masks) else masks
    if isinstance(x, dict):
        return None
    return get_keras_mask(x)


__all__ = ["set_keras_mask", "get_keras_mask", "masks_of"]
