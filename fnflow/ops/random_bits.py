"""Counter-based random bits: the Threefry-2x32 block cipher (20 rounds), and bitcasts.

``threefry2x32(k0, k1, x0, x1)`` encrypts the counter pair (x0, x1) under the
key (k0, k1), elementwise with broadcasting, all uint32. It is a pure function
of its inputs (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
SC 2011), so the same key gives the same bits eagerly, under jit and on every
backend.
"""

from __future__ import annotations

import numpy as np

from fnflow.core.primitive import Primitive
from fnflow.core.trace import bind
from fnflow.ops._util import asvalue, elementwise_abstract
from fnflow.transforms.ad import defzero
from fnflow.transforms.batching import defbroadcasting, defvectorized

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = np.uint32(0x1BD11BDA)


def _rotl(x, r):
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def threefry2x32_numpy(k0, k1, x0, x1):
    """Reference implementation on uint32 NumPy arrays (wrapping arithmetic)."""
    k0, k1, x0, x1 = np.broadcast_arrays(*(np.asarray(a, np.uint32) for a in (k0, k1, x0, x1)))
    ks = (k0, k1, k0 ^ k1 ^ _PARITY)
    with np.errstate(over="ignore"):
        x0 = x0 + ks[0]
        x1 = x1 + ks[1]
        for i in range(5):
            for r in _ROTATIONS[i % 2]:
                x0 = x0 + x1
                x1 = _rotl(x1, r)
                x1 = x1 ^ x0
            x0 = x0 + ks[(i + 1) % 3]
            x1 = x1 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x0, x1


threefry2x32_p = Primitive("threefry2x32", multiple_results=True)
threefry2x32_p.def_impl(lambda k0, k1, x0, x1: list(threefry2x32_numpy(k0, k1, x0, x1)))


@threefry2x32_p.def_abstract_eval
def _threefry_abstract(k0, k1, x0, x1):
    a = elementwise_abstract("threefry2x32", k0, k1, x0, x1)
    if a.dtype != np.uint32:
        raise TypeError(f"threefry2x32: operands must be uint32, got {a.str_short()}")
    return [a, a]


defzero(threefry2x32_p)
defbroadcasting(threefry2x32_p)


def threefry2x32(k0, k1, x0, x1):
    """Threefry-2x32 of counters (x0, x1) under key (k0, k1); returns two uint32 arrays."""
    args = [asvalue(a, np.uint32) for a in (k0, k1, x0, x1)]
    return bind(threefry2x32_p, *args)


bitcast_p = Primitive("bitcast_convert_type")
bitcast_p.def_impl(lambda x, new_dtype: x.view(new_dtype))


@bitcast_p.def_abstract_eval
def _bitcast_abstract(x, new_dtype):
    if np.dtype(new_dtype).itemsize != x.dtype.itemsize:
        raise TypeError(f"bitcast_convert_type: {x.dtype} and {np.dtype(new_dtype)} differ in size")
    return x.update(dtype=new_dtype)


defzero(bitcast_p)
defvectorized(bitcast_p)


def bitcast_convert_type(x, new_dtype):
    """Reinterpret the bits of ``x`` as ``new_dtype`` (same item size)."""
    return bind(bitcast_p, asvalue(x), new_dtype=np.dtype(new_dtype))
