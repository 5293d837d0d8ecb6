"""W6: a 2048 x 2048 x 2048 float32 matrix product through a jitted ``fnp.matmul``.

Prints GFLOP/s and the ratio to NumPy's own ``np.matmul`` (the same BLAS) for
fnflow (``jit`` if it exists, else the compiled graph), NumPy, and JAX /
PyTorch when installed. Run: ``python benchmarks/bench_matmul.py [n]``.
"""

from __future__ import annotations

import sys

import numpy as np
from _common import header, optional, row, timeit

import fnflow
import fnflow.numpy as fnp
from fnflow.backends.cpu import compile_graph


def main(n=2048):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    flops = 2.0 * n ** 3

    def rate(fn):
        return flops / timeit(fn, repeat=5, warmup=1, number=1) / 1e9

    header(f"W6 matmul: {n}x{n} @ {n}x{n} float32", ["framework", "GFLOP/s", "vs numpy"])
    ref = rate(lambda: np.matmul(a, b))
    if hasattr(fnflow, "jit"):
        mm = fnflow.jit(fnp.matmul)
        name = "fnflow jit(matmul)"
    else:
        exe = compile_graph(fnflow.make_graph(fnp.matmul)(a, b))
        mm = exe
        name = "fnflow compile_graph"
    mm(a, b)
    got = rate(lambda: mm(a, b))
    row(name, got, got / ref)
    row("numpy matmul", ref, 1.0)

    jax = optional("jax")
    if jax is not None:
        ja, jb = jax.numpy.asarray(a), jax.numpy.asarray(b)
        jm = jax.jit(jax.numpy.matmul)
        jm(ja, jb).block_until_ready()
        r = rate(lambda: jm(ja, jb).block_until_ready())
        row("jax jit(matmul)", r, r / ref)
    torch = optional("torch")
    if torch is not None:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        r = rate(lambda: torch.matmul(ta, tb))
        row("torch matmul", r, r / ref)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2048)
