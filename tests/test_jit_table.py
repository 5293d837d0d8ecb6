"""jit over every row of the op table agrees with eager evaluation.

For each row (see ``tests/test_op_table.py``) one example per dtype is drawn
(the table's strategies, the deterministic profile of ``tests/conftest.py``) and

* ``fnflow.jit(fun)(*args)`` is compared with ``fun(*args)``: same pytree, same
  shapes, same dtypes, values equal up to a few ulps (fused kernels may
  evaluate a chain in another order, and float32 sums accumulate in float64 in
  compiled code), read-only outputs;
* for the differentiable rows, with float64 arguments, the gradient of a
  scalarised ``fun`` (a fixed weighted sum of its floating outputs) is computed
  eagerly, as ``jit(grad(s))`` and as ``grad(jit(s))``; all three agree.

Every new argument signature compiles kernels (0.2-0.6 s each the first time,
then loaded from the disk cache), so there are few examples per row.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_op_table import NO_SHRINK, ROWS

import fnflow
import fnflow.numpy as fnp
from fnflow.core import tree as tu

# value tolerances of jit against eager (relative and absolute, the values are O(1))
_TOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 2e-6}
_GRAD_TOL = 1e-10


def _close(got, want, tol, what):
    """Same pytree, shapes, dtypes and (within ``tol``) values; every jit output read-only."""
    g_leaves, g_tree = tu.tree_flatten(got)
    w_leaves, w_tree = tu.tree_flatten(want)
    assert g_tree == w_tree, f"{what}: pytree {g_tree}, eager gives {w_tree}"
    for i, (g, w) in enumerate(zip(g_leaves, w_leaves)):
        w = np.asarray(w)
        assert isinstance(g, np.ndarray), f"{what}: output {i} is a {type(g).__name__}, not an array"
        assert not g.flags.writeable, f"{what}: output {i} is writeable"
        assert g.shape == w.shape, f"{what}: output {i} has shape {g.shape}, eager gives {w.shape}"
        assert g.dtype == w.dtype, f"{what}: output {i} has dtype {g.dtype}, eager gives {w.dtype}"
        t = tol if tol is not None else _TOL.get(w.dtype, 0.0)
        np.testing.assert_allclose(g, w, rtol=t, atol=t, err_msg=f"{what}: output {i}")


def _scalarised(fun, args):
    """``s(*args) = sum_i sum(w_i * out_i)`` over the floating outputs, with fixed weights ``w_i``."""
    outs = tu.tree_leaves(fun(*args))
    weights = [None if not np.issubdtype(np.asarray(o).dtype, np.floating)
               else np.cos(np.arange(np.size(o), dtype=np.float64) + 0.5).reshape(np.shape(o)) for o in outs]

    def s(*xs):
        leaves = tu.tree_leaves(fun(*xs))
        return sum(fnp.sum(o * w) for o, w in zip(leaves, weights) if w is not None)

    return s


@pytest.mark.parametrize("row", [r.param("jit") for r in ROWS])
@settings(max_examples=2, phases=NO_SHRINK)
@given(data=st.data())
def test_jit_values(row, data):
    shapes = data.draw(row.shapes)
    for dtype in row.dtypes:
        args = row.args(data.draw, dtype, shapes)
        _close(fnflow.jit(row.fun)(*args), row.fun(*args), None, f"jit({row.name}) {np.dtype(dtype).name}")


GRAD_ROWS = [r for r in ROWS if r.order >= 1]


@pytest.mark.parametrize("row", [r.param("jit_grad") for r in GRAD_ROWS])
@settings(max_examples=2, phases=NO_SHRINK)
@given(data=st.data())
def test_jit_grads(row, data):
    args = row.args(data.draw, np.float64)
    argnums = tuple(i for i, a in enumerate(args) if np.issubdtype(a.dtype, np.floating))
    s = _scalarised(row.fun, args)
    want = fnflow.grad(s, argnums=argnums)(*args)
    _close(fnflow.jit(fnflow.grad(s, argnums=argnums))(*args), want, _GRAD_TOL, f"jit(grad({row.name}))")
    _close(fnflow.grad(fnflow.jit(s), argnums=argnums)(*args), want, _GRAD_TOL, f"grad(jit({row.name}))")
