"""Cold start: a fresh process doing import + build + the first W1 (MLP) train step.

fnflow is measured twice: with an empty kernel cache (``FNFLOW_CACHE_DIR``
pointing at a new temporary folder: every kernel is compiled, the first-ever
run) and again with that folder warm (kernels load from disk). JAX and PyTorch
start fresh processes too (JAX's own persistent compilation cache is off by
default). Each time is the child's wall clock from interpreter start to the
end of the first step, the median of ``BENCH_COLD_REPEAT`` (default 3) runs.

Run: ``python benchmarks/bench_coldstart.py [--json rows.jsonl]``.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time

from _common import finish, header, note, print_machine, row

HERE = os.path.dirname(os.path.abspath(__file__))
REPEAT = int(os.environ.get("BENCH_COLD_REPEAT", "3"))

CHILD = {
    "fnflow": """
import fnflow
from bench_mlp import fnflow_setup, data
x, y = data(128)
p, s, step, _ = fnflow_setup()
p, s, v = step(p, s, x, y)
float(v)
""",
    "jax": """
import jax
from bench_mlp import jax_setup, data
x, y = data(128)
p, s, step, _ = jax_setup(jax)
p, s, v = step(p, s, jax.numpy.asarray(x), jax.numpy.asarray(y))
float(v)
""",
    "torch": """
import torch
from bench_mlp import torch_setup, data
x, y = data(128)
step, _ = torch_setup(torch)
float(step(torch.from_numpy(x), torch.from_numpy(y).long()))
""",
}


def _env(**extra):
    # as a normal install: Python may write bytecode caches (some sandboxes set PYTHONDONTWRITEBYTECODE,
    # which makes every process recompile fnflow's modules from source)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra)
    return env


def run_child(code, env=None):
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {HERE!r})\n" + code], check=True,
                   env=env or _env(), cwd=HERE, capture_output=True)
    return time.perf_counter() - t0


def main():
    print_machine()
    base = run_child("pass")
    for mod in ("fnflow", "jax", "torch"):  # bytecode caches written once, as after any install
        if importlib.util.find_spec(mod) is not None:
            run_child(f"import {mod}")
    rows = []
    firsts, warms = [], []
    for _ in range(REPEAT):
        with tempfile.TemporaryDirectory() as d:
            env = _env(FNFLOW_CACHE_DIR=d)
            firsts.append(run_child(CHILD["fnflow"], env))
            warms.append(run_child(CHILD["fnflow"], env))
    rows.append(("fnflow, empty kernel cache", statistics.median(firsts)))
    rows.append(("fnflow, warm kernel cache", statistics.median(warms)))
    for peer in ("jax", "torch"):
        if importlib.util.find_spec(peer) is None:
            note(f"{peer} not installed; skipped")
            continue
        rows.append((f"{peer}", statistics.median(run_child(CHILD[peer]) for _ in range(REPEAT))))
    header("Cold start: new process, import + build + first W1 train step", ["framework", "seconds"])
    for name, t in rows:
        row(name, t)
    row("(python -c pass)", base)
    finish()


if __name__ == "__main__":
    main()
