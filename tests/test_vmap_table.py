"""vmap over every row of the op table agrees with a Python loop over the examples.

For each row (see ``tests/test_op_table.py``) a batch of examples of one shape
is drawn and ``fnflow.vmap(f, in_axes=...)`` is compared with
``stack([f(*example) for example in batch])`` for the batch axis first, for the
batch axis last (non-zero), and, for functions of several arguments, with the
first argument shared by all examples (``in_axes=None``).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_op_table import NO_SHRINK, ROWS

import fnflow
from fnflow.core import tree as tu

BATCH = 3


def _loop(f, examples):
    """``f`` applied to each example, its outputs stacked on a new leading axis."""
    outs = [f(*ex) for ex in examples]
    return tu.tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *outs)


def _batched(examples, i, axis):
    return np.stack([ex[i] for ex in examples], axis=axis)


def _check(got, want, what):
    g_leaves, g_tree = tu.tree_flatten(got)
    w_leaves, w_tree = tu.tree_flatten(want)
    assert len(g_leaves) == len(w_leaves), f"{what}: {g_tree} vs {w_tree}"
    for g, w in zip(g_leaves, w_leaves):
        g = np.asarray(g)
        assert g.shape == w.shape, f"{what}: shape {g.shape}, the loop gives {w.shape}"
        assert g.dtype == w.dtype, f"{what}: dtype {g.dtype}, the loop gives {w.dtype}"
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12, err_msg=what)


@pytest.mark.parametrize("row", [r.param("vmap") for r in ROWS])
@settings(max_examples=3, phases=NO_SHRINK)
@given(data=st.data())
def test_vmap(row, data):
    shapes = data.draw(row.shapes)
    examples = [row.args(data.draw, np.float64, shapes) for _ in range(BATCH)]
    n = row.arity
    want = _loop(row.fun, examples)

    # the batch axis first
    got = fnflow.vmap(row.fun, in_axes=0)(*[_batched(examples, i, 0) for i in range(n)])
    _check(got, want, "in_axes=0")

    # the batch axis last (non-zero for every argument that is not a scalar)
    axes = tuple(len(s) for s in shapes)
    got = fnflow.vmap(row.fun, in_axes=axes)(*[_batched(examples, i, ax) for i, ax in enumerate(axes)])
    _check(got, want, f"in_axes={axes}")

    if n > 1:  # the first argument shared by all examples
        shared = [(examples[0][0],) + ex[1:] for ex in examples]
        args = [examples[0][0]] + [_batched(examples, i, 0) for i in range(1, n)]
        got = fnflow.vmap(row.fun, in_axes=(None,) + (0,) * (n - 1))(*args)
        _check(got, _loop(row.fun, shared), "in_axes=(None, 0, ...)")
