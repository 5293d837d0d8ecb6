"""W2: the classic Keras MNIST convnet train step, float32, batch 128.

28x28x1 -> Conv 32 3x3 relu -> MaxPool 2 -> Conv 64 3x3 relu -> MaxPool 2 ->
Flatten -> Dense 10; softmax cross-entropy on integer labels, Adam (lr 1e-3).
Rows, interleaved in this process: fnflow (``jit`` of a step over
``fnflow.nn.functional.conv2d`` / ``max_pool2d``), JAX (``jax.lax.conv`` /
``reduce_window``), PyTorch eager, TensorFlow where installed; then Keras 3
``train_on_batch`` per installed backend (child processes).

Run: ``python benchmarks/bench_convnet.py [--json rows.jsonl]``.
"""

from __future__ import annotations

import numpy as np
from _common import compare, finish, header, keras_rows, optional, print_machine, row, single_thread_blas

BATCH, LR = 128, 1e-3


def data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((BATCH, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, BATCH).astype(np.int32)


def init_weights(seed=0):
    rng = np.random.default_rng(seed)

    def glorot(shape, fan_in, fan_out):
        lim = np.sqrt(6 / (fan_in + fan_out))
        return rng.uniform(-lim, lim, shape).astype(np.float32)

    return [glorot((3, 3, 1, 32), 9, 9 * 32), np.zeros(32, np.float32),
            glorot((3, 3, 32, 64), 9 * 32, 9 * 64), np.zeros(64, np.float32),
            glorot((1600, 10), 1600, 10), np.zeros(10, np.float32)]


def fnflow_setup():
    import fnflow
    import fnflow.numpy as fnp
    from fnflow import optim
    from fnflow.nn import functional as F

    def forward(p, x):
        x = F.max_pool2d(fnp.maximum(F.conv2d(x, p[0], p[1]), 0), 2)
        x = F.max_pool2d(fnp.maximum(F.conv2d(x, p[2], p[3]), 0), 2)
        return fnp.reshape(x, (x.shape[0], -1)) @ p[4] + p[5]

    def loss(p, x, y):
        return fnp.mean(fnflow.losses.sparse_categorical_crossentropy(y, forward(p, x), from_logits=True))

    opt = optim.adam(LR)

    @fnflow.jit
    def step(p, s, x, y):
        v, g = fnflow.value_and_grad(loss)(p, x, y)
        u, s = opt.update(g, s, p)
        return optim.apply_updates(p, u), s, v

    p = init_weights()
    return p, opt.init(p), step


def jax_setup(jax):
    import jax.numpy as jnp

    def conv(x, w, b):
        y = jax.lax.conv_general_dilated(x, w, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return jax.nn.relu(y + b)

    def pool(x):
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    def loss(p, x, y):
        x = pool(conv(x, p[0], p[1]))
        x = pool(conv(x, p[2], p[3]))
        logits = x.reshape(x.shape[0], -1) @ p[4] + p[5]
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))

    @jax.jit
    def step(p, s, x, y):
        v, g = jax.value_and_grad(loss)(p, x, y)
        t, m, vv = s
        t = t + 1
        m = [a + (b - a) * 0.1 for a, b in zip(m, g)]
        vv = [a + (b * b - a) * 0.001 for a, b in zip(vv, g)]
        c = LR * jnp.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        p = [a - c * b / (jnp.sqrt(d) + 1e-7) for a, b, d in zip(p, m, vv)]
        return p, (t, m, vv), v

    p = [jnp.asarray(a) for a in init_weights()]
    z = [jnp.zeros_like(a) for a in p]
    return p, (jnp.zeros((), jnp.float32), z, z), step


def torch_setup(torch):
    nn = torch.nn
    w = init_weights()
    c1, c2, d = nn.Conv2d(1, 32, 3), nn.Conv2d(32, 64, 3), nn.Linear(1600, 10)
    with torch.no_grad():
        c1.weight.copy_(torch.from_numpy(w[0].transpose(3, 2, 0, 1).copy()))
        c2.weight.copy_(torch.from_numpy(w[2].transpose(3, 2, 0, 1).copy()))
        c1.bias.zero_()
        c2.bias.zero_()
    model = nn.Sequential(c1, nn.ReLU(), nn.MaxPool2d(2), c2, nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), d)
    opt = torch.optim.Adam(model.parameters(), lr=LR, eps=1e-7)
    lossf = nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        v = lossf(model(x), y)
        v.backward()
        opt.step()
        return v

    return step


def keras_cases():
    import keras

    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(64, 3, activation="relu"), keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(), keras.layers.Dense(10)])
    model.set_weights(init_weights())
    model.compile(optimizer=keras.optimizers.Adam(LR),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = data()
    return [("train", lambda: model.train_on_batch(x, y))]


def main():
    print_machine()
    x, y = data()
    cands = []
    fp, fs, fstep = fnflow_setup()
    box = {"f": (fp, fs)}

    def fnflow_train():
        p, s = box["f"]
        p, s, _ = fstep(p, s, x, y)
        box["f"] = (p, s)

    cands.append(("fnflow jit", fnflow_train))
    one = single_thread_blas(fnflow_train)
    if one is not None:  # diagnostic: the same step with NumPy's BLAS on one thread
        cands.append(("fnflow jit, BLAS 1 thread", one))
    jax = optional("jax")
    if jax is not None:
        jp, js, jstep = jax_setup(jax)
        jx, jy = jax.numpy.asarray(x), jax.numpy.asarray(y)
        box["j"] = (jp, js)

        def jax_train():
            p, s = box["j"]
            p, s, v = jstep(p, s, jx, jy)
            v.block_until_ready()
            box["j"] = (p, s)

        cands.append(("jax jit", jax_train))
    torch = optional("torch")
    if torch is not None:
        tstep = torch_setup(torch)
        tx, ty = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()), torch.from_numpy(y).long()
        cands.append(("torch eager", lambda: tstep(tx, ty)))
    optional("tensorflow")
    res = compare(cands, rounds=None, batch_time=0.2)
    kr = keras_rows("bench_convnet")
    header(f"W2 convnet train step: Keras MNIST convnet, batch {BATCH}, float32",
           ["framework", "ms/step", "spread %", "vs best peer"])
    peers = [v[0] for k, v in res.items() if not k.startswith("fnflow")] + [d["train"] for d in kr.values()]
    best = min(peers) if peers else None
    for name, (t, spread) in res.items():
        row(name, t * 1e3, spread, t / best if best else "-")
    for backend, d in kr.items():
        row(f"keras[{backend}] train_on_batch", d["train"] * 1e3, "-", d["train"] / best)
    finish()


if __name__ == "__main__":
    main()
