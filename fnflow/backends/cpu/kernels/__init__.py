"""Hand-written numba kernels, for primitives whose CPU lowering is not a fused loop.

A primitive uses one by registering it as its CPU implementation:
``prim.lowerings["cpu"] = fn`` with ``fn(*arrays, **params)`` returning what the
primitive's ``impl`` returns. Kernels here are compiled lazily on first use
(``njit(cache=True)``: they live in real files, so numba caches them itself).
"""

from __future__ import annotations

import numpy as np
from numba import njit

DTYPES = (np.dtype(np.float32), np.dtype(np.float64))  # the dtypes these kernels are written for


def jit(fn):
    """``njit(cache=True)``, or uncached when numba finds no writable cache folder."""
    try:
        return njit(cache=True, nogil=True)(fn)
    except RuntimeError:
        return njit(nogil=True)(fn)


def readonly(a):
    """A C-contiguous read-only view: one numba signature per dtype and rank."""
    a = np.ascontiguousarray(a).view(np.ndarray)
    a.flags.writeable = False
    return a
