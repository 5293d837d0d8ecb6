"""Per-op times of the Keras MNIST convnet train step (forward + backward), jitted.

The model: 28x28x1 -> Conv2D 32 3x3 relu -> MaxPool 2 -> Conv2D 64 3x3 relu -> MaxPool 2
-> Flatten -> Dense 10 softmax, cross-entropy, batch 128, float32. Prints, for the
compiled ``value_and_grad`` graph, the median time of every convolution and pooling step
(and the rest together) under two CPU lowerings compiled side by side in one process:

* ``numpy``: the primitives' NumPy impls (the compiled kernels switched off);
* ``kernels``: the CPU backend's lowerings (numba col2im / pooling kernels + BLAS).

Then the whole step through ``fnflow.jit(fnflow.value_and_grad(loss))`` (median and best).
The machine may be shared: the two variants run interleaved, so compare them by column.
Run: ``python benchmarks/bench_convnet_ops.py [repeats]``. OpenBLAS's thread count matters
on 2 busy cores: try ``OPENBLAS_NUM_THREADS=1`` and ``=2``.
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np
from _common import header, row

import fnflow
import fnflow.numpy as fnp
from fnflow.backends.cpu import compile_graph
from fnflow.nn import functional as F
from fnflow.nn.activations import log_softmax
from fnflow.ops import conv as _conv
from fnflow.ops import pool as _pool

PRIMS = [_conv.conv_general_dilated_p] + [getattr(_pool, n) for n in (
    "reduce_window_max_p", "window_argmax_p", "window_max_argmax_p", "window_scatter_add_p", "window_gather_p")
    if hasattr(_pool, n)]


def make_problem(batch=128, seed=0):
    rng = np.random.default_rng(seed)

    def glorot(*shape):
        fan_in, fan_out = np.prod(shape[:-1]), shape[-1]
        return (rng.uniform(-1, 1, shape) * np.sqrt(6 / (fan_in + fan_out))).astype(np.float32)

    params = dict(k1=glorot(3, 3, 1, 32), b1=np.zeros(32, np.float32), k2=glorot(3, 3, 32, 64),
                  b2=np.zeros(64, np.float32), w=glorot(1600, 10), b=np.zeros(10, np.float32))
    x = rng.random((batch, 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)]
    return params, x, y


def loss(p, x, y):
    h = F.max_pool2d(fnp.maximum(F.conv2d(x, p["k1"], p["b1"]), 0), 2)
    h = F.max_pool2d(fnp.maximum(F.conv2d(h, p["k2"], p["b2"]), 0), 2)
    logits = fnp.reshape(h, (h.shape[0], -1)) @ p["w"] + p["b"]
    return -fnp.mean(fnp.sum(log_softmax(logits) * y, axis=-1))


def _label(step):
    shapes = ", ".join(v.aval.str_short() for v in step.inputs)
    return f"{step.name}({shapes})"


def _role(step):
    """A short name for the convnet's conv/pool steps (from their shapes), else None."""
    shapes = [tuple(v.aval.shape) for v in step.inputs]
    if step.name == "conv_general_dilated":
        (l, r) = shapes
        if r[:2] == (3, 3) and l[-1] == 1:
            return "conv1 forward"
        if r[:2] == (3, 3) and l[-1] == 32:
            return "conv2 forward"
        if r[:2] == (3, 3) and l[-1] == 64:
            return "conv2 input-grad"
        if l[-1] == 128 and l[0] == 32:
            return "conv2 kernel-grad"
        if l[-1] == 128 and l[0] == 1:
            return "conv1 kernel-grad"
    if step.name.startswith("window") or step.name.startswith("reduce_window"):
        n = "pool1" if shapes[0][1] in (26, 13) else "pool2"
        return f"{n} {step.name}"
    return None


def main(repeat=15):
    params, x, y = make_problem()
    vg = fnflow.value_and_grad(loss)
    graph = fnflow.make_graph(vg)(params, x, y)
    args = [np.asarray(a) for a in fnflow.tree_util.tree_leaves((params, x, y))]

    saved = {p: p.lowerings.pop("cpu", None) for p in PRIMS}
    exe_np = compile_graph(graph)
    for p, low in saved.items():
        if low is not None:
            p.lowerings["cpu"] = low
    exe_k = compile_graph(graph)
    exe_np(*args), exe_k(*args)  # warm up (numba loads or compiles its kernels here)

    samples = {"numpy": [], "kernels": []}
    for _ in range(repeat):
        samples["numpy"].append(exe_np.profile(*args, repeat=1))
        samples["kernels"].append(exe_k.profile(*args, repeat=1))

    def table(rows_list):
        per = {}
        for rows in rows_list:
            acc = {}
            for s, t in rows:
                key = (_role(s) or "other") if s is not None else "other"
                acc[key] = acc.get(key, 0.0) + t
            acc["total"] = sum(t for _, t in rows)
            for k, t in acc.items():
                per.setdefault(k, []).append(t)
        return {k: statistics.median(v) * 1e3 for k, v in per.items()}

    tn, tk = table(samples["numpy"]), table(samples["kernels"])
    header(f"convnet fwd+bwd per op (batch 128, float32), median of {repeat}, ms",
           ["op", "numpy impl", "kernels"])
    keys = sorted(set(tn) | set(tk), key=lambda k: (k in ("other", "total"), k == "total", k))
    for k in keys:
        row(k, tn.get(k, 0.0), tk.get(k, 0.0))

    step = fnflow.jit(vg)
    step(params, x, y)
    times = []
    for _ in range(max(repeat, 10)):
        t0 = time.perf_counter()
        step(params, x, y)
        times.append(time.perf_counter() - t0)
    header("fnflow.jit(value_and_grad(loss))", ["", "median ms", "best ms"])
    row("train step fwd+bwd", statistics.median(times) * 1e3, min(times) * 1e3)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
