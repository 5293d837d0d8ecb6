"""Each optimizer minimises a quadratic and (most of them) the 2-D Rosenbrock function, with a jitted step."""

import numpy as np
import pytest

import fnflow
import fnflow.numpy as fnp
import fnflow.optim as optim
from fnflow.optim import schedules

_rng = np.random.default_rng(0)
A = {"w": _rng.uniform(1, 10, (3, 2)).astype(np.float32), "b": _rng.uniform(1, 10, (2,)).astype(np.float32)}
C = {"w": _rng.normal(size=(3, 2)).astype(np.float32), "b": _rng.normal(size=(2,)).astype(np.float32)}


def quadratic(p):
    return fnp.sum(0.5 * A["w"] * (p["w"] - C["w"]) ** 2) + fnp.sum(0.5 * A["b"] * (p["b"] - C["b"]) ** 2)


def rosenbrock(p):
    x, y = p["xy"][0], p["xy"][1]
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def minimise(opt, f, params, steps):
    @fnflow.jit
    def step(params, state):
        grads = fnflow.grad(f)(params)
        updates, state = opt.update(grads, state, params)
        return optim.apply_updates(params, updates), state

    state = opt.init(params)
    for _ in range(steps):
        params, state = step(params, state)
    assert step.trace_count == 1
    assert int(state.count) == steps
    return params


QUADRATIC = [
    ("sgd", optim.sgd(0.1), 1e-4),
    ("sgd-momentum", optim.sgd(0.05, momentum=0.9), 1e-4),
    ("sgd-nesterov", optim.sgd(0.05, momentum=0.9, nesterov=True), 1e-4),
    ("adam", optim.adam(0.1), 1e-4),
    ("adam-amsgrad", optim.adam(0.1, amsgrad=True), 1e-3),
    ("adamw", optim.adamw(0.1), 1e-2),  # the decay pulls towards 0: a small bias
    ("rmsprop", optim.rmsprop(0.01), 1e-3),
    ("rmsprop-centered-momentum", optim.rmsprop(0.005, momentum=0.5, centered=True), 1e-2),
    ("adagrad", optim.adagrad(0.5), 1e-4),
    ("adadelta", optim.adadelta(1.0, epsilon=1e-4), 1e-4),
    ("adamax", optim.adamax(0.1), 1e-4),
    ("nadam", optim.nadam(0.1), 1e-4),
    ("lion", optim.lion(schedules.cosine_decay(0.05, 300, alpha=0.001)), 1e-3),
]


@pytest.mark.parametrize("name,opt,tol", QUADRATIC, ids=[c[0] for c in QUADRATIC])
def test_quadratic(name, opt, tol):
    params = minimise(opt, quadratic, {"w": np.zeros((3, 2), np.float32), "b": np.zeros(2, np.float32)}, 300)
    for k in params:
        np.testing.assert_allclose(params[k], C[k], atol=tol, err_msg=name)


ROSENBROCK = [
    ("sgd-momentum", optim.sgd(1e-3, momentum=0.9), 2000, 1e-2),
    ("sgd-nesterov", optim.sgd(1e-3, momentum=0.9, nesterov=True, global_clipnorm=10.0), 2000, 1e-2),
    ("adam", optim.adam(0.05), 2000, 1e-2),
    ("adamw", optim.adamw(0.05, weight_decay=1e-4), 2000, 2e-2),
    ("rmsprop-momentum", optim.rmsprop(0.002, momentum=0.9), 2000, 1e-2),
    ("nadam", optim.nadam(0.03), 2000, 2e-2),
    ("adamax", optim.adamax(0.1), 3000, 5e-2),
    ("lion", optim.lion(schedules.cosine_decay(0.01, 2000, alpha=0.01)), 2000, 2e-2),
]


@pytest.mark.parametrize("name,opt,steps,tol", ROSENBROCK, ids=[c[0] for c in ROSENBROCK])
def test_rosenbrock(name, opt, steps, tol):
    params = minimise(opt, rosenbrock, {"xy": np.array([-1.0, 1.5], np.float32)}, steps)
    np.testing.assert_allclose(params["xy"], [1.0, 1.0], atol=tol, err_msg=name)
