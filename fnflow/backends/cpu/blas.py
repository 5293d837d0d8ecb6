"""Small GEMMs on one BLAS thread.

NumPy's OpenBLAS splits every product above a tiny size across all its
threads. For a product of a few million multiply-adds (an LSTM step's
``h @ W``: 64×128×512) the second thread buys little on an idle machine, and
on a busy one the call waits for a descheduled worker: measured on a 2-core VM
under load, 0.1 ms became 1–4 ms per call, and a 50-step scan made 150 such
calls per training step. :func:`matmul_small` runs the product with OpenBLAS
on the calling thread only, through the library's own thread-count setter
(found in NumPy's bundled OpenBLAS by ``ctypes``; no new dependency), and
puts the previous count back afterwards. Where no OpenBLAS is found (MKL,
Accelerate, a system BLAS loaded under another name) it is plain
``np.matmul``.

Larger products (up to ``ALWAYS_THREADED_MACS``) and convolutions use every
thread unless the machine is busy (:func:`busy`: other work leaves fewer idle
cores than there are BLAS threads), when a second thread mostly waits to be
scheduled.

The setter is process-wide, so nested and concurrent calls share one counter:
the count is lowered by the first and restored by the last.
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading
import time

import numpy as np

# products with fewer multiply-adds than this run on one BLAS thread (64×128×512 is 4.2M,
# W1's 128×784×512 is 51M: the latter still gains from a second thread) ...
SINGLE_THREAD_MACS = 1 << 24
# ... and so do thin ones (an LSTM's 3200×32×512 input projection): writing the output, not the
# arithmetic, bounds them, and a worker thread woken for them spins on a core for tens of
# milliseconds afterwards (OpenBLAS's idle timeout), slowing the single-threaded work that follows
SINGLE_THREAD_MIN_DIM = 64


# products with at least this many multiply-adds always use every thread (a 2048^3 matmul: the
# threads' wake-up and spin are noise there); those between the two bounds follow the machine's load
ALWAYS_THREADED_MACS = 1 << 28
_load = [-1e9, False, 0.0]  # [time of the last look, busy, this process's CPU time then]


def single_threaded(batch, m, k, n) -> bool:
    """Whether a ``(batch, m, k) @ (batch, k, n)`` product should run on one BLAS thread."""
    return batch * m * k * n < SINGLE_THREAD_MACS or min(m, k, n) < SINGLE_THREAD_MIN_DIM


def load_adaptive(batch, m, k, n) -> bool:
    """Whether such a product runs on one thread only while the machine is busy (see :func:`busy`)."""
    return not single_threaded(batch, m, k, n) and batch * m * k * n < ALWAYS_THREADED_MACS


def _cpus():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def busy() -> bool:
    """Whether other work leaves fewer idle cores than NumPy's BLAS has threads.

    Other work = the 1-minute load average minus this process's own recent
    CPU use (its CPU time over wall time since the last look). When some BLAS
    thread cannot have a core to itself, it is often descheduled and every
    multi-threaded product waits for it: measured on the 2-core VM at load
    2.4, W1's step took 9-100 ms with two threads and 7-9 ms with one. Looked
    up at most once a second (like ``OMP_DYNAMIC``, which sizes OpenMP teams
    by the load).
    """
    now = time.monotonic()
    last = _load[0]
    if now - last > 1.0:
        cpu = time.process_time()
        own = (cpu - _load[2]) / (now - last) if now - last < 60 else 0.0
        _load[0], _load[2] = now, cpu
        try:
            fns = _functions()
            threads = fns[0]() if fns is not None else _cpus()
            _load[1] = os.getloadavg()[0] - own + threads > _cpus() + 0.25
        except (AttributeError, OSError):
            _load[1] = False
    return _load[1]


_state = {}  # "fns": (get, set) or None, once looked up
_lock = threading.Lock()
_depth = [0, 0]  # [nesting depth, thread count to restore]


def _candidates():
    base = os.path.dirname(np.__file__)
    pats = [os.path.join(base, "..", "numpy.libs", "*openblas*"), os.path.join(base, ".dylibs", "*openblas*"),
            os.path.join(base, "..", "numpy.libs", "*openblas*.dll")]
    for pat in pats:
        yield from sorted(glob.glob(pat))
    try:  # Linux, any other build: the OpenBLAS this process has loaded
        with open("/proc/self/maps") as f:
            seen = set()
            for line in f:
                path = line.split()[-1] if line.strip() else ""
                if "openblas" in os.path.basename(path).lower() and path not in seen:
                    seen.add(path)
                    yield path
    except OSError:
        pass


def _functions():
    """``(get_num_threads, set_num_threads)`` of NumPy's OpenBLAS, or None."""
    if "fns" in _state:
        return _state["fns"]
    fns = None
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for get_name, set_name in (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
                                   ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
                                   ("openblas_get_num_threads", "openblas_set_num_threads")):
            get, set_ = getattr(lib, get_name, None), getattr(lib, set_name, None)
            if get is not None and set_ is not None:
                get.restype, get.argtypes = ctypes.c_int, []
                set_.restype, set_.argtypes = None, [ctypes.c_int]
                fns = (get, set_)
                break
        if fns is not None:
            break
    _state["fns"] = fns
    return fns


def available() -> bool:
    """Whether the BLAS thread count can be controlled (NumPy's OpenBLAS was found)."""
    return _functions() is not None


def _enter(set_):
    with _lock:
        if _depth[0] == 0:
            _depth[1] = _state["fns"][0]()
            if _depth[1] > 1:
                set_(1)
        _depth[0] += 1


def _exit(set_):
    with _lock:
        _depth[0] -= 1
        if _depth[0] == 0 and _depth[1] > 1:
            set_(_depth[1])


def make_matmul_small():
    """A function ``(a, b, out)`` doing ``np.matmul(a, b, out=out)`` on one BLAS thread, or None."""
    fns = _functions()
    if fns is None:
        return None
    set_ = fns[1]
    matmul = np.matmul

    def matmul_small(a, b, out):
        _enter(set_)
        try:
            matmul(a, b, out=out)
        finally:
            _exit(set_)

    return matmul_small


def make_matmul_adaptive():
    """Like :func:`make_matmul_small`, but on one thread only while :func:`busy`; None without OpenBLAS."""
    small = make_matmul_small()
    if small is None:
        return None
    matmul = np.matmul

    def matmul_adaptive(a, b, out):
        if busy():
            small(a, b, out)
        else:
            matmul(a, b, out=out)

    return matmul_adaptive


def adaptive(fn):
    """``fn`` (any function making BLAS calls, e.g. a convolution) on one BLAS thread while :func:`busy`."""
    if _functions() is None:
        return fn
    set_ = _functions()[1]

    def run(*args, **kwargs):
        if not busy():
            return fn(*args, **kwargs)
        _enter(set_)
        try:
            return fn(*args, **kwargs)
        finally:
            _exit(set_)

    run.__wrapped__ = fn
    return run
