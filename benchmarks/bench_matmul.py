"""W6: a 2048 x 2048 x 2048 float32 matrix product through a jitted ``fnp.matmul``.

Prints GFLOP/s and the ratio to NumPy's own ``np.matmul`` (the same BLAS) for
fnflow (``jit`` if it exists, else the compiled graph), NumPy, and JAX /
PyTorch when installed. Run: ``python benchmarks/bench_matmul.py [n]``.
"""

from __future__ import annotations

import sys

import numpy as np
from _common import compare, finish, header, optional, print_machine, row

import fnflow
import fnflow.numpy as fnp


def main(n=2048):
    print_machine()
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    flops = 2.0 * n ** 3
    mm = fnflow.jit(fnp.matmul)
    mm(a, b)
    cands = [("fnflow jit(matmul)", lambda: mm(a, b)), ("numpy matmul", lambda: np.matmul(a, b))]
    jax = optional("jax")
    if jax is not None:
        ja, jb = jax.numpy.asarray(a), jax.numpy.asarray(b)
        jm = jax.jit(jax.numpy.matmul)
        cands.append(("jax jit(matmul)", lambda: jm(ja, jb).block_until_ready()))
    torch = optional("torch")
    if torch is not None:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        cands.append(("torch matmul", lambda: torch.matmul(ta, tb)))
    res = compare(cands, warmup=1, batch_time=0.01, rounds=None)
    header(f"W6 matmul: {n}x{n} @ {n}x{n} float32", ["framework", "GFLOP/s", "spread %", "vs numpy"])
    ref = flops / res["numpy matmul"][0] / 1e9
    for name, (t, spread) in res.items():
        r = flops / t / 1e9
        row(name, r, spread, r / ref)
    finish()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 2048)
