"""Shared helpers for the benchmarks: timing (warmup, median of repeats) and row printing.

Each benchmark prints one row per framework for the same workload, fnflow
first, then the peers that are installed (JAX, PyTorch); a missing peer is
skipped with a note. Benchmarks are not tests: they never fail on a number.
"""

from __future__ import annotations

import importlib
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def timeit(fn, *, number=None, repeat=7, warmup=3, min_time=0.2):
    """Median seconds per call of ``fn()``: ``warmup`` calls, then ``repeat`` batches of ``number`` calls.

    ``number`` defaults to enough calls for a batch to last about ``min_time / repeat`` seconds.
    """
    for _ in range(warmup):
        fn()
    if number is None:
        t0 = time.perf_counter()
        fn()
        one = max(time.perf_counter() - t0, 1e-7)
        number = max(1, int(min_time / repeat / one))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times)


def optional(name):
    """The module if it is installed, else None (and a note on stdout)."""
    try:
        return importlib.import_module(name)
    except Exception as err:  # ImportError, or a broken install
        print(f"  ({name} not available: {type(err).__name__}; skipped)")
        return None


def header(title, columns):
    print(title)
    print("  " + " ".join(f"{c:>14s}" if i else f"{c:<22s}" for i, c in enumerate(columns)))


def row(name, *values):
    cells = []
    for v in values:
        cells.append(f"{v:>14.3f}" if isinstance(v, float) else f"{str(v):>14s}")
    print(f"  {name:<22s} " + " ".join(cells))
