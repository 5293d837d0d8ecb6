"""The CPU backend: graph IR -> fused numba kernels + BLAS calls -> a flat executable plan.

The pipeline, one module per stage (read them in this order)::

    Graph ──passes.py──> optimized Graph ──fusion.py──> groups / single equations
          ──codegen.py──> kernel source ──cache.py──> compiled numba kernels
          ──lowering.py──> steps ──executable.py──> Executable (plan + driver)

- ``passes.py``: inline nested ``jit_call`` s, fold equations whose inputs are
  all constants (with the primitive's ``impl``), merge common subexpressions,
  drop dead code.
- ``fusion.py``: group chains of elementwise primitives (NumPy broadcasting,
  dtype conversions, select, comparisons), the data movement they read through
  (broadcast, transpose, slice, rev, size-one reshapes) and a final reduction
  (sum, max, min, prod, and, or over any axes) into one kernel each.
- ``codegen.py``: the Python source of one numba kernel per group: loops over
  the iteration space (axes collapsed where possible, loop-invariant loads
  hoisted), broadcasting by index, writing into preallocated outputs.
- ``vecmath.py``: branch-free float32 ``exp``/``tanh``/``logistic`` that
  generated kernels call, so their loops vectorize (numba calls libm per
  element otherwise).
- ``cache.py``: kernels keyed by a hash of their source, types and versions;
  an in-memory cache in front of an on-disk one (``$FNFLOW_CACHE_DIR`` or
  ``~/.cache/fnflow``), so a second process loads instead of compiling (and
  without initialising numba's whole CPU target).
- ``kernels/``: hand-written kernels that primitives can use as their CPU
  lowering.
- ``blas.py``: small and thin products on one BLAS thread (OpenBLAS's own
  thread-count setter, found by ``ctypes``).
- ``lowering.py``: one step per group or equation: a kernel call, BLAS
  ``np.matmul`` for ``dot_general``, free views for reshapes and transposes,
  control flow (``cond``, ``scan``, ``while``) as Python loops around compiled
  sub-graphs (``scan``: a generated loop writing its stacked outputs into
  planned buffers), and the primitive's ``impl`` as the fallback for every
  other op.
- ``executable.py``: memory planning (a buffer is reused once its values are
  dead) and one generated Python driver function that runs the plan with no
  per-step interpretation; outputs are handed out read-only.

Usage::

    exe = compile_graph(fnflow.make_graph(f)(*args))
    outs = exe(*flat_input_arrays)   # list of read-only fnflow.Array
    print(exe)                       # the plan: one line per step
"""

from __future__ import annotations

from fnflow.backends.cpu import executable, fusion, lowering, passes
from fnflow.core.graph import Graph, Var

__all__ = ["compile_graph"]


def compile_graph(graph: Graph, readonly_outputs: bool = True, out_params: bool = False):
    """Compile a graph (constants included) into an :class:`~fnflow.backends.cpu.executable.Executable`.

    ``exe(*flat_inputs)`` returns one array per ``graph.outvars``. With
    ``readonly_outputs=False`` (for loops around sub-graphs) the outputs are
    plain NumPy arrays owned by the caller; ``out_params=True`` lets a caller
    pass arrays to compute outputs into (see ``executable.build``).
    """
    g = fusion.compose_loads(passes.optimize(graph))
    nodes = fusion.fuse(g)
    node_of = {}
    for i, node in enumerate(nodes):
        for e in node.eqns if isinstance(node, fusion.Group) else [node]:
            for v in e.outvars:
                node_of[v] = i
    used_outside = {v for v in g.outvars if isinstance(v, Var)}
    for i, node in enumerate(nodes):
        for e in node.eqns if isinstance(node, fusion.Group) else [node]:
            used_outside.update(v for v in e.invars if isinstance(v, Var) and node_of.get(v, i) != i)
    steps = []
    fixed = frozenset(g.invars) | frozenset(g.constvars)
    for node in nodes:
        if isinstance(node, fusion.Group) and node.is_compute:
            inputs, outputs = fusion.group_io(node, used_outside)
            steps.extend(lowering.lower_group(node, inputs, outputs, fixed))
        elif isinstance(node, fusion.Group):
            steps.extend(lowering.lower_eqn(e) for e in node.eqns)
        else:
            steps.append(lowering.lower_eqn(node))
    return executable.build(g, steps, readonly_outputs, out_params)
