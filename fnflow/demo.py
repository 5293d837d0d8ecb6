"""Train a small convnet on the shipped handwritten digits: ``python -m fnflow.demo``.

The model is an ``fnflow.nn.Sequential`` of Conv2D / MaxPool2D / Dense layers
(an immutable pytree); one training step is ``fnflow.jit(value_and_grad(loss))``
followed by an ``fnflow.optim.adam`` update, compiled once by fnflow's numba
CPU backend. Data comes in shuffled mini-batches from ``fnflow.data.batches``
with an explicit random key, so a run is reproducible.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import fnflow
import fnflow.numpy as fnp
from fnflow import nn, optim
from fnflow import random as fr
from fnflow.data import batches
from fnflow.datasets import load_digits

N_CLASSES = 10


def init_model(key):
    """8x8x1 -> Conv 16 3x3 relu -> MaxPool 2 -> Conv 32 3x3 relu -> MaxPool 2 -> Flatten -> Dense 10."""
    k1, k2, k3 = fr.split(key, 3)
    return nn.Sequential([
        nn.Conv2D.init(k1, 1, 16, 3, padding="same", activation="relu"),
        nn.MaxPool2D(2),
        nn.Conv2D.init(k2, 16, 32, 3, padding="same", activation="relu"),
        nn.MaxPool2D(2),
        nn.Flatten(),
        nn.Dense.init(k3, 2 * 2 * 32, N_CLASSES),
    ])


def loss_fn(model, x, y):
    """Mean softmax cross-entropy of integer labels ``y``."""
    logits = model(x)
    return -fnp.mean(fnp.take_along_axis(nn.log_softmax(logits), y[:, None], axis=1))


def make_step(optimizer):
    """The jitted training step: ``(model, opt_state, x, y) -> (model, opt_state, loss)``."""

    @fnflow.jit
    def step(model, opt_state, x, y):
        loss, grads = fnflow.value_and_grad(loss_fn)(model, x, y)
        updates, opt_state = optimizer.update(grads, opt_state, model)
        return optim.apply_updates(model, updates), opt_state, loss

    return step


@fnflow.jit
def predict_labels(model, x):
    return fnp.argmax(model(x), axis=1)


def accuracy(model, x, y) -> float:
    """Fraction of images whose predicted class equals the label."""
    return float(np.mean(np.asarray(predict_labels(model, x)) == y))


def train(epochs: int = 12, batch_size: int = 32, learning_rate: float = 3e-3, seed: int = 0, log=print):
    """Train on the digits' training split; return ``(model, test_accuracy)``.

    ``log`` receives one line per epoch and a final line with the test
    accuracy; pass ``log=None`` to stay quiet.
    """
    log = log or (lambda *_: None)
    (x_train, y_train), (x_test, y_test) = load_digits(return_split=True, seed=seed)
    x_train, x_test = x_train[..., None], x_test[..., None]  # channels-last images (N, 8, 8, 1)
    key = fr.key(seed)
    model_key, data_key = fr.split(key)
    model = init_model(model_key)
    optimizer = optim.adam(learning_rate)
    opt_state = optimizer.init(model)
    step = make_step(optimizer)
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        losses = []
        for xb, yb in batches((x_train, y_train), batch_size, key=data_key, epoch=epoch, drop_last=True):
            model, opt_state, loss = step(model, opt_state, xb, yb)
            losses.append(float(loss))
        log(f"epoch {epoch:2d}  loss {np.mean(losses):.4f}  train acc {accuracy(model, x_train, y_train):.4f}"
            f"  ({time.perf_counter() - start:.2f}s)")
    test_acc = accuracy(model, x_test, y_test)
    log(f"test accuracy {test_acc:.4f} on {len(x_test)} held-out digits")
    return model, test_acc


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m fnflow.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"fnflow {fnflow.__version__}: a convnet on the UCI handwritten digits (8x8), Adam lr={args.lr}, "
          f"batch {args.batch_size}, jit-compiled train step")
    train(args.epochs, args.batch_size, args.lr, args.seed)


if __name__ == "__main__":
    main()
