"""Shared helpers for the benchmarks: interleaved timing, optional peers, row printing, machine info.

Each benchmark prints one row per framework for the same workload, fnflow
first, then the peers that are installed (JAX, PyTorch, TensorFlow, Keras 3);
a missing peer is skipped with a note. Benchmarks are not tests: they never
fail on a number.

Timings on a shared machine are noisy, so :func:`compare` runs the candidates
*interleaved*: round after round, each candidate runs a short batch of calls,
and each row reports the median over rounds (and the spread, p10-p90 in %).
Slow phases of the machine then hit every framework alike.

Environment knobs: ``BENCH_ROUNDS`` (default 15) and ``BENCH_QUICK=1`` (fewer
rounds, for a smoke run). ``--json PATH`` on any script appends its rows to a
JSON-lines file (used by ``run_all.py`` to build the README table).
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

QUICK = os.environ.get("BENCH_QUICK") == "1"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5" if QUICK else "15"))
_rows = []  # every row printed in this process: dicts for --json
_workload = [""]


def timeit(fn, *, number=None, repeat=7, warmup=3, min_time=0.2):
    """Median seconds per call of ``fn()``: ``warmup`` calls, then ``repeat`` batches of ``number`` calls.

    ``number`` defaults to enough calls for a batch to last about ``min_time / repeat`` seconds.
    """
    for _ in range(warmup):
        fn()
    if number is None:
        number = _calibrate(fn, min_time / repeat)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times)


def _calibrate(fn, batch_time):
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    return max(1, int(batch_time / one))


def compare(cands, *, rounds=None, warmup=3, batch_time=0.05):
    """Interleaved timing of ``[(name, fn), ...]``: returns ``{name: (median s/call, spread %)}``.

    Each candidate is warmed up, then every round runs each candidate for about
    ``batch_time`` seconds (in an order rotated each round); the median is over rounds.
    """
    rounds = rounds or ROUNDS
    numbers = {}
    for name, fn in cands:
        for _ in range(warmup):
            fn()
        numbers[name] = _calibrate(fn, batch_time)
    samples = {name: [] for name, _ in cands}
    for r in range(rounds):
        # rotate the order each round: a candidate must not always follow the same one (a peer's worker
        # threads keep spinning on a core for a while after its batch, slowing whoever runs next)
        for name, fn in cands[r % len(cands):] + cands[:r % len(cands)]:
            n = numbers[name]
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            samples[name].append((time.perf_counter() - t0) / n)
    out = {}
    for name, ts in samples.items():
        ts = sorted(ts)
        med = statistics.median(ts)
        lo, hi = ts[len(ts) // 10], ts[-1 - len(ts) // 10]
        out[name] = (med, 100.0 * (hi - lo) / med if med else 0.0)
    return out


def optional(name, note=True):
    """The module if it is installed, else None (and a note on stdout)."""
    try:
        return importlib.import_module(name)
    except Exception as err:  # ImportError, or a broken install
        if note:
            print(f"  ({name} not available: {type(err).__name__}: {str(err)[:80]}; skipped)")
        return None


def header(title, columns):
    _workload[0] = title.split(":")[0]
    print(title)
    print("  " + " ".join(f"{c:>14s}" if i else f"{c:<30s}" for i, c in enumerate(columns)))


def row(name, *values, columns=None):
    cells = []
    for v in values:
        cells.append(f"{v:>14.3f}" if isinstance(v, float) else f"{str(v):>14s}")
    print(f"  {name:<30s} " + " ".join(cells), flush=True)
    _rows.append({"workload": _workload[0], "name": name, "values": [v if isinstance(v, (int, float)) else str(v)
                                                                      for v in values]})


def note(text):
    print(f"  ({text})", flush=True)
    _rows.append({"workload": _workload[0], "note": text})


def machine():
    """A one-line description of the machine and the BLAS NumPy uses."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    blas = ""
    try:
        import numpy  # noqa: F401  (loads the BLAS threadpoolctl reports)
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            if info.get("user_api") == "blas":
                blas = f"{info.get('internal_api')} {info.get('version')} {info.get('architecture')}, " \
                       f"{info.get('num_threads')} threads"
                break
    except Exception:
        blas = "threadpoolctl not installed"
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, BLAS: {blas}"


def print_machine():
    import numpy as np

    print(f"# machine: {machine()}; numpy {np.__version__}")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(var):
            print(f"# note: {var}={os.environ[var]} is set (it can slow NumPy's BLAS)")


def finish():
    """Write the rows to ``--json PATH`` when given."""
    if "--json" in sys.argv:
        path = sys.argv[sys.argv.index("--json") + 1]
        with open(path, "a") as f:
            for r in _rows:
                f.write(json.dumps(r) + "\n")


def peers_torch_threads(torch):
    """PyTorch on as many threads as the machine has cores (its default may differ)."""
    torch.set_num_threads(os.cpu_count() or 1)


KERAS_CHILD = r"""
import sys, json
sys.path.insert(0, {bench!r})
from _common import compare
import {module} as m
res = compare(m.keras_cases())
print(json.dumps({{k: v[0] for k, v in res.items()}}))
"""


def keras_rows(module):
    """Keras 3 on each installed backend, one child process per backend (Keras picks it at import).

    ``module`` (a benchmark module name) defines ``keras_cases() -> [(label, fn), ...]``.
    Returns ``{backend: {label: seconds per call}}``.
    """
    import importlib.util
    import subprocess

    if importlib.util.find_spec("keras") is None:
        note("keras not installed; skipped")
        return {}
    if os.environ.get("BENCH_NO_KERAS") == "1":
        note("keras skipped (BENCH_NO_KERAS=1)")
        return {}
    out = {}
    here = os.path.dirname(os.path.abspath(__file__))
    for backend, mod in (("jax", "jax"), ("torch", "torch"), ("tensorflow", "tensorflow")):
        if importlib.util.find_spec(mod) is None:
            note(f"keras[{backend}]: {mod} not installed; skipped")
            continue
        env = dict(os.environ, KERAS_BACKEND=backend)
        proc = subprocess.run([sys.executable, "-c", KERAS_CHILD.format(bench=here, module=module)], env=env,
                              capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            lines = proc.stderr.strip().splitlines() or ["?"]
            note(f"keras[{backend}] failed: {lines[-1][:100]}")
            continue
        out[backend] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def single_thread_blas(fn):
    """``fn`` run with NumPy's BLAS on one thread (threadpoolctl), or None if threadpoolctl is missing.

    A diagnostic row: on an oversubscribed machine a multi-threaded BLAS waits for
    descheduled worker threads at every small GEMM.
    """
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    libs = ThreadpoolController().select(user_api="blas").lib_controllers
    libs = [c for c in libs if "numpy" in c.filepath or "scipy_openblas" in c.filepath] or libs
    if not libs:
        return None
    lib = libs[0]
    n = lib.num_threads

    def run():
        lib.set_num_threads(1)
        try:
            fn()
        finally:
            lib.set_num_threads(n)

    return run
