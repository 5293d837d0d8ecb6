"""Learning-rate schedules with the names, arguments and formulas of ``keras.optimizers.schedules``.

A schedule is a small frozen record called with the step count (the number of
updates done before the current one, as Keras passes ``iterations``); it
returns a float32 scalar. It is written with ``fnflow.numpy``, so it runs
eagerly and on a traced count inside ``jit``. ``get_config()`` gives the
constructor's arguments (Keras's ``name`` included).
"""

from __future__ import annotations

import math

import attrs

import fnflow.numpy as fnp


def _f32(step):
    return fnp.asarray(step).astype(fnp.float32)


def _positive_steps(name):
    def check(inst, attribute, value):
        if value <= 0:
            raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")
    return check


class LearningRateSchedule:
    """Base of the schedules: ``schedule(step) -> rate`` and ``get_config()``."""

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override __call__(step)")

    def get_config(self) -> dict:
        return attrs.asdict(self, recurse=False)

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@attrs.frozen
class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (the exponent floored with ``staircase``)."""

    initial_learning_rate: float
    decay_steps: float = attrs.field(validator=_positive_steps("decay_steps"))
    decay_rate: float
    staircase: bool = False
    name: str = "ExponentialDecay"

    def __call__(self, step):
        p = _f32(step) / float(self.decay_steps)
        if self.staircase:
            p = fnp.floor(p)
        return self.initial_learning_rate * fnp.power(fnp.asarray(self.decay_rate, dtype=fnp.float32), p)


@attrs.frozen
class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while ``boundaries[i-1] < step <= boundaries[i]``,
    ``values[-1]`` after ``boundaries[-1]``."""

    boundaries: tuple = attrs.field(converter=tuple)
    values: tuple = attrs.field(converter=tuple)
    name: str = "PiecewiseConstant"

    def __attrs_post_init__(self):
        if len(self.boundaries) != len(self.values) - 1:
            raise ValueError(f"The length of boundaries should be 1 less than the length of values. Received: "
                             f"boundaries={list(self.boundaries)} of length {len(self.boundaries)}, and "
                             f"values={list(self.values)} of length {len(self.values)}.")

    def __call__(self, step):
        step = fnp.asarray(step)
        out = fnp.asarray(self.values[-1], dtype=fnp.float32)
        # from the last interval back, so the first boundary that step does not exceed wins
        for b, v in zip(reversed(self.boundaries), reversed(self.values[:-1])):
            out = fnp.where(step <= b, fnp.asarray(v, dtype=fnp.float32), out)
        return out

    def get_config(self):
        return {"boundaries": list(self.boundaries), "values": list(self.values), "name": self.name}


@attrs.frozen
class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - min(step, decay_steps) / decay_steps) ** power + end``.

    With ``cycle`` the decay restarts: ``decay_steps`` is multiplied by
    ``ceil(step / decay_steps)`` (1 at step 0).
    """

    initial_learning_rate: float
    decay_steps: float = attrs.field(validator=_positive_steps("decay_steps"))
    end_learning_rate: float = 0.0001
    power: float = 1.0
    cycle: bool = False
    name: str = "PolynomialDecay"

    def __call__(self, step):
        s = _f32(step)
        decay_steps = fnp.asarray(self.decay_steps, dtype=fnp.float32)
        if self.cycle:
            multiplier = fnp.where(s == 0, 1.0, fnp.ceil(s / float(self.decay_steps)))
            decay_steps = decay_steps * multiplier
        else:
            s = fnp.minimum(s, decay_steps)
        p = s / decay_steps
        return (self.initial_learning_rate - self.end_learning_rate) * fnp.power(1 - p, float(self.power)) \
            + self.end_learning_rate


@attrs.frozen
class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (the ratio floored with ``staircase``)."""

    initial_learning_rate: float
    decay_steps: float = attrs.field(validator=_positive_steps("decay_steps"))
    decay_rate: float
    staircase: bool = False
    name: str = "InverseTimeDecay"

    def __call__(self, step):
        p = _f32(step) / float(self.decay_steps)
        if self.staircase:
            p = fnp.floor(p)
        return self.initial_learning_rate / (1.0 + float(self.decay_rate) * p)


@attrs.frozen
class CosineDecay(LearningRateSchedule):
    """Optional linear warmup from ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps``, then a
    cosine decay over ``decay_steps`` down to ``alpha`` times the starting rate:
    ``start * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)``, ``s`` capped at ``decay_steps``.
    """

    initial_learning_rate: float
    decay_steps: float = attrs.field(validator=_positive_steps("decay_steps"))
    alpha: float = 0.0
    name: str = "CosineDecay"
    warmup_target: float | None = None
    warmup_steps: float = 0

    def _decay(self, s, start):
        fraction = s / float(self.decay_steps)
        cosine = 0.5 * (1.0 + fnp.cos(math.pi * fraction))
        return start * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        s = _f32(step)
        if self.warmup_target is None:
            return self._decay(fnp.minimum(s, float(self.decay_steps)), fnp.asarray(
                self.initial_learning_rate, dtype=fnp.float32))
        target = fnp.asarray(self.warmup_target, dtype=fnp.float32)
        warmup_steps = float(self.warmup_steps)
        s = fnp.minimum(s, float(self.decay_steps) + warmup_steps)
        decayed = self._decay(s - warmup_steps, target)
        if warmup_steps <= 0:
            return decayed
        warm = (target - self.initial_learning_rate) * (s / warmup_steps) + self.initial_learning_rate
        return fnp.where(s < warmup_steps, warm, decayed)


@attrs.frozen
class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): periods of ``first_decay_steps * t_mul**i`` steps, the i-th
    starting at ``initial_learning_rate * m_mul**i`` and decaying to ``alpha`` times it."""

    initial_learning_rate: float
    first_decay_steps: float = attrs.field(validator=_positive_steps("first_decay_steps"))
    t_mul: float = 2.0
    m_mul: float = 1.0
    alpha: float = 0.0
    name: str = "SGDRDecay"

    def __call__(self, step):
        fraction = _f32(step) / float(self.first_decay_steps)
        t_mul = float(self.t_mul)
        if t_mul == 1.0:
            i_restart = fnp.floor(fraction)
            fraction = fraction - i_restart
        else:
            i_restart = fnp.floor(fnp.log(1.0 - fraction * (1.0 - t_mul)) / math.log(t_mul))
            sum_r = (1.0 - fnp.power(fnp.asarray(t_mul, dtype=fnp.float32), i_restart)) / (1.0 - t_mul)
            fraction = (fraction - sum_r) / fnp.power(fnp.asarray(t_mul, dtype=fnp.float32), i_restart)
        m_fac = fnp.power(fnp.asarray(self.m_mul, dtype=fnp.float32), i_restart)
        cosine = 0.5 * m_fac * (1.0 + fnp.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)


def exponential_decay(initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
    """Keras's ``ExponentialDecay``: see :class:`ExponentialDecay`."""
    return ExponentialDecay(initial_learning_rate, decay_steps, decay_rate, staircase, name)


def piecewise_constant_decay(boundaries, values, name="PiecewiseConstant"):
    """Keras's ``PiecewiseConstantDecay``: see :class:`PiecewiseConstantDecay`."""
    return PiecewiseConstantDecay(boundaries, values, name)


def polynomial_decay(initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                     name="PolynomialDecay"):
    """Keras's ``PolynomialDecay``: see :class:`PolynomialDecay`."""
    return PolynomialDecay(initial_learning_rate, decay_steps, end_learning_rate, power, cycle, name)


def inverse_time_decay(initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
    """Keras's ``InverseTimeDecay``: see :class:`InverseTimeDecay`."""
    return InverseTimeDecay(initial_learning_rate, decay_steps, decay_rate, staircase, name)


def cosine_decay(initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
    """Keras's ``CosineDecay`` (with optional linear warmup): see :class:`CosineDecay`."""
    return CosineDecay(initial_learning_rate, decay_steps, alpha, name, warmup_target, warmup_steps)


def cosine_decay_restarts(initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                          name="SGDRDecay"):
    """Keras's ``CosineDecayRestarts``: see :class:`CosineDecayRestarts`."""
    return CosineDecayRestarts(initial_learning_rate, first_decay_steps, t_mul, m_mul, alpha, name)


__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
           "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts", "exponential_decay",
           "piecewise_constant_decay", "polynomial_decay", "inverse_time_decay", "cosine_decay",
           "cosine_decay_restarts"]
