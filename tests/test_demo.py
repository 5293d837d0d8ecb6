"""fnflow.demo trains a real convnet on the digits with a jitted value_and_grad step and Adam."""

import numpy as np

import fnflow
from fnflow import demo, optim
from fnflow import random as fr
from fnflow.testing import check_grads


def test_short_training_reaches_good_accuracy():
    lines = []
    model, test_acc = demo.train(epochs=3, log=lines.append)
    assert test_acc > 0.9
    assert len(lines) == 4 and lines[-1].startswith("test accuracy")
    losses = [float(line.split()[3]) for line in lines[:-1]]
    assert losses[0] > losses[-1]  # training made progress
    # Keras's weight shapes: conv kernels (kh, kw, in, out), dense kernel (in, out)
    assert [getattr(layer, "kernel", np.zeros(0)).shape for layer in model] == [
        (3, 3, 1, 16), (0,), (3, 3, 16, 32), (0,), (0,), (128, 10)]


def test_step_is_pure_compiled_once_and_lowers_the_loss():
    model = demo.init_model(fr.key(0))
    opt = optim.adam(1e-2)
    state = opt.init(model)
    step = demo.make_step(opt)
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(16, 8, 8, 1)).astype(np.float32)
    y = rng.integers(0, 10, size=16).astype(np.int32)
    before = np.array(model[0].kernel)
    m2, s2, loss = step(model, state, x, y)
    m3, s3, loss2 = step(m2, s2, x, y)
    np.testing.assert_array_equal(model[0].kernel, before)  # inputs untouched
    assert float(loss2) < float(loss) and step.trace_count == 1


def test_loss_gradient_matches_finite_differences():
    model = fnflow.tree.map(lambda p: np.asarray(p, np.float64), demo.init_model(fr.key(1)))
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(3, 8, 8, 1))
    y = np.array([1, 2, 3], np.int32)
    # a small step: max pooling and relu have kinks, which a larger step may cross
    check_grads(lambda m: demo.loss_fn(m, x, y), (model,), order=1, modes=("rev", "fwd"), eps=1e-7)


def test_main_prints_one_line_per_epoch(capsys):
    demo.main(["--epochs", "1"])
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith("fnflow") and out[1].startswith("epoch  1") and out[-1].startswith("test accuracy")
