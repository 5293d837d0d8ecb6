"""W4: dispatch cost of a tiny compiled function, f(x) = sum(tanh(x) * 2 + 1) on 10 float32.

Rows: fnflow's compiled executable called directly (``compile_graph``), a bare
numba call of the same loop (the floor), ``fnflow.jit(f)`` and
``fnflow.jit(grad(f))`` when ``jit`` exists, then JAX and PyTorch if installed.
Run: ``python benchmarks/bench_dispatch.py``.
"""

from __future__ import annotations

import numpy as np
from _common import header, optional, row, timeit

import fnflow
import fnflow.numpy as fnp
from fnflow.backends.cpu import compile_graph


def f(x):
    return fnp.sum(fnp.tanh(x) * 2 + 1)


def main():
    x = np.linspace(-1, 1, 10, dtype=np.float32)
    header("W4 dispatch: f(x) = sum(tanh(x)*2+1), x: float32[10]", ["framework", "us/call"])

    exe = compile_graph(fnflow.make_graph(f)(x))
    row("fnflow compile_graph", timeit(lambda: exe(x)) * 1e6)

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
    row("numba bare call", timeit(lambda: bare(x, buf)) * 1e6)

    if hasattr(fnflow, "jit"):
        jf = fnflow.jit(f)
        jf(x)
        row("fnflow jit(f)", timeit(lambda: jf(x)) * 1e6)
        jg = fnflow.jit(fnflow.grad(f))
        jg(x)
        row("fnflow jit(grad(f))", timeit(lambda: jg(x)) * 1e6)
    else:
        print("  (fnflow.jit not available yet; skipped)")

    jax = optional("jax")
    if jax is not None:
        import jax.numpy as jnp

        jf = jax.jit(lambda x: jnp.sum(jnp.tanh(x) * 2 + 1))
        xj = jnp.asarray(x)
        jf(xj).block_until_ready()
        row("jax jit(f)", timeit(lambda: jf(xj).block_until_ready()) * 1e6)
        jg = jax.jit(jax.grad(lambda x: jnp.sum(jnp.tanh(x) * 2 + 1)))
        jg(xj).block_until_ready()
        row("jax jit(grad(f))", timeit(lambda: jg(xj).block_until_ready()) * 1e6)
    torch = optional("torch")
    if torch is not None:
        xt = torch.from_numpy(x)
        tf = lambda x: torch.sum(torch.tanh(x) * 2 + 1)  # noqa: E731
        row("torch eager f", timeit(lambda: tf(xt)) * 1e6)
        try:
            tc = torch.compile(tf)
            tc(xt)
            row("torch.compile(f)", timeit(lambda: tc(xt)) * 1e6)
        except Exception as err:  # no compiler toolchain
            print(f"  (torch.compile unavailable: {type(err).__name__}; skipped)")


if __name__ == "__main__":
    main()
