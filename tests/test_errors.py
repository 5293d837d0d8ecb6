"""Errors a user can act on: each message says what happened and how to fix it."""

import os
import subprocess
import sys
import traceback

import numpy as np
import pytest

import fnflow
import fnflow.numpy as fnp
from fnflow.core.errors import ConcretizationError, LeakedTracerError

PKG = os.path.dirname(fnflow.__file__)


def _leak(transform):
    box = []

    def f(x):
        box.append(x * 2)
        return fnp.sum(x)

    line = sys._getframe().f_lineno + 1
    transform(f)(np.ones(3))
    return box[0], f"{__file__}:{line}"


@pytest.mark.parametrize("name,transform", [
    ("grad", fnflow.grad),
    ("vmap", fnflow.vmap),
    ("make_graph", fnflow.make_graph),
    ("jvp", lambda f: lambda x: fnflow.jvp(f, (x,), (x,))),
])
def test_leaked_tracer_names_transform_and_origin(name, transform):
    leaked, where = _leak(transform)
    with pytest.raises(LeakedTracerError) as e:
        fnp.sin(leaked)
    msg = str(e.value)
    assert f"A tracer of the {name} transform escaped it" in msg
    if name == "jvp":  # the innermost user frame is the lambda that calls fnflow.jvp
        assert f"started at {__file__}:" in msg
    else:
        assert f"started at {where} (_leak)" in msg
    assert "Return values from the transformed function" in msg


def test_python_if_on_traced_value_under_make_graph():
    def f(x, scale):
        if fnp.sum(x * scale) > 0:
            return x
        return -x

    with pytest.raises(ConcretizationError) as e:
        fnflow.make_graph(f)(np.ones(2), np.ones(2))
    msg = str(e.value)
    assert "bool() / an `if` or `while` condition needs a concrete value" in msg
    assert "under the make_graph transform (it depends on argument 'scale', argument 'x')" in msg
    assert "static_argnums" in msg and "lax.cond" in msg
    assert isinstance(e.value, TypeError)
    # a static argument is a Python value, so branching on it is fine
    g = fnflow.make_graph(lambda x, flag: x * 2 if flag else x, static_argnums=1)(np.ones(2), True)
    assert "mul" in str(g)


def test_pytree_argument_is_named_in_concretization_error():
    with pytest.raises(ConcretizationError, match=r"depends on argument 'p'\['w'\]\)"):
        fnflow.make_graph(lambda p: float(p["w"][0]))({"w": np.ones(2), "b": np.ones(2)})


def test_python_if_on_batched_value_under_vmap():
    def f(x, n):
        return x if fnp.sum(x) > n else -x

    with pytest.raises(ConcretizationError) as e:
        fnflow.vmap(f, in_axes=(0, None))(np.ones((3, 2)), 0.0)
    msg = str(e.value)
    assert "under the vmap transform (it depends on argument 'x')" in msg
    assert "fnflow.numpy.where" in msg and "lax.cond" in msg and "in_axes=None" in msg


def test_shape_mismatch_names_op_and_shapes():
    expected = r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast together"
    with pytest.raises(ValueError, match=expected):
        fnp.add(np.ones((2, 3)), np.ones(4))
    with pytest.raises(ValueError, match=expected):
        fnp.ones((2, 3)) + fnp.ones(4)  # NumPy's operator on fnflow arrays
    with pytest.raises(ValueError, match=expected):
        fnflow.grad(lambda x: fnp.sum(x + fnp.ones(4)))(np.ones((2, 3)))
    with pytest.raises(ValueError, match=expected):
        fnflow.make_graph(lambda x, y: x + y)(np.ones((2, 3)), np.ones(4))


def test_pytree_mismatch_names_key_path():
    with pytest.raises(ValueError) as e:
        fnflow.jvp(lambda p: p["a"] * p["b"][0], ({"a": np.ones(2), "b": [np.ones(2)]},),
                   ({"a": np.ones(2), "b": (np.ones(2),)},))
    msg = str(e.value)
    assert "jvp: tangents structure mismatch at key path [0]['b']: expected a list, got tuple" in msg
    assert "expected structure: PyTreeDef(({'a': *, 'b': [*]},))" in msg
    assert "got structure:      PyTreeDef(({'a': *, 'b': (*,)},))" in msg


def test_in_place_assignment_points_to_at():
    x = fnp.ones(3)
    assert isinstance(x, fnflow.Array) and not x.flags.writeable
    with pytest.raises(TypeError, match=r"immutable.*x\.at\[idx\]\.set\(v\)"):
        x[0] = 2.0
    with pytest.raises(TypeError, match=r"augmented assignment.*x\.at\[idx\]\.set\(v\)"):
        x += 1

    def f(x):
        x[0] = 0.0
        return fnp.sum(x)

    with pytest.raises(TypeError, match=r"immutable.*\.at\[idx\]\.set\(v\)"):
        fnflow.grad(f)(np.ones(3))
    with pytest.raises(TypeError, match=r"\.at\[idx\]\.set\(v\)"):
        fnflow.vmap(f)(np.ones((2, 3)))
    np.testing.assert_array_equal(x.at[0].set(5.0), [5.0, 1.0, 1.0])


def test_numpy_conversion_of_tracer():
    with pytest.raises(TypeError, match=r"Cannot convert the traced value f64\[3\] to a NumPy array.*fnflow\.numpy"):
        fnflow.grad(lambda x: np.asarray(x).sum())(np.ones(3))
    with pytest.raises(TypeError, match="Cannot convert the traced value"):
        fnflow.vmap(lambda x: np.array(x))(np.ones((2, 3)))


def test_hash_of_tracer_and_len_of_scalar():
    with pytest.raises(TypeError, match="unhashable type: traced array"):
        fnflow.grad(lambda x: {x: 1} and fnp.sum(x))(np.ones(2))


def loss_with_bad_shapes(x):
    return fnp.sum(x + fnp.ones(4))


def _raise_inside_grad():
    try:
        fnflow.grad(loss_with_bad_shapes)(np.ones((2, 3)))
    except ValueError as e:
        return traceback.extract_tb(e.__traceback__)
    raise AssertionError("no error")


def test_traceback_filtering_hides_fnflow_frames(monkeypatch):
    monkeypatch.delenv("FNFLOW_TRACEBACK_FILTERING", raising=False)
    frames = _raise_inside_grad()
    ours = [f for f in frames if f.filename.startswith(PKG)]
    assert len(ours) <= 1
    assert [f.name for f in frames if not f.filename.startswith(PKG)] == ["_raise_inside_grad",
                                                                         "loss_with_bad_shapes"]
    monkeypatch.setenv("FNFLOW_TRACEBACK_FILTERING", "off")
    frames = _raise_inside_grad()
    assert len([f for f in frames if f.filename.startswith(PKG)]) > 5
    assert "loss_with_bad_shapes" in [f.name for f in frames]


def test_filtered_error_has_no_internal_context(monkeypatch):
    monkeypatch.delenv("FNFLOW_TRACEBACK_FILTERING", raising=False)
    try:
        fnflow.grad(loss_with_bad_shapes)(np.ones((2, 3)))
    except ValueError as e:
        text = "".join(traceback.format_exception(e))
    assert "operands could not be broadcast" not in text  # NumPy's unnamed message is not chained in
    assert text.count(PKG) <= 1


def test_eager_mode_compiles_nothing():
    code = ("import sys, numpy as np, fnflow, fnflow.numpy as fnp\n"
            "g = fnflow.grad(lambda x: fnp.sum(fnp.tanh(x) ** 2))(np.ones(3))\n"
            "v = fnflow.vmap(fnflow.grad(lambda x: fnp.sum(x ** 2)))(np.ones((2, 3)))\n"
            "assert 'numba' not in sys.modules, sorted(m for m in sys.modules if 'numba' in m)[:5]\n"
            "assert type(g) is fnflow.Array and not g.flags.writeable\n"
            "print('ok')\n")
    root = os.path.dirname(PKG)
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_eager_results_are_read_only_arrays():
    outs = [fnp.sin(np.ones(2)), fnflow.grad(lambda x: fnp.sum(x ** 2))(np.ones(2)),
            fnflow.vmap(lambda x: x * 2)(np.ones((2, 2))), fnflow.jvp(fnp.exp, (np.ones(2),), (np.ones(2),))[1]]
    for o in outs:
        assert type(o) is fnflow.Array and not o.flags.writeable
