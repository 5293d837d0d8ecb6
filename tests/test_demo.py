"""fnflow.demo trains a real classifier on the digits with value_and_grad and SGD."""

import numpy as np

import fnflow
from fnflow import demo


def test_short_training_reaches_good_accuracy():
    lines = []
    params, test_acc = demo.train(epochs=3, log=lines.append)
    assert test_acc > 0.9
    assert len(lines) == 4 and lines[-1].startswith("test accuracy")
    losses = [float(line.split()[3]) for line in lines[:-1]]
    assert losses[0] > losses[-1]  # training made progress
    assert {k: v.shape for k, v in params.items()} == {"w1": (64, 128), "b1": (128,), "w2": (128, 10), "b2": (10,)}


def test_sgd_step_is_pure_and_lowers_the_loss():
    params = demo.init_params(0)
    before = {k: np.array(v) for k, v in params.items()}
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(16, 64)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, size=16)]
    new, loss = demo.sgd_step(params, x, y, 0.1)
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])  # inputs untouched
    assert float(demo.loss_fn(new, x, y)) < float(loss)


def test_loss_gradient_matches_finite_difference():
    params = fnflow.tree.map(lambda p: np.asarray(p, np.float64), demo.init_params(1))
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(4, 64))
    y = np.eye(10)[[1, 2, 3, 4]]
    grads = fnflow.grad(demo.loss_fn)(params, x, y)
    eps = 1e-6
    for name, idx in [("w1", (3, 5)), ("b1", (7,)), ("w2", (11, 2)), ("b2", (4,))]:
        plus = {k: np.array(v) for k, v in params.items()}
        minus = {k: np.array(v) for k, v in params.items()}
        plus[name][idx] += eps
        minus[name][idx] -= eps
        fd = (float(demo.loss_fn(plus, x, y)) - float(demo.loss_fn(minus, x, y))) / (2 * eps)
        np.testing.assert_allclose(float(grads[name][idx]), fd, rtol=1e-5, atol=1e-8)


def test_main_prints_one_line_per_epoch(capsys):
    demo.main(["--epochs", "2"])
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith("fnflow")
    assert [line.split()[0] for line in out[1:]] == ["epoch", "epoch", "test"]
