"""W3: LSTM train step: batch 64, 50 steps, 32 features, 128 units, Dense 10 on the last state, float32.

Softmax cross-entropy on integer labels, Adam (lr 1e-3). Rows, interleaved in
this process: fnflow (``jit`` of a step whose recurrence is ``fnflow.lax.scan``
over a Keras-ordered LSTM cell), JAX (``jax.lax.scan``, the same cell),
PyTorch eager (``torch.nn.LSTM``), TensorFlow where installed; then Keras 3
``train_on_batch`` per installed backend (child processes).

Run: ``python benchmarks/bench_lstm.py [--json rows.jsonl]``.
"""

from __future__ import annotations

import numpy as np
from _common import compare, finish, header, keras_rows, optional, print_machine, row, single_thread_blas

BATCH, STEPS, FEATURES, UNITS, CLASSES, LR = 64, 50, 32, 128, 10, 1e-3


def data(seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((BATCH, STEPS, FEATURES), dtype=np.float32),
            rng.integers(0, CLASSES, BATCH).astype(np.int32))


def init_weights(seed=0):
    rng = np.random.default_rng(seed)

    def u(shape, fan_in, fan_out):
        lim = np.sqrt(6 / (fan_in + fan_out))
        return rng.uniform(-lim, lim, shape).astype(np.float32)

    bias = np.zeros(4 * UNITS, np.float32)
    bias[UNITS:2 * UNITS] = 1.0  # Keras's unit_forget_bias
    return [u((FEATURES, 4 * UNITS), FEATURES, 4 * UNITS), u((UNITS, 4 * UNITS), UNITS, 4 * UNITS), bias,
            u((UNITS, CLASSES), UNITS, CLASSES), np.zeros(CLASSES, np.float32)]


def _cell(np_, sigmoid, wh, carry, zx):
    """Keras's gate order i, f, c, o; ``zx`` = x_t @ kernel + bias (computed for all steps at once)."""
    h, c = carry
    z = zx + h @ wh
    i, f, g, o = (z[:, k * UNITS:(k + 1) * UNITS] for k in range(4))
    c = sigmoid(f) * c + sigmoid(i) * np_.tanh(g)
    h = sigmoid(o) * np_.tanh(c)
    return (h, c), None


def fnflow_setup():
    import fnflow
    import fnflow.numpy as fnp
    from fnflow import lax, nn, optim

    def loss(p, x, y):
        wx, wh, b, wd, bd = p
        zx = fnp.transpose(x @ wx + b, (1, 0, 2))  # (steps, batch, 4 units)
        h0 = fnp.zeros((BATCH, UNITS), fnp.float32)
        (h, _), _ = lax.scan(lambda carry, z: _cell(fnp, nn.sigmoid, wh, carry, z), (h0, h0), zx)
        return fnp.mean(fnflow.losses.sparse_categorical_crossentropy(y, h @ wd + bd, from_logits=True))

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

    def loss(p, x, y):
        wx, wh, b, wd, bd = p
        zx = jnp.transpose(x @ wx + b, (1, 0, 2))
        h0 = jnp.zeros((BATCH, UNITS), jnp.float32)
        (h, _), _ = jax.lax.scan(lambda carry, z: _cell(jnp, jax.nn.sigmoid, wh, carry, z), (h0, h0), zx)
        logp = jax.nn.log_softmax(h @ wd + bd)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

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
    lstm = torch.nn.LSTM(FEATURES, UNITS, batch_first=True)
    dense = torch.nn.Linear(UNITS, CLASSES)
    params = list(lstm.parameters()) + list(dense.parameters())
    opt = torch.optim.Adam(params, lr=LR, eps=1e-7)
    lossf = torch.nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        out, _ = lstm(x)
        v = lossf(dense(out[:, -1]), y)
        v.backward()
        opt.step()
        return v

    return step


def keras_cases():
    import keras

    model = keras.Sequential([keras.Input((STEPS, FEATURES)), keras.layers.LSTM(UNITS), keras.layers.Dense(CLASSES)])
    model.set_weights(init_weights())
    model.compile(optimizer=keras.optimizers.Adam(LR),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = data()
    return [("train", lambda: model.train_on_batch(x, y))]


def main():
    print_machine()
    x, y = data()
    fp, fs, fstep = fnflow_setup()
    box = {"f": (fp, fs)}

    def fnflow_train():
        p, s = box["f"]
        p, s, _ = fstep(p, s, x, y)
        box["f"] = (p, s)

    cands = [("fnflow jit + lax.scan", fnflow_train)]
    one = single_thread_blas(fnflow_train)
    if one is not None:  # diagnostic: the same step with NumPy's BLAS on one thread
        cands.append(("fnflow jit + lax.scan, BLAS 1 thread", one))
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

        cands.append(("jax jit + lax.scan", jax_train))
    torch = optional("torch")
    if torch is not None:
        tstep = torch_setup(torch)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y).long()
        cands.append(("torch eager nn.LSTM", lambda: tstep(tx, ty)))
    optional("tensorflow")
    res = compare(cands, batch_time=0.2)
    kr = keras_rows("bench_lstm")
    header(f"W3 LSTM train step: batch {BATCH}, {STEPS} steps, {FEATURES} features, {UNITS} units, Dense {CLASSES}",
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
