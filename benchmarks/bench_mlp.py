"""W1: MLP train step, and W5: MLP inference with the time of its GEMMs alone.

The model: 784-512-512-10, relu, softmax cross-entropy on integer labels,
Adam (Keras's formula, lr 1e-3), float32, batch 128 (train) and 1024
(inference). Rows, measured interleaved in this process: fnflow
(``fnflow.jit`` of a step with ``fnflow.value_and_grad`` + ``fnflow.optim.adam``
over ``fnflow.nn.Dense`` layers), JAX (``jax.jit``, the same Adam by hand),
PyTorch (eager, ``torch.optim.Adam``), TensorFlow (``tf.function``) where
installed; then Keras 3 ``train_on_batch`` / ``predict_on_batch`` on each
installed backend (one child process per backend: Keras picks its backend at
import). W5 also prints the three GEMMs alone (``np.matmul`` into preallocated
buffers), the floor that fnflow's inference should be within 5% of.

Run: ``python benchmarks/bench_mlp.py [--json rows.jsonl]``.
"""

from __future__ import annotations

import numpy as np
from _common import compare, finish, header, keras_rows, optional, print_machine, row, single_thread_blas

SIZES = [784, 512, 512, 10]
TRAIN_BATCH, INFER_BATCH = 128, 1024
LR = 1e-3


def data(batch, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], batch).astype(np.int32)
    return x, y


def init_weights(seed=0):
    rng = np.random.default_rng(seed)
    ws = []
    for a, b in zip(SIZES[:-1], SIZES[1:]):
        lim = np.sqrt(6 / (a + b))
        ws.append((rng.uniform(-lim, lim, (a, b)).astype(np.float32), np.zeros(b, np.float32)))
    return ws


# ------------------------------------------------------------------ fnflow


def fnflow_setup():
    import fnflow
    import fnflow.numpy as fnp
    from fnflow import nn, optim

    layers = [nn.Dense(w, b, activation="relu" if i < 2 else None) for i, (w, b) in enumerate(init_weights())]
    opt = optim.adam(LR)

    def forward(layers, x):
        for layer in layers:
            x = layer(x)
        return x

    def loss(layers, x, y):
        return fnp.mean(fnflow.losses.sparse_categorical_crossentropy(y, forward(layers, x), from_logits=True))

    @fnflow.jit
    def train_step(layers, state, x, y):
        value, grads = fnflow.value_and_grad(loss)(layers, x, y)
        updates, state = opt.update(grads, state, layers)
        return optim.apply_updates(layers, updates), state, value

    predict = fnflow.jit(forward)
    return layers, opt.init(layers), train_step, predict


# --------------------------------------------------------------------- JAX


def jax_setup(jax):
    import jax.numpy as jnp

    params = [(jnp.asarray(w), jnp.asarray(b)) for w, b in init_weights()]

    def forward(params, x):
        for i, (w, b) in enumerate(params):
            x = x @ w + b
            if i < len(params) - 1:
                x = jax.nn.relu(x)
        return x

    def loss(params, x, y):
        logp = jax.nn.log_softmax(forward(params, x))
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    def adam(params, grads, state):
        t, m, v = state
        t = t + 1
        m = jax.tree_util.tree_map(lambda m, g: m + (g - m) * 0.1, m, grads)
        v = jax.tree_util.tree_map(lambda v, g: v + (g * g - v) * 0.001, v, grads)
        corr = LR * jnp.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        params = jax.tree_util.tree_map(lambda p, m, v: p - corr * m / (jnp.sqrt(v) + 1e-7), params, m, v)
        return params, (t, m, v)

    @jax.jit
    def train_step(params, state, x, y):
        value, grads = jax.value_and_grad(loss)(params, x, y)
        params, state = adam(params, grads, state)
        return params, state, value

    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    state = (jnp.zeros((), jnp.float32), zeros, zeros)
    return params, state, train_step, jax.jit(forward)


# ----------------------------------------------------------------- PyTorch


def torch_setup(torch):
    layers = []
    for i, (w, b) in enumerate(init_weights()):
        lin = torch.nn.Linear(*w.shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w.T.copy()))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if i < 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=LR, eps=1e-7)
    lossf = torch.nn.CrossEntropyLoss()

    def train_step(x, y):
        opt.zero_grad(set_to_none=True)
        value = lossf(model(x), y)
        value.backward()
        opt.step()
        return value

    def predict(x):
        with torch.inference_mode():
            return model(x)

    return train_step, predict


# -------------------------------------------------------------- TensorFlow


def tf_setup(tf):
    ws = init_weights()
    vars_ = [(tf.Variable(w), tf.Variable(b)) for w, b in ws]
    flat = [v for pair in vars_ for v in pair]
    opt = tf.keras.optimizers.Adam(LR) if hasattr(tf, "keras") else None

    def forward(x):
        for i, (w, b) in enumerate(vars_):
            x = tf.matmul(x, w) + b
            if i < len(vars_) - 1:
                x = tf.nn.relu(x)
        return x

    @tf.function(jit_compile=False)
    def train_step(x, y):
        with tf.GradientTape() as tape:
            value = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, forward(x)))
        grads = tape.gradient(value, flat)
        opt.apply_gradients(zip(grads, flat))
        return value

    return train_step, tf.function(forward)


# ------------------------------------------------------------------- Keras


def keras_cases():
    """Keras 3 (whatever backend this process has): train_on_batch and predict_on_batch."""
    import keras

    model = keras.Sequential([keras.Input((SIZES[0],))] + [keras.layers.Dense(n, activation="relu" if i < 2 else None)
                                                         for i, n in enumerate(SIZES[1:])])
    model.set_weights([a for pair in init_weights() for a in pair])
    model.compile(optimizer=keras.optimizers.Adam(LR),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = data(TRAIN_BATCH)
    xi, _ = data(INFER_BATCH, 1)
    return [("train", lambda: model.train_on_batch(x, y)), ("infer", lambda: model.predict_on_batch(xi))]


# -------------------------------------------------------------------- main


def main():
    print_machine()
    import fnflow  # noqa: F401

    x, y = data(TRAIN_BATCH)
    xi, _ = data(INFER_BATCH, 1)
    f_layers, f_state, f_step, f_predict = fnflow_setup()
    box = {"f": (f_layers, f_state)}

    def fnflow_train():
        p, s = box["f"]
        p, s, v = f_step(p, s, x, y)
        box["f"] = (p, s)

    train = [("fnflow jit", fnflow_train)]
    one = single_thread_blas(fnflow_train)
    if one is not None:  # diagnostic: the same step with NumPy's BLAS on one thread
        train.append(("fnflow jit, BLAS 1 thread", one))
    infer = [("fnflow jit", lambda: f_predict(f_layers, xi))]

    # the GEMMs of inference alone, into preallocated outputs
    ws = init_weights()
    outs = [np.empty((INFER_BATCH, w.shape[1]), np.float32) for w, _ in ws]

    def gemms():
        h = xi
        for (w, _), o in zip(ws, outs):
            np.matmul(h, w, out=o)
            h = o

    infer.append(("GEMMs alone (np.matmul)", gemms))

    jax = optional("jax")
    if jax is not None:
        jp, js, j_step, j_predict = jax_setup(jax)
        jx, jy, jxi = jax.numpy.asarray(x), jax.numpy.asarray(y), jax.numpy.asarray(xi)
        box["j"] = (jp, js)

        def jax_train():
            p, s = box["j"]
            p, s, v = j_step(p, s, jx, jy)
            v.block_until_ready()
            box["j"] = (p, s)

        train.append(("jax jit", jax_train))
        infer.append(("jax jit", lambda: j_predict(jp, jxi).block_until_ready()))
    torch = optional("torch")
    if torch is not None:
        t_step, t_predict = torch_setup(torch)
        tx, ty, txi = torch.from_numpy(x), torch.from_numpy(y).long(), torch.from_numpy(xi)
        train.append(("torch eager", lambda: t_step(tx, ty)))
        infer.append(("torch eager", lambda: t_predict(txi)))
    tf = optional("tensorflow")
    if tf is not None:
        tf_step, tf_predict = tf_setup(tf)
        train.append(("tensorflow tf.function", lambda: tf_step(x, y)))
        infer.append(("tensorflow tf.function", lambda: tf_predict(xi)))

    tr = compare(train)
    inf = compare(infer)
    kr = keras_rows("bench_mlp")

    header(f"W1 MLP train step: 784-512-512-10 relu, softmax CE, Adam, batch {TRAIN_BATCH}, float32",
           ["framework", "ms/step", "spread %", "vs best peer"])
    peers = [v[0] for k, v in tr.items() if not k.startswith("fnflow")] + [d["train"] for d in kr.values()]
    best = min(peers) if peers else None
    for name, (t, spread) in tr.items():
        row(name, t * 1e3, spread, t / best if best else "-")
    for backend, d in kr.items():
        row(f"keras[{backend}] train_on_batch", d["train"] * 1e3, "-", d["train"] / best)

    header(f"W5 MLP inference: batch {INFER_BATCH}, float32", ["framework", "ms/batch", "spread %", "vs GEMMs"])
    floor = inf["GEMMs alone (np.matmul)"][0]
    for name, (t, spread) in inf.items():
        row(name, t * 1e3, spread, t / floor)
    for backend, d in kr.items():
        row(f"keras[{backend}] predict_on_batch", d["infer"] * 1e3, "-", d["infer"] / floor)
    finish()


if __name__ == "__main__":
    main()
