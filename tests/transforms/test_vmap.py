"""vmap: in_axes/out_axes forms, nesting, per-example gradients and size errors."""

import numpy as np
import pytest

import fnflow
import fnflow.numpy as fnp

rng = np.random.default_rng(1)


def test_in_axes_int_none_negative():
    x, w = rng.normal(size=(4, 3)), rng.normal(size=(3, 2))
    np.testing.assert_allclose(fnflow.vmap(lambda x, w: x @ w, in_axes=(0, None))(x, w), x @ w)
    np.testing.assert_allclose(fnflow.vmap(lambda c: c * 2, in_axes=-1)(x), (x * 2).T)
    np.testing.assert_allclose(fnflow.vmap(lambda c: c * 2, in_axes=1, out_axes=-1)(x), x * 2)
    np.testing.assert_allclose(fnflow.vmap(fnp.sum, in_axes=[1])(x), x.sum(0))  # a list is taken as a tuple


def test_out_axes_and_unbatched_outputs():
    x = rng.normal(size=(4, 3))
    out = fnflow.vmap(lambda r: (r, fnp.ones(2)), out_axes=(1, 0))(x)
    np.testing.assert_allclose(out[0], x.T)
    np.testing.assert_allclose(out[1], np.ones((4, 2)))  # unbatched output broadcast along the batch
    c = fnflow.vmap(lambda r, k: k * 2, in_axes=(0, None), out_axes=(None))(x, np.ones(2))
    np.testing.assert_allclose(c, [2.0, 2.0])
    with pytest.raises(ValueError, match="out_axes=None for output <the output>, but it depends on the mapped axis"):
        fnflow.vmap(lambda r: r, out_axes=None)(x)


def test_pytree_prefix_in_axes():
    params = {"w": rng.normal(size=(3, 2)), "b": rng.normal(size=(5, 2))}
    x = rng.normal(size=(5, 3))
    f = lambda p, x: x @ p["w"] + p["b"]
    out = fnflow.vmap(f, in_axes=({"w": None, "b": 0}, 0))(params, x)
    np.testing.assert_allclose(out, x @ params["w"] + params["b"])
    with pytest.raises(ValueError, match=r"vmap in_axes does not match the argument structure at key path \[0\]"):
        fnflow.vmap(f, in_axes=({"w": None}, 0))(params, x)


def test_nested_vmap_outer_product_and_matmul():
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(4, 5))
    mm = fnflow.vmap(fnflow.vmap(lambda r, c: fnp.dot(r, c), in_axes=(None, 1)), in_axes=(0, None))
    np.testing.assert_allclose(mm(a, b), a @ b)
    x, y = np.arange(3.0), np.arange(4.0)
    outer = fnflow.vmap(fnflow.vmap(lambda s, t: s * t, in_axes=(None, 0)), in_axes=(0, None))
    np.testing.assert_allclose(outer(x, y), np.outer(x, y))


def test_per_example_gradients():
    w = rng.normal(size=3)
    xs, ys = rng.normal(size=(6, 3)), rng.normal(size=6)
    loss = lambda w, x, y: (fnp.dot(x, w) - y) ** 2
    g = fnflow.vmap(fnflow.grad(loss), in_axes=(None, 0, 0))(w, xs, ys)
    expected = 2 * (xs @ w - ys)[:, None] * xs
    np.testing.assert_allclose(g, expected)
    np.testing.assert_allclose(g.mean(0), fnflow.grad(lambda w: fnp.mean(loss(w, xs, ys)))(w))


def test_axis_size_with_no_mapped_argument():
    out = fnflow.vmap(lambda x: x + 1, in_axes=None, axis_size=3)(np.ones(2))
    np.testing.assert_allclose(out, np.full((3, 2), 2.0))
    with pytest.raises(ValueError, match="needs at least one mapped argument"):
        fnflow.vmap(lambda x: x, in_axes=None)(np.ones(2))


def test_inconsistent_sizes_name_the_arguments():
    def f(x, y):
        return x + y

    with pytest.raises(ValueError) as e:
        fnflow.vmap(f)(np.ones((2, 3)), np.ones((4, 3)))
    msg = str(e.value)
    assert "inconsistent sizes" in msg
    assert "size 2: argument 'x' (axis 0)" in msg and "size 4: argument 'y' (axis 0)" in msg
    with pytest.raises(ValueError, match=r"argument 'p'\['b'\] \(axis 0\)"):
        fnflow.vmap(lambda p: p["a"])({"a": np.ones(2), "b": np.ones(3)})
    with pytest.raises(ValueError, match=r"argument 'x' is a scalar but in_axes=0"):
        fnflow.vmap(f)(1.0, np.ones(3))
    with pytest.raises(ValueError, match=r"in_axes for argument 'x'=2 is out of range for a value of rank 2"):
        fnflow.vmap(f, in_axes=(2, 0))(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="in_axes has 1 entries but the function was called with 2"):
        fnflow.vmap(f, in_axes=(0,))(np.ones(2), np.ones(2))


def test_kwargs_are_passed_unmapped():
    out = fnflow.vmap(lambda x, scale=1.0: x * scale)(np.ones((2, 3)), scale=3.0)
    np.testing.assert_allclose(out, np.full((2, 3), 3.0))


def test_python_control_flow_on_unmapped_values_works():
    def f(x, n):
        return x * 2 if n > 0 else x

    np.testing.assert_allclose(fnflow.vmap(f, in_axes=(0, None))(np.ones(3), 1), np.full(3, 2.0))


def test_out_axes_none_error_names_the_output():
    with pytest.raises(ValueError, match=r"out_axes=None for output \[1\]"):
        fnflow.vmap(lambda x: (fnp.ones(2), x * 2), out_axes=(None, None))(np.ones((3, 2)))
