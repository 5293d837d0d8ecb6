"""Every optimizer, step by step, against a NumPy transcription of Keras 3's update formulas."""

import numpy as np
import pytest

import fnflow
import fnflow.optim as optim
from tests.optim.keras_reference import KerasReference

# (optimizer, constructor kwargs); the reference takes the same names
CASES = [
    ("sgd", {}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.5, "weight_decay": 0.01}),
    ("sgd", {"learning_rate": 0.1, "clipvalue": 0.3}),
    ("adam", {}),
    ("adam", {"learning_rate": 0.01, "amsgrad": True}),
    ("adam", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3}),
    ("adam", {"learning_rate": 0.01, "weight_decay": 0.05}),
    ("adam", {"learning_rate": 0.01, "clipnorm": 0.5}),
    ("adam", {"learning_rate": 0.01, "global_clipnorm": 0.8}),
    ("adam", {"learning_rate": 0.01, "clipvalue": 0.2}),
    ("adamw", {}),
    ("adamw", {"learning_rate": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    ("rmsprop", {}),
    ("rmsprop", {"learning_rate": 0.01, "centered": True}),
    ("rmsprop", {"learning_rate": 0.01, "momentum": 0.9}),
    ("rmsprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True, "rho": 0.8, "weight_decay": 0.02}),
    ("adagrad", {}),
    ("adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.5, "epsilon": 1e-4}),
    ("adagrad", {"learning_rate": 0.1, "global_clipnorm": 0.5}),
    ("adadelta", {}),
    ("adadelta", {"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-6}),
    ("adamax", {}),
    ("adamax", {"learning_rate": 0.02, "beta_1": 0.8, "weight_decay": 0.1, "clipnorm": 1.0}),
    ("nadam", {}),
    ("nadam", {"learning_rate": 0.01, "beta_1": 0.8, "beta_2": 0.99, "weight_decay": 0.03}),
    ("lion", {}),
    ("lion", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9, "weight_decay": 0.1}),
]

DEFAULT_LR = {"sgd": 0.01}
TOL = {np.float32: dict(rtol=1e-6, atol=1e-7), np.float64: dict(rtol=1e-12, atol=1e-14)}


def _params(dtype):
    rng = np.random.default_rng(0)
    return {"dense": {"kernel": rng.normal(size=(3, 4)).astype(dtype), "bias": rng.normal(size=(4,)).astype(dtype)},
            "scale": np.asarray(rng.normal(), dtype), "steps": np.int32(7)}


def _grads(dtype, n=5):
    rng = np.random.default_rng(1)
    out = []
    for k in range(n):
        f = 2.0 if k % 2 else 0.3  # alternate magnitudes so amsgrad's maximum and the clipping both matter
        out.append({"dense": {"kernel": (f * rng.normal(size=(3, 4))).astype(dtype),
                              "bias": (f * rng.normal(size=(4,))).astype(dtype)},
                    "scale": np.asarray(f * rng.normal(), dtype), "steps": None})
    return out


def _flat(tree):
    return [tree["dense"]["bias"], tree["dense"]["kernel"], tree["scale"]]


def _reference(name, kwargs, params):
    kw = dict(kwargs)
    lr = kw.pop("learning_rate", DEFAULT_LR.get(name, 0.001))
    if name == "adamw":
        kw.setdefault("weight_decay", 0.004)
    return KerasReference(name, _flat(params), lr, **kw)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_matches_keras_step_by_step(name, kwargs, dtype):
    params = _params(dtype)
    opt = getattr(optim, name)(**kwargs)
    state = opt.init(params)
    ref = _reference(name, kwargs, params)
    for k, g in enumerate(_grads(dtype)):
        updates, state = opt.update(g, state, params)
        assert updates["steps"] is None
        params = optim.apply_updates(params, updates)
        ref.apply(_flat(g))
        for got, want in zip(_flat(params), ref.vars):
            assert got.dtype == dtype
            np.testing.assert_allclose(got, want, **TOL[dtype], err_msg=f"{name} {kwargs} step {k + 1}")
        assert params["steps"] == 7 and params["steps"].dtype == np.int32
        assert int(state.count) == k + 1 == ref.iterations


@pytest.mark.parametrize("name,kwargs", [CASES[2], CASES[6], CASES[17], CASES[26]], ids=lambda x: str(x))
def test_jitted_update_matches_eager(name, kwargs):
    params = _params(np.float32)
    opt = getattr(optim, name)(**kwargs)

    @fnflow.jit
    def step(params, state, grads):
        updates, state = opt.update(grads, state, params)
        return optim.apply_updates(params, updates), state

    p_eager, s_eager = params, opt.init(params)
    p_jit, s_jit = params, opt.init(params)
    for g in _grads(np.float32):
        u, s_eager = opt.update(g, s_eager, p_eager)
        p_eager = optim.apply_updates(p_eager, u)
        p_jit, s_jit = step(p_jit, s_jit, g)
    assert step.trace_count == 1
    for a, b in zip(fnflow.tree.leaves(p_jit), fnflow.tree.leaves(p_eager)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    for a, b in zip(fnflow.tree.leaves(s_jit), fnflow.tree.leaves(s_eager)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_keras_defaults():
    defaults = {
        "sgd": dict(learning_rate=0.01, momentum=0.0, nesterov=False),
        "adam": dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False),
        "adamw": dict(learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                      amsgrad=False),
        "rmsprop": dict(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False),
        "adagrad": dict(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7),
        "adadelta": dict(learning_rate=0.001, rho=0.95, epsilon=1e-7),
        "adamax": dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
        "nadam": dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
        "lion": dict(learning_rate=0.001, beta_1=0.9, beta_2=0.99),
    }
    import inspect

    for name, want in defaults.items():
        sig = inspect.signature(getattr(optim, name))
        got = {k: sig.parameters[k].default for k in want}
        assert got == want, name
        for common in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm"):
            assert common in sig.parameters, (name, common)
        if name != "adamw":
            assert sig.parameters["weight_decay"].default is None
        state = getattr(optim, name)().init({"w": np.zeros(2, np.float32)})
        lr = optim.get_hyperparam(state, "learning_rate")
        assert lr.dtype == np.float32 and float(lr) == np.float32(want["learning_rate"])
        assert state.count.dtype == np.int32 and int(state.count) == 0


def test_keras_argument_checks():
    with pytest.raises(ValueError, match="Only one of"):
        optim.adam(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="momentum"):
        optim.sgd(momentum=1.5)
    with pytest.raises(ValueError, match="weight_decay"):
        optim.adamw(weight_decay=None)
    with pytest.raises(ValueError, match="beta_1"):
        optim.lion(beta_1=0.0)
    with pytest.raises(TypeError, match="learning_rate"):
        optim.adam(learning_rate="fast")
