"""Hand-written numba kernels, for primitives whose CPU lowering is not a fused loop.

A primitive uses one by registering it as its CPU implementation:
``prim.lowerings["cpu"] = fn`` with ``fn(*arrays, **params)`` returning what the
primitive's ``impl`` returns. Kernels here are compiled lazily on first use
(``njit(cache=True)``: they live in real files, so numba caches them itself).
"""
