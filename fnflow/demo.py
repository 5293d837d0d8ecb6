"""Train a small classifier on the shipped handwritten digits: ``python -m fnflow.demo``.

A 64-128-10 MLP (tanh hidden layer, softmax cross-entropy) trained with
mini-batch SGD. The gradient comes from ``fnflow.value_and_grad``; the update
rule is written out right here on the parameter pytree, so the whole training
loop is visible. (When ``fnflow.jit``, ``fnflow.nn`` and ``fnflow.optim`` land,
this demo becomes a jitted convnet; only ``init_params``, ``predict`` and
``sgd_step`` need to change.)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import fnflow
import fnflow.numpy as fnp
from fnflow.datasets import load_digits

N_IN, N_HIDDEN, N_OUT = 64, 128, 10


def init_params(seed: int = 0) -> dict:
    """Glorot-uniform weights and zero biases, as a dict pytree of float32 arrays."""
    rng = np.random.default_rng(seed)

    def glorot(n_in, n_out):
        limit = np.sqrt(6.0 / (n_in + n_out))
        return rng.uniform(-limit, limit, size=(n_in, n_out)).astype(np.float32)

    return {
        "w1": glorot(N_IN, N_HIDDEN), "b1": np.zeros(N_HIDDEN, np.float32),
        "w2": glorot(N_HIDDEN, N_OUT), "b2": np.zeros(N_OUT, np.float32),
    }


def predict(params: dict, x):
    """Logits ``(batch, 10)`` for flattened images ``x`` of shape ``(batch, 64)``."""
    h = fnp.tanh(x @ params["w1"] + params["b1"])
    return h @ params["w2"] + params["b2"]


def loss_fn(params: dict, x, y_onehot):
    """Mean softmax cross-entropy: ``logsumexp(logits) - logit of the true class``."""
    logits = predict(params, x)
    log_probs = logits - fnp.logsumexp(logits, axis=1, keepdims=True)
    return -fnp.mean(fnp.sum(log_probs * y_onehot, axis=1))


loss_and_grad = fnflow.value_and_grad(loss_fn)


def sgd_step(params: dict, x, y_onehot, learning_rate: float):
    """One SGD step: returns ``(new_params, loss)``; ``params`` is left untouched."""
    loss, grads = loss_and_grad(params, x, y_onehot)
    new_params = fnflow.tree.map(lambda p, g: p - learning_rate * g, params, grads)
    return new_params, loss


def accuracy(params: dict, x, y) -> float:
    """Fraction of rows of ``x`` whose arg-max logit equals the label ``y``."""
    return float(np.mean(np.asarray(fnp.argmax(predict(params, x), axis=1)) == y))


def train(epochs: int = 15, batch_size: int = 32, learning_rate: float = 0.3, seed: int = 0, log=print):
    """Train on the digits' training split and return ``(params, test_accuracy)``.

    ``log`` receives one line per epoch (mean loss, train accuracy) and a final
    line with the test accuracy; pass ``log=None`` to stay quiet.
    """
    log = log or (lambda *_: None)
    (x_train, y_train), (x_test, y_test) = load_digits(return_split=True, seed=seed)
    x_train = x_train.reshape(len(x_train), -1)
    x_test = x_test.reshape(len(x_test), -1)
    onehot = np.eye(N_OUT, dtype=np.float32)[y_train]

    params = init_params(seed)
    rng = np.random.default_rng(seed + 1)
    n = len(x_train)
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(n)
        losses = []
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            params, loss = sgd_step(params, x_train[idx], onehot[idx], learning_rate)
            losses.append(float(loss))
        log(f"epoch {epoch:2d}  loss {np.mean(losses):.4f}  train acc {accuracy(params, x_train, y_train):.4f}"
            f"  ({time.perf_counter() - start:.2f}s)")
    test_acc = accuracy(params, x_test, y_test)
    log(f"test accuracy {test_acc:.4f} on {len(x_test)} held-out digits")
    return params, test_acc


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m fnflow.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"fnflow {fnflow.__version__}: MLP {N_IN}-{N_HIDDEN}-{N_OUT} on the UCI handwritten digits, "
          f"SGD lr={args.lr}, batch {args.batch_size}")
    train(args.epochs, args.batch_size, args.lr, args.seed)


if __name__ == "__main__":
    main()
