"""What differs under jit: each behaviour documented and asserted (after tinygrad's catalogue)."""

import numpy as np
import pytest

import fnflow
import fnflow.numpy as fnp


def test_side_effects_run_once_at_trace_time():
    log = []

    @fnflow.jit
    def g(x):
        log.append("traced")  # Python side effects happen while tracing, not on each call
        return x + 1

    g(np.zeros(2))
    g(np.ones(2))
    assert log == ["traced"]


def test_python_branch_on_traced_value_fails_with_advice():
    @fnflow.jit
    def g(x):
        return x if x.sum() > 0 else -x

    with pytest.raises(TypeError, match="argument 'x'.*static_argnums|argument 'x'.*lax.cond"):
        g(np.ones(2))


def test_branch_on_static_argument_works():
    g = fnflow.jit(lambda x, flag: x * 2 if flag else x, static_argnames="flag")
    np.testing.assert_array_equal(g(np.ones(2), flag=True), [2, 2])
    np.testing.assert_array_equal(g(np.ones(2), flag=False), [1, 1])


def test_globals_are_captured_at_trace_time():
    scale = {"v": 2.0}

    @fnflow.jit
    def g(x):
        return x * scale["v"]

    np.testing.assert_array_equal(g(np.ones(2)), [2, 2])
    scale["v"] = 5.0  # not seen: the constant was baked into the compiled graph
    np.testing.assert_array_equal(g(np.ones(2)), [2, 2])


def test_leaked_tracer_is_an_error():
    saved = []

    @fnflow.jit
    def g(x):
        saved.append(x)
        return x

    g(np.ones(2))
    with pytest.raises(Exception, match="escaped"):
        fnp.sin(saved[0])


def test_shapes_must_be_static():
    @fnflow.jit
    def g(x, n):
        return fnp.zeros(n)

    with pytest.raises(TypeError, match="concrete|static"):
        g(np.ones(2), 3)


def test_outputs_are_read_only():
    out = fnflow.jit(lambda x: x * 2)(np.ones(3))
    with pytest.raises(TypeError, match=r"\.at\["):
        out[0] = 1.0


def test_python_scalars_are_traced_not_static():
    calls = []

    @fnflow.jit
    def g(x, s):
        calls.append(1)
        return x * s

    g(np.ones(2, np.float32), 2.0)
    g(np.ones(2, np.float32), 3.0)  # same key: a weak float scalar is a float32[] argument
    assert len(calls) == 1
