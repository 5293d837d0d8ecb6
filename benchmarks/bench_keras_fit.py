"""Keras ``model.fit`` ms/step: fnflow_keras against real Keras 3 on the JAX and PyTorch backends.

Workloads, all trained with ``model.fit`` on synthetic data (sparse categorical cross-entropy on
integer labels, ``Adam(1e-3)``, float32, ``verbose=0``):

- W1: MLP 784-512-512-10, relu, softmax; batch 128.
- W2: the classic Keras MNIST convnet: Conv2D 32 3x3 relu, MaxPooling2D 2, Conv2D 64 3x3 relu,
  MaxPooling2D 2, Flatten, Dense 10 softmax on 28x28x1 images; batch 128.
- W3: LSTM(128) over 50 steps of 32 features, Dense 10 softmax; batch 64.

Each epoch has ``--steps`` steps; the first epoch (compilation, warm-up) is not timed and each row
gives the median ms/step over the later epochs (epoch wall time / steps, so per-epoch overhead counts).
Every framework runs in its own child process, since Keras picks its backend at import:
fnflow_keras with this interpreter, then Keras 3 with ``KERAS_BACKEND=jax`` and ``=torch`` with the
``--python`` interpreter (default ``/work/peers/bin/python``), skipped with a note where it or the
backend is not installed. Target: fnflow_keras <= 1.0x Keras-on-JAX.

``--threads N`` runs every framework on N threads (OpenBLAS/OpenMP/numba via the environment, XLA's Eigen
pool via ``XLA_FLAGS``, ``torch.set_num_threads``); by default each uses its own default. On a machine
shared with other work, ``--threads 1`` avoids the oversubscription that makes multi-threaded BLAS crawl.

Run: ``python benchmarks/bench_keras_fit.py [--python PEERS_PY] [--epochs 4] [--steps 20]
[--workloads W1,W2,W3] [--threads N] [--json rows.jsonl]`` (``BENCH_QUICK=1``: 3 epochs of 5 steps).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

WORKLOADS = {"W1": "MLP 784-512-512-10, batch 128", "W2": "MNIST convnet, batch 128",
             "W3": "LSTM(128) 50x32, batch 64"}
DEFAULT_PEERS = "/work/peers/bin/python"
QUICK = os.environ.get("BENCH_QUICK") == "1"


# ------------------------------------------------------------------ one framework (child process)


def build(keras, name):
    """The model for workload ``name`` and its (input shape, batch size)."""
    L = keras.layers
    if name == "W1":
        layers = [keras.Input((784,)), L.Dense(512, activation="relu"), L.Dense(512, activation="relu"),
                  L.Dense(10, activation="softmax")]
        return keras.Sequential(layers), (784,), 128
    if name == "W2":
        layers = [keras.Input((28, 28, 1)), L.Conv2D(32, (3, 3), activation="relu"), L.MaxPooling2D((2, 2)),
                  L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D((2, 2)), L.Flatten(),
                  L.Dense(10, activation="softmax")]
        return keras.Sequential(layers), (28, 28, 1), 128
    if name == "W3":
        return keras.Sequential([keras.Input((50, 32)), L.LSTM(128), L.Dense(10, activation="softmax")]), (50, 32), 64
    raise ValueError(f"unknown workload {name!r}")


def time_fit(keras, name, epochs, steps):
    """Median ms/step of ``model.fit`` over the epochs after the first."""
    import numpy as np

    model, shape, batch = build(keras, name)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((steps * batch, *shape), dtype=np.float32)
    y = rng.integers(0, 10, steps * batch).astype(np.int32)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="sparse_categorical_crossentropy")
    per_epoch = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            per_epoch.append((time.perf_counter() - self.t0) / steps * 1e3)

    hist = model.fit(x, y, batch_size=batch, epochs=epochs, shuffle=True, verbose=0, callbacks=[Timer()])
    loss = hist.history["loss"][-1]
    return {"ms": statistics.median(per_epoch[1:]), "first_epoch_ms": per_epoch[0], "loss": float(loss)}


def worker(framework, workloads, epochs, steps):
    threads = os.environ.get("BENCH_THREADS")
    if threads and os.environ.get("KERAS_BACKEND") == "torch":
        import torch

        torch.set_num_threads(int(threads))
    if framework == "fnflow_keras":
        import fnflow_keras as keras

        backend = "fnflow"
    else:
        import keras

        backend = keras.backend.backend()
    for name in workloads:
        try:
            res = time_fit(keras, name, epochs, steps)
        except Exception as err:  # a workload the framework cannot run is reported, not fatal
            res = {"error": f"{type(err).__name__}: {str(err)[:200]}"}
        res.update(workload=name, backend=backend)
        print("RESULT " + json.dumps(res), flush=True)


# ------------------------------------------------------------------ driver


def run_child(label, python, env_extra, args):
    """Run one framework in a child process; returns {workload: result} or a string saying why not."""
    if not python or not os.path.exists(python):
        return f"{label}: interpreter {python!r} not found"
    env = dict(os.environ, **env_extra)
    if args.threads:
        n = str(args.threads)
        env.update(BENCH_THREADS=n, OPENBLAS_NUM_THREADS=n, OMP_NUM_THREADS=n, MKL_NUM_THREADS=n, NUMBA_NUM_THREADS=n,
                   XLA_FLAGS=(env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen="
                              + ("false" if args.threads == 1 else "true")
                              + f" intra_op_parallelism_threads={n}").strip())
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [python, os.path.abspath(__file__), "--worker", env_extra.get("_FRAMEWORK", "keras"),
           "--workloads", ",".join(args.workloads), "--epochs", str(args.epochs), "--steps", str(args.steps)]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return f"{label}: timed out after {args.timeout} s"
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            r = json.loads(line[7:])
            results[r["workload"]] = r
    if not results:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return f"{label}: not available ({tail[:160]})"
    return results


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--python", default=DEFAULT_PEERS, help="interpreter with Keras 3, JAX and PyTorch installed")
    p.add_argument("--epochs", type=int, default=3 if QUICK else 4)
    p.add_argument("--steps", type=int, default=5 if QUICK else 20)
    p.add_argument("--workloads", default="W1,W2,W3")
    p.add_argument("--threads", type=int, default=0, help="threads for every framework (0: their defaults)")
    p.add_argument("--timeout", type=int, default=1800, help="seconds per framework")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--json", help="append the rows to this JSON-lines file")
    args = p.parse_args(argv)
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    if args.worker:
        return worker(args.worker, args.workloads, args.epochs, args.steps)

    try:
        from _common import print_machine

        print_machine()
    except Exception:
        pass
    threads = f"{args.threads} thread(s) each" if args.threads else "default threads"
    print(f"Keras fit ms/step (median over epochs 2..{args.epochs}, {args.steps} steps each, {threads}; "
          "lower is better)")
    for w in args.workloads:
        print(f"  {w}: {WORKLOADS.get(w, '?')}")
    cols = [f"{w} ms/step" for w in args.workloads]
    print("  " + f"{'framework':<24s}" + "".join(f"{c:>16s}" for c in cols), flush=True)

    frameworks = [("fnflow_keras", sys.executable, {"_FRAMEWORK": "fnflow_keras"}),
                  ("keras 3 (jax)", args.python, {"KERAS_BACKEND": "jax"}),
                  ("keras 3 (torch)", args.python, {"KERAS_BACKEND": "torch"})]
    rows, all_results = [], {}
    for label, python, env in frameworks:
        res = run_child(label, python, env, args)
        if isinstance(res, str):
            print(f"  ({res}; skipped)", flush=True)
            rows.append({"name": label, "note": res})
            continue
        all_results[label] = res
        cells = []
        for w in args.workloads:
            r = res.get(w, {"error": "missing"})
            cells.append(f"{r['ms']:16.2f}" if "ms" in r else f"{'error':>16s}")
        print("  " + f"{label:<24s}" + "".join(cells), flush=True)
        for w in args.workloads:
            if "error" in res.get(w, {}):
                print(f"    ({label} {w}: {res[w]['error']})")
        rows.append({"name": label, "values": {w: res.get(w, {}).get("ms") for w in args.workloads}})

    ours, ref = all_results.get("fnflow_keras"), all_results.get("keras 3 (jax)")
    if ours and ref:
        ratios = []
        for w in args.workloads:
            a, b = ours.get(w, {}).get("ms"), ref.get(w, {}).get("ms")
            ratios.append(f"{a / b:15.2f}x" if a and b else f"{'-':>16s}")
        print("  " + f"{'fnflow / keras-jax':<24s}" + "".join(ratios) + "   (target <= 1.00x)")
    if args.json:
        with open(args.json, "a") as f:
            for r in rows:
                f.write(json.dumps(dict(r, workload="keras_fit")) + "\n")


if __name__ == "__main__":
    main()
