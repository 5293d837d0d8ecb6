"""Learning-rate schedules against hand-computed values, eagerly, under jit, and inside an optimizer."""

import math

import numpy as np
import pytest

import fnflow
import fnflow.optim as optim
from fnflow.optim import schedules
from tests.optim import keras_reference as ref

STEPS = [0, 1, 5, 10, 11, 37, 100, 250]

CASES = [
    (schedules.exponential_decay(0.1, 10, 0.5), lambda s: ref.exponential(s, 0.1, 10, 0.5)),
    (schedules.exponential_decay(0.1, 10, 0.5, staircase=True), lambda s: ref.exponential(s, 0.1, 10, 0.5, True)),
    (schedules.inverse_time_decay(0.2, 5, 0.5), lambda s: 0.2 / (1 + 0.5 * s / 5)),
    (schedules.inverse_time_decay(0.2, 5, 0.5, staircase=True), lambda s: 0.2 / (1 + 0.5 * (s // 5))),
    (schedules.polynomial_decay(0.1, 100), lambda s: (0.1 - 1e-4) * (1 - min(s, 100) / 100) + 1e-4),
    (schedules.polynomial_decay(0.1, 100, end_learning_rate=0.01, power=0.5),
     lambda s: (0.1 - 0.01) * (1 - min(s, 100) / 100) ** 0.5 + 0.01),
    (schedules.polynomial_decay(0.1, 30, end_learning_rate=0.0, power=2.0, cycle=True),
     lambda s: 0.1 * (1 - s / (30 * max(1, math.ceil(s / 30)))) ** 2),
    (schedules.cosine_decay(0.1, 100), lambda s: ref.cosine(s, 0.1, 100)),
    (schedules.cosine_decay(0.1, 100, alpha=0.1), lambda s: ref.cosine(s, 0.1, 100, alpha=0.1)),
    (schedules.cosine_decay(0.0, 100, warmup_target=0.1, warmup_steps=10),
     lambda s: ref.cosine(s, 0.0, 100, warmup_target=0.1, warmup_steps=10)),
    (schedules.cosine_decay(0.01, 50, alpha=0.2, warmup_target=0.1, warmup_steps=20),
     lambda s: ref.cosine(s, 0.01, 50, alpha=0.2, warmup_target=0.1, warmup_steps=20)),
    (schedules.piecewise_constant_decay([10, 100], [1.0, 0.5, 0.1]),
     lambda s: 1.0 if s <= 10 else 0.5 if s <= 100 else 0.1),
    (schedules.cosine_decay_restarts(0.1, 10, t_mul=1.0),
     lambda s: 0.1 * 0.5 * (1 + math.cos(math.pi * (s % 10) / 10))),
]


def _sgdr(s, lr0=0.1, first=10, t_mul=2.0, m_mul=0.5, alpha=0.0):
    """Cosine decay with restarts by walking the periods."""
    start, length, i = 0, first, 0
    while s >= start + length:
        start, length, i = start + length, length * t_mul, i + 1
    frac = (s - start) / length
    return lr0 * ((1 - alpha) * 0.5 * m_mul ** i * (1 + math.cos(math.pi * frac)) + alpha)


CASES.append((schedules.cosine_decay_restarts(0.1, 10, t_mul=2.0, m_mul=0.5), _sgdr))


@pytest.mark.parametrize("schedule,expected", CASES, ids=[type(c[0]).__name__ + str(i) for i, c in enumerate(CASES)])
def test_schedule_values(schedule, expected):
    jitted = fnflow.jit(schedule.__call__)
    for s in STEPS:
        want = expected(s)
        got = schedule(np.int32(s))
        assert got.dtype == np.float32
        np.testing.assert_allclose(float(got), want, rtol=2e-6, atol=1e-8, err_msg=f"step {s}")
        np.testing.assert_allclose(float(jitted(np.int32(s))), want, rtol=2e-6, atol=1e-8, err_msg=f"jit step {s}")
    assert jitted.trace_count == 1


def test_config_round_trip():
    for schedule, _ in CASES:
        config = schedule.get_config()
        assert type(schedule).from_config(config) == schedule
    assert schedules.cosine_decay(0.1, 100).get_config() == {
        "initial_learning_rate": 0.1, "decay_steps": 100, "alpha": 0.0, "name": "CosineDecay",
        "warmup_target": None, "warmup_steps": 0}
    assert schedules.piecewise_constant_decay([1, 2], [3.0, 2.0, 1.0]).get_config()["boundaries"] == [1, 2]


def test_argument_checks():
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.exponential_decay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="length of boundaries"):
        schedules.piecewise_constant_decay([1, 2], [1.0, 0.5])


def test_schedule_inside_optimizer_uses_count_before_the_update():
    sched = schedules.exponential_decay(0.1, 2, 0.5)
    opt = optim.sgd(learning_rate=sched)
    params = {"w": np.zeros(3, np.float32)}
    grads = {"w": np.ones(3, np.float32)}
    state = opt.init(params)
    assert float(optim.get_hyperparam(state, "learning_rate")) == pytest.approx(0.1)

    @fnflow.jit
    def step(params, state):
        updates, state = opt.update(grads, state, params)
        return optim.apply_updates(params, updates), state

    total = 0.0
    for k in range(6):
        params, state = step(params, state)
        total += float(np.float32(0.1 * 0.5 ** (k / 2)))
        np.testing.assert_allclose(params["w"], -total, rtol=1e-6)
        # the state reports the rate of the next step, as Keras's optimizer.learning_rate
        np.testing.assert_allclose(optim.get_hyperparam(state, "learning_rate"), 0.1 * 0.5 ** ((k + 1) / 2),
                                   rtol=1e-6)
    assert step.trace_count == 1
    with pytest.raises(TypeError, match="schedule"):
        optim.set_hyperparam(state, "learning_rate", 0.5)


def test_plain_callable_as_learning_rate():
    opt = optim.adam(learning_rate=lambda step: 0.01 / (1.0 + step))
    params = {"w": np.ones(2, np.float32)}
    state = opt.init(params)
    u, state = opt.update({"w": np.ones(2, np.float32)}, state, params)
    # the first Adam step is lr * sign(g) (up to epsilon)
    np.testing.assert_allclose(u["w"], -0.01, rtol=1e-5)
    u, state = opt.update({"w": np.ones(2, np.float32)}, state, params)
    np.testing.assert_allclose(u["w"], -0.005, rtol=5e-5)
