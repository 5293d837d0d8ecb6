"""Backends: compilers from the graph IR to something that runs.

A backend exposes ``compile_graph(graph) -> executable``; the executable is
called with the graph's flat input arrays and returns the list of its outputs
as read-only ``fnflow.Array`` s. ``jit`` reaches the backends only through this
function (and primitives through their ``lowerings`` tables), and nothing here
is imported until a graph is compiled, so eager fnflow never imports numba.

- ``cpu``: numba kernels for fused elementwise chains and reductions, BLAS
  for matrix products, NumPy for the rest.
"""
