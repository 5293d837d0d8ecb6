"""fnflow.testing: check_grads accepts right derivatives and catches wrong ones; strategies keep their promises."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnflow
import fnflow.numpy as fnp
from fnflow.testing import check_grads, check_jvp, check_vjp, default_eps, default_tolerance, numerical_jvp
from fnflow.testing import strategies as fst

X = np.linspace(-1.0, 1.0, 5)

# ------------------------------------------------------------------ functions with deliberately wrong rules


@fnflow.custom_jvp
def wrong_sin(x):
    return fnp.sin(x)


@wrong_sin.defjvp
def _wrong_sin_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return fnp.sin(x), fnp.sin(x) * t  # should be cos(x) * t


@fnflow.custom_jvp
def cube(x):
    return x * x * x


@cube.defjvp
def _cube_jvp(primals, tangents):
    # Right first derivative, but stop_gradient makes its own derivative (the second) wrong.
    (x,), (t,) = primals, tangents
    return cube(x), 3 * fnflow.stop_gradient(x) ** 2 * t


@fnflow.custom_vjp
def wrong_exp(x):
    return fnp.exp(x)


wrong_exp.defvjp(lambda x: (fnp.exp(x), x), lambda x, ct: (2 * fnp.exp(x) * ct,))


@fnflow.custom_vjp
def good_exp(x):
    return fnp.exp(x)


good_exp.defvjp(lambda x: (fnp.exp(x), fnp.exp(x)), lambda e, ct: (e * ct,))


@fnflow.custom_jvp
def good_softplus(x):
    return fnp.log1p(fnp.exp(x))


@good_softplus.defjvp
def _good_softplus_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return good_softplus(x), t / (1 + fnp.exp(-x))


# ------------------------------------------------------------------ check_grads passes on correct derivatives


def test_passes_on_elementwise_functions():
    check_grads(fnp.sin, (X,), order=2)
    check_grads(fnp.tanh, (X,), order=3)
    check_grads(lambda x, y: fnp.sin(x) * y + x ** 2, (X, X[::-1].copy()), order=2)


def test_passes_on_pytrees_with_integer_leaves_and_several_outputs():
    def f(params, n):
        out = fnp.sum(params["w"] ** 2) * params["b"] + n.astype(np.float64).sum()
        return {"out": out, "pair": (fnp.exp(params["w"]), params["w"] * 2)}

    params = {"w": X, "b": np.float64(0.5), "steps": np.arange(3)}
    check_grads(f, (params, np.array([1, 2])), order=2)


def test_passes_on_correct_custom_rules():
    check_grads(good_softplus, (X,), order=2)
    check_grads(good_exp, (X,), order=1, modes=("rev",))


def test_passes_in_float32_with_the_loose_default_tolerance():
    check_grads(fnp.tanh, (X.astype(np.float32),), order=2)
    check_grads(lambda x: fnp.sum(fnp.exp(x) * x), (X.astype(np.float32),), order=1)


def test_tolerance_follows_the_least_precise_output():
    # float64 in, float32 out: the float32 output sets the step and the tolerance
    check_grads(lambda x: fnp.astype(fnp.sin(x), np.float32), (X,), order=2)


def test_single_mode_and_explicit_tolerances():
    check_grads(fnp.sin, (X,), order=2, modes=("fwd",))
    check_grads(fnp.sin, (X,), order=2, modes=("rev",), atol=1e-6, rtol=1e-6, eps=1e-5)


# ------------------------------------------------------------------ check_grads catches wrong derivatives


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_catches_a_wrong_custom_jvp(mode):
    with pytest.raises(AssertionError, match=f"order 1, {mode} mode") as e:
        check_grads(wrong_sin, (X,), order=1, modes=(mode,))
    msg = str(e.value)
    assert "tolerance" in msg and "error" in msg


def test_catches_a_wrong_custom_jvp_with_both_modes():
    with pytest.raises(AssertionError, match="fwd mode, jvp"):
        check_grads(wrong_sin, (X,), order=2)


def test_catches_a_wrong_second_derivative_only_at_order_two():
    x = np.array([0.5, -1.5, 2.0])
    check_grads(cube, (x,), order=1)
    with pytest.raises(AssertionError, match="order 2, fwd mode, jvp\\(jvp\\(cube\\)\\)"):
        check_grads(cube, (x,), order=2)
    with pytest.raises(AssertionError, match="order 2, rev mode"):
        check_grads(cube, (x,), order=2, modes=("rev",))


def test_catches_a_wrong_custom_vjp():
    with pytest.raises(AssertionError, match="order 1, rev mode.*central difference"):
        check_grads(wrong_exp, (X,), order=1, modes=("rev",))


def test_catches_a_wrong_vjp_against_the_jvp():
    # a correct JVP, a reverse mode (vjp) that is 10% off
    def f(x):
        return fnp.sin(x)

    def bad_vjp(x):
        out, pullback = fnflow.vjp(f, x)
        return out, lambda ct: tuple(1.1 * g for g in pullback(ct))

    def good_jvp(primals, tangents):
        return fnflow.jvp(f, tuple(primals), tuple(tangents))

    check_vjp(f, lambda x: fnflow.vjp(f, x), (X,), f_jvp=good_jvp)
    with pytest.raises(AssertionError, match="VJP vs the JVP"):
        check_vjp(f, bad_vjp, (X,), f_jvp=good_jvp)


def test_check_jvp_catches_a_wrong_primal_output():
    def lying_jvp(primals, tangents):
        out, t = fnflow.jvp(fnp.sin, tuple(primals), tuple(tangents))
        return out + 1, t

    with pytest.raises(AssertionError, match="primal output"):
        check_jvp(fnp.sin, lying_jvp, (X,))


def test_is_deterministic():
    msgs = []
    for _ in range(2):
        with pytest.raises(AssertionError) as e:
            check_grads(wrong_sin, (X,), order=1)
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1]


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="modes"):
        check_grads(fnp.sin, (X,), modes=("forward",))
    with pytest.raises(ValueError, match="order"):
        check_grads(fnp.sin, (X,), order=0)
    with pytest.raises(TypeError, match="tuple"):
        check_grads(fnp.sin, X)


def test_numerical_jvp_and_defaults():
    t = np.ones_like(X)
    np.testing.assert_allclose(numerical_jvp(np.sin, (X,), (t,)), np.cos(X), rtol=1e-7)
    assert default_tolerance(np.float64) < default_tolerance(np.float32)
    assert default_eps(np.float64) < default_eps(np.float32)


# ------------------------------------------------------------------ strategies


@given(fst.shapes(1, 3, 2, 4))
def test_shapes_respect_their_bounds(shape):
    assert 1 <= len(shape) <= 3 and all(2 <= d <= 4 for d in shape)


@given(fst.broadcastable_shapes((2, 3)))
def test_broadcastable_shapes_broadcast(shape):
    # the result keeps (2, 3) as its trailing axes, and the drawn shape's own trailing axes are 1 or equal
    assert np.broadcast_shapes(shape, (2, 3))[-2:] == (2, 3)
    assert all(s in (1, t) for s, t in zip(shape[::-1], (3, 2)))


@given(fst.mutually_broadcastable_shapes(3))
def test_mutually_broadcastable_shapes_broadcast(shapes):
    assert len(shapes) == 3
    out = np.broadcast_shapes(*shapes)
    assert all(s in (1, o) for shape in shapes for s, o in zip(shape[::-1], out[::-1]))


@pytest.mark.parametrize("domain", ["real", "small", "positive", "unit", "gt1", (-5.0, -4.0)])
@given(data=st.data())
def test_arrays_stay_in_their_domain(domain, data):
    x = data.draw(fst.arrays(fst.shapes(0, 3), domain=domain))
    lo, hi = fst.DOMAINS[domain] if isinstance(domain, str) else domain
    assert x.dtype == np.float64
    assert np.all((lo <= x) & (x <= hi))


@given(fst.arrays((3, 4), np.float32, domain="nonzero"))
def test_nonzero_arrays_keep_away_from_zero(x):
    assert x.dtype == np.float32 and x.shape == (3, 4)
    assert np.all(np.abs(x) >= 0.2 - 1e-6)


@given(fst.arrays((20,), avoid=(-1.0, 0.5), margin=0.3))
def test_avoid_keeps_a_margin(x):
    assert np.all(np.abs(x + 1.0) >= 0.3 - 1e-12) and np.all(np.abs(x - 0.5) >= 0.3 - 1e-12)


@given(fst.arrays(fst.shapes(1, 2, 2, 4), distinct=True))
def test_distinct_values_are_apart(x):
    v = np.sort(x.ravel())
    assert np.all(np.diff(v) >= 0.5 * 4.0 / v.size - 1e-12)


@given(fst.arrays((10,), grid=(0.1, 0.0)), fst.arrays((10,), grid=(0.1, 0.05)))
def test_grids_with_different_offsets_never_tie(x, y):
    assert np.all(np.abs(x - y) >= 0.05 - 1e-9)


@given(fst.arrays(fst.shapes(0, 2), np.int32, domain="int"), fst.arrays((3,), np.bool_, domain="bool"))
def test_integer_and_boolean_arrays(i, b):
    assert i.dtype == np.int32 and np.all((-3 <= i) & (i <= 3))
    assert b.dtype == np.bool_ and b.shape == (3,)


@given(fst.arrays(st.sampled_from([(1, 1), (3, 3), (2, 3, 3)]), domain="spd"))
def test_spd_matrices(a):
    np.testing.assert_allclose(a, np.swapaxes(a, -1, -2), atol=1e-12)
    w = np.linalg.eigvalsh(a)
    assert np.all(w >= 1 - 1e-9) and np.all(np.diff(w, axis=-1) >= 0.5 - 1e-9)


@given(fst.arrays(st.sampled_from([(2, 2), (3, 2), (2, 4), (2, 3, 3)]), domain="invertible"))
def test_invertible_matrices_have_separated_singular_values(a):
    s = np.linalg.svd(a, compute_uv=False)
    assert np.all(s >= 1 - 1e-9) and np.all(-np.diff(s, axis=-1) >= 0.5 - 1e-9)


@settings(max_examples=1)
@given(st.data())
def test_matrix_domains_need_matrices(data):
    with pytest.raises(ValueError, match="spd"):
        data.draw(fst.arrays((2, 3), domain="spd"))


@given(fst.arrays((2, 2), elements=st.floats(-1, 1)))
def test_elements_strategy(x):
    assert x.shape == (2, 2) and np.all(np.abs(x) <= 1)


@settings(max_examples=1)
@given(st.data())
def test_unknown_domain_is_an_error(data):
    with pytest.raises(ValueError, match="unknown domain"):
        data.draw(fst.arrays((2,), domain="complex-ish"))


@given(fst.pytrees(fst.arrays((2,)), max_leaves=6))
def test_pytrees_hold_array_leaves(tree):
    leaves, treedef = fnflow.tree_util.tree_flatten(tree)
    assert all(isinstance(x, np.ndarray) and x.shape == (2,) for x in leaves)
    rebuilt = fnflow.tree_util.tree_unflatten(treedef, leaves)
    assert fnflow.tree_util.tree_structure(rebuilt) == treedef


@settings(max_examples=5)
@given(fst.pytrees(fst.arrays(fst.shapes(0, 2)), max_leaves=4))
def test_check_grads_on_drawn_pytrees(tree):
    check_grads(lambda t: fnflow.tree_util.tree_map(fnp.sin, t), (tree,), order=2)
