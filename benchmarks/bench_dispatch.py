"""W4: dispatch cost of a tiny compiled function, f(x) = sum(tanh(x) * 2 + 1) on 10 float32.

Rows: fnflow's compiled executable called directly (``compile_graph``), a bare
numba call of the same loop (the floor), ``fnflow.jit(f)`` and
``fnflow.jit(grad(f))`` when ``jit`` exists, then JAX and PyTorch if installed.
Run: ``python benchmarks/bench_dispatch.py``.
"""

from __future__ import annotations

import numpy as np
from _common import compare, finish, header, optional, print_machine, row

import fnflow
import fnflow.numpy as fnp
from fnflow.backends.cpu import compile_graph


def f(x):
    return fnp.sum(fnp.tanh(x) * 2 + 1)


def main():
    print_machine()
    x = np.linspace(-1, 1, 10, dtype=np.float32)
    cands = []
    exe = compile_graph(fnflow.make_graph(f)(x))
    cands.append(("fnflow compile_graph", lambda: exe(x)))

    # the floor: one numba call with a preallocated output, no checks
    from numba import njit

    @njit(cache=False)
    def bare(a, out):
        acc = np.float32(0)
        for i in range(a.shape[0]):
            acc += np.float32(np.tanh(a[i]) * np.float32(2) + np.float32(1))
        out[0] = acc

    buf = np.empty(1, np.float32)
    bare(x, buf)
    cands.append(("numba bare call", lambda: bare(x, buf)))
    jf = fnflow.jit(f)
    jg = fnflow.jit(fnflow.grad(f))
    cands += [("fnflow jit(f)", lambda: jf(x)), ("fnflow jit(grad(f))", lambda: jg(x))]

    jax = optional("jax")
    if jax is not None:
        import jax.numpy as jnp

        jjf = jax.jit(lambda x: jnp.sum(jnp.tanh(x) * 2 + 1))
        jjg = jax.jit(jax.grad(lambda x: jnp.sum(jnp.tanh(x) * 2 + 1)))
        xj = jnp.asarray(x)
        cands += [("jax jit(f)", lambda: jjf(xj).block_until_ready()),
                  ("jax jit(grad(f))", lambda: jjg(xj).block_until_ready())]
    torch = optional("torch")
    if torch is not None:
        xt = torch.from_numpy(x)
        cands.append(("torch eager f", lambda: torch.sum(torch.tanh(xt) * 2 + 1)))
    optional("tensorflow")
    res = compare(cands, batch_time=0.02)
    header("W4 dispatch: f(x) = sum(tanh(x)*2+1), x: float32[10]", ["framework", "us/call", "spread %"])
    for name, (t, spread) in res.items():
        row(name, t * 1e6, spread)
    finish()


if __name__ == "__main__":
    main()
