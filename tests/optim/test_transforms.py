"""Building blocks, hyper-parameters in the state, None gradients and weight-decay masks."""

import numpy as np
import pytest

import fnflow
import fnflow.numpy as fnp
import fnflow.optim as optim
from tests.optim.keras_reference import KerasReference


def _tree(dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return {"kernel": rng.normal(size=(2, 3)).astype(dtype), "bias": rng.normal(size=(3,)).astype(dtype)}


# ------------------------------------------------------------------ learning rate in the state


@pytest.mark.parametrize("name,kwargs", [("sgd", {"momentum": 0.9}), ("rmsprop", {"momentum": 0.5}),
                                         ("adam", {"weight_decay": 0.1}), ("nadam", {})])
def test_learning_rate_change_under_jit_does_not_retrace(name, kwargs):
    """Changing the rate between steps (a ReduceLROnPlateau) follows Keras's formulas and never retraces."""
    params = _tree()
    opt = getattr(optim, name)(learning_rate=0.1, **kwargs)
    state = opt.init(params)
    ref = KerasReference(name, [params["bias"], params["kernel"]], 0.1, **kwargs)

    @fnflow.jit
    def step(params, state, grads):
        updates, state = opt.update(grads, state, params)
        return optim.apply_updates(params, updates), state

    rates = [0.1, 0.1, 0.05, 0.05, 0.2, 0.01]
    for k, lr in enumerate(rates):
        state = optim.set_hyperparam(state, "learning_rate", lr)
        ref.lr = lr
        g = _tree(seed=10 + k)
        params, state = step(params, state, g)
        ref.apply([g["bias"], g["kernel"]])
        np.testing.assert_allclose(params["bias"], ref.vars[0], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(params["kernel"], ref.vars[1], rtol=1e-6, atol=1e-7)
        assert float(optim.get_hyperparam(state, "learning_rate")) == np.float32(lr)
    assert step.trace_count == 1


def test_set_hyperparam_keeps_dtype_and_is_pure():
    state = optim.adam().init(_tree())
    new = optim.set_hyperparam(state, "learning_rate", 0.5)
    assert float(optim.get_hyperparam(state, "learning_rate")) == np.float32(0.001)
    lr = optim.get_hyperparam(new, "learning_rate")
    assert lr.dtype == np.float32 and lr.shape == () and float(lr) == 0.5
    assert fnflow.tree.structure(new) == fnflow.tree.structure(state)
    with pytest.raises(KeyError, match="momentum"):
        optim.get_hyperparam(state, "momentum")
    with pytest.raises(KeyError, match="learning_rate"):
        optim.set_hyperparam(state, "momentum", 0.1)
    with pytest.raises(ValueError, match="shape"):
        optim.set_hyperparam(state, "learning_rate", np.ones(2))


def test_hyperparams_found_in_nested_and_chained_states():
    inner = optim.masked(optim.sgd(0.1), {"kernel": True, "bias": False})
    opt = optim.chain(optim.clip(1.0), inner, optim.identity())
    state = opt.init(_tree())
    assert optim.hyperparam_names(state) == ["learning_rate"]
    state = optim.set_hyperparam(state, "learning_rate", 0.25)
    assert float(optim.get_hyperparam(state, "learning_rate")) == 0.25
    g = {"kernel": np.ones((2, 3), np.float32), "bias": np.ones(3, np.float32)}
    updates, state = opt.update(g, state, _tree())
    np.testing.assert_allclose(updates["kernel"], -0.25)
    np.testing.assert_allclose(updates["bias"], 1.0)  # unselected: passed through (clipped to 1)
    assert int(state[1].inner_state.count) == 1


def test_inject_hyperparams_with_several_names():
    def factory(learning_rate, momentum):
        return optim.chain(optim.scale_by_learning_rate(learning_rate), optim.trace(momentum))

    opt = optim.inject_hyperparams(factory, names=("learning_rate", "momentum"))(learning_rate=1.0, momentum=0.5)
    params = {"w": np.zeros(2, np.float32)}
    state = opt.init(params)
    g = {"w": np.ones(2, np.float32)}
    u, state = opt.update(g, state, params)
    np.testing.assert_allclose(u["w"], -1.0)
    state = optim.set_hyperparam(state, "momentum", 0.0)
    u, state = opt.update(g, state, params)
    np.testing.assert_allclose(u["w"], -1.0)  # momentum zero: the buffer is forgotten
    assert sorted(optim.hyperparam_names(state)) == ["learning_rate", "momentum"]


def test_state_is_a_pytree_of_arrays():
    for name in ["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "lion"]:
        state = getattr(optim, name)(**({"momentum": 0.9} if name == "sgd" else {})).init(_tree())
        leaves = fnflow.tree.leaves(state)
        assert leaves and all(isinstance(x, np.ndarray) for x in leaves), name
        doubled = fnflow.tree.map(lambda x: x, state)
        assert fnflow.tree.structure(doubled) == fnflow.tree.structure(state)


# ------------------------------------------------------------------ None gradients, integer leaves


def test_integer_leaves_get_none_gradients_and_stay():
    params = {"w": np.array([1.0, -2.0], np.float32), "step": np.int32(3)}

    def loss(p):
        return fnp.sum(p["w"] ** 2) * p["step"].astype(np.float32)

    opt = optim.adam(0.1, weight_decay=0.1)
    state = opt.init(params)
    assert state.inner_state[0].momentum["step"] is None  # no slot for an integer leaf
    for _ in range(3):
        g = fnflow.grad(loss)(params)
        assert g["step"] is None
        updates, state = opt.update(g, state, params)
        params = optim.apply_updates(params, updates)
    assert params["step"] == 3 and params["step"].dtype == np.int32
    assert np.all(np.abs(params["w"]) < [1.0, 2.0])


def test_none_gradient_for_a_float_leaf_skips_it_like_keras():
    """Keras drops variables without a gradient: no update, no weight decay, slots unchanged."""
    params = _tree()
    for name, kwargs in [("adam", {"weight_decay": 0.1}), ("sgd", {"momentum": 0.9, "weight_decay": 0.1}),
                         ("rmsprop", {"centered": True}), ("nadam", {}), ("adadelta", {}), ("lion", {})]:
        opt = getattr(optim, name)(learning_rate=0.1, **kwargs)
        state = opt.init(params)
        ref = KerasReference(name, [params["bias"], params["kernel"]], 0.1, **kwargs)
        p = params
        for k in range(4):
            g = _tree(seed=20 + k)
            if k in (1, 2):
                g["bias"] = None
            updates, state = opt.update(g, state, p)
            p = optim.apply_updates(p, updates)
            ref.apply([g["bias"], g["kernel"]])
            np.testing.assert_allclose(p["bias"], ref.vars[0], rtol=1e-6, atol=1e-7, err_msg=name)
            np.testing.assert_allclose(p["kernel"], ref.vars[1], rtol=1e-6, atol=1e-7, err_msg=name)


def test_apply_updates():
    params = {"a": np.ones(2, np.float32), "b": np.int32(1), "c": None, "d": np.ones(2, np.float64)}
    updates = {"a": np.full(2, 0.5, np.float32), "b": None, "c": None, "d": np.full(2, 0.5, np.float32)}
    out = optim.apply_updates(params, updates)
    np.testing.assert_allclose(out["a"], 1.5)
    assert out["b"] == 1 and out["c"] is None
    assert out["d"].dtype == np.float64 and out["a"].dtype == np.float32


# ------------------------------------------------------------------ weight decay masks


@pytest.mark.parametrize("mask", [{"kernel": True, "bias": False}, lambda p: {"kernel": True, "bias": False}])
def test_weight_decay_mask(mask):
    params = _tree()
    opt = optim.adamw(0.1, weight_decay=0.2, weight_decay_mask=mask)
    state = opt.init(params)
    ref = KerasReference("adamw", [params["bias"], params["kernel"]], 0.1, weight_decay=0.2,
                         decay_mask=[False, True])
    for k in range(3):
        g = _tree(seed=30 + k)
        updates, state = opt.update(g, state, params)
        params = optim.apply_updates(params, updates)
        ref.apply([g["bias"], g["kernel"]])
    np.testing.assert_allclose(params["bias"], ref.vars[0], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(params["kernel"], ref.vars[1], rtol=1e-6, atol=1e-7)


def test_weight_decay_mask_as_prefix_of_nested_params():
    params = {"dense": _tree(), "norm": {"gamma": np.ones(3, np.float32)}}
    grads = fnflow.tree.map(np.zeros_like, params)
    opt = optim.sgd(1.0, weight_decay=0.5, weight_decay_mask={"dense": True, "norm": False})
    updates, _ = opt.update(grads, opt.init(params), params)
    np.testing.assert_allclose(updates["dense"]["kernel"], -0.5 * params["dense"]["kernel"], rtol=1e-6)
    np.testing.assert_allclose(updates["norm"]["gamma"], 0.0)


def test_add_decayed_weights_and_scale():
    params = {"w": np.array([2.0, -4.0], np.float32)}
    g = {"w": np.array([1.0, 1.0], np.float32)}
    opt = optim.chain(optim.add_decayed_weights(0.5, mask={"w": True}), optim.scale(-0.1))
    u, _ = opt.update(g, opt.init(params), params)
    np.testing.assert_allclose(u["w"], [-0.2, 0.1], rtol=1e-6)
    with pytest.raises(ValueError, match="parameters"):
        optim.add_decayed_weights(0.1).update(g, optim.EmptyState())


# ------------------------------------------------------------------ clipping


@pytest.mark.filterwarnings("ignore:invalid value")
def test_clipping_blocks():
    g = {"a": np.array([3.0, 4.0], np.float32), "b": np.array([0.0, 0.0], np.float32), "c": None}
    u, _ = optim.clip_by_norm(1.0).update(g, optim.EmptyState())
    np.testing.assert_allclose(u["a"], [0.6, 0.8], rtol=1e-6)
    np.testing.assert_allclose(u["b"], 0.0)  # a zero gradient stays zero, no NaN
    assert u["c"] is None
    u, _ = optim.clip_by_global_norm(2.5).update(g, optim.EmptyState())
    np.testing.assert_allclose(u["a"], [1.5, 2.0], rtol=1e-6)
    u, _ = optim.clip_by_global_norm(10.0).update(g, optim.EmptyState())
    np.testing.assert_allclose(u["a"], [3.0, 4.0], rtol=1e-6)
    u, _ = optim.clip(3.5).update(g, optim.EmptyState())
    np.testing.assert_allclose(u["a"], [3.0, 3.5])
    bad = {"a": np.array([np.inf, 1.0], np.float32), "b": np.ones(2, np.float32)}
    u, _ = optim.clip_by_global_norm(1.0).update(bad, optim.EmptyState())
    assert np.all(np.isnan(u["b"]))  # as Keras: a non-finite global norm poisons every gradient
    np.testing.assert_allclose(optim.global_norm(g), 5.0)


def test_clip_by_norm_is_differentiable_at_zero():
    def f(x):
        u, _ = optim.clip_by_norm(1.0).update({"x": x}, optim.EmptyState())
        return fnp.sum(u["x"])

    g = fnflow.grad(f)(np.zeros(3))
    assert np.all(np.isfinite(g))


def test_schedule_in_scale_by_learning_rate():
    opt = optim.scale_by_learning_rate(lambda step: 1.0 / (step + 1.0))
    g = {"w": np.ones(1, np.float32)}
    state = opt.init(g)
    out = []
    for _ in range(3):
        u, state = opt.update(g, state)
        out.append(float(u["w"][0]))
    np.testing.assert_allclose(out, [-1.0, -0.5, -1 / 3], rtol=1e-6)


def test_state_round_trips_through_a_checkpoint(tmp_path):
    checkpoint = pytest.importorskip("fnflow.checkpoint")
    params = {"w": _tree(), "n": np.int32(2)}
    opt = optim.adam(0.01, amsgrad=True, weight_decay=0.1)
    state = opt.init(params)
    g = {"w": _tree(seed=5), "n": None}
    _, state = opt.update(g, state, params)
    state = optim.set_hyperparam(state, "learning_rate", 0.003)
    checkpoint.save(tmp_path / "opt.npz", state)
    loaded = checkpoint.load(tmp_path / "opt.npz", like=opt.init(params))
    assert fnflow.tree.structure(loaded) == fnflow.tree.structure(state)
    for a, b in zip(fnflow.tree.leaves(loaded), fnflow.tree.leaves(state)):
        np.testing.assert_array_equal(a, b)
    u1, _ = opt.update(g, loaded, params)
    u2, _ = opt.update(g, state, params)
    np.testing.assert_array_equal(u1["w"]["kernel"], u2["w"]["kernel"])
