"""fnflow.numpy.linalg and fnflow.ops.matrix: values vs NumPy, derivatives vs finite differences
(first and second order, JVP and VJP), vmap vs Python loops, errors. Also the matrix products
of fnflow.numpy (matmul, dot, tensordot, outer, inner, vdot, kron)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnflow as ff
import fnflow.numpy as fnp
from fnflow.ops import matrix as M
from fnflow.testing import check_grads as _check_grads

LA = fnp.linalg


# ------------------------------------------------------------------ helpers


def _leaves(x):
    return [np.asarray(v, np.float64) for v in ff.tree_util.tree_leaves(x)]


def check_grads(f, args, order=2, eps=1e-6, rtol=1e-5, atol=1e-6, seed=0):
    """fnflow.testing.check_grads in float64 with this file's tolerances."""
    return _check_grads(f, tuple(np.asarray(a, np.float64) for a in args), order=order, eps=eps, rtol=rtol, atol=atol)


def check_vmap(f, *args, in_axes=0):
    """vmap(f) against a Python loop over the mapped axis."""
    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
    n = next(np.shape(a)[ax] for a, ax in zip(args, axes) if ax is not None)
    got = ff.vmap(f, in_axes=in_axes)(*args)
    for i in range(n):
        one = f(*[a if ax is None else np.take(a, i, axis=ax) for a, ax in zip(args, axes)])
        for g, w in zip(_leaves(got), _leaves(one)):
            np.testing.assert_allclose(g[i], w, rtol=1e-9, atol=1e-10)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def wellcond(n, *lead, seed=0):
    """A random matrix (stack) with a comfortable condition number."""
    return rand(*lead, n, n, seed=seed) + 3 * n ** 0.5 * np.eye(n)


def spd(n, *lead, seed=0):
    a = rand(*lead, n, n, seed=seed)
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def sym(a):
    return (a + fnp.swapaxes(a, -1, -2)) / 2


def sym_np(a):
    return (a + np.swapaxes(a, -1, -2)) / 2


# ------------------------------------------------------------------ values


@pytest.mark.parametrize("lead", [(), (2,), (2, 3)])
def test_basic_values(lead):
    a = wellcond(4, *lead)
    np.testing.assert_allclose(LA.inv(a), np.linalg.inv(a), rtol=1e-10)
    np.testing.assert_allclose(LA.det(a), np.linalg.det(a), rtol=1e-10)
    s, ld = LA.slogdet(a - 6 * np.eye(4))
    s_np, ld_np = np.linalg.slogdet(a - 6 * np.eye(4))
    np.testing.assert_array_equal(s, s_np)
    np.testing.assert_allclose(ld, ld_np, rtol=1e-10)
    p = spd(4, *lead)
    np.testing.assert_allclose(LA.cholesky(p), np.linalg.cholesky(p), rtol=1e-10)
    np.testing.assert_allclose(LA.cholesky(p, upper=True), np.linalg.cholesky(p, upper=True), rtol=1e-10)
    w, v = LA.eigh(p)
    w_np, v_np = np.linalg.eigh(p)
    np.testing.assert_allclose(w, w_np, rtol=1e-10)
    np.testing.assert_allclose(np.abs(v), np.abs(v_np), atol=1e-8)
    np.testing.assert_allclose(LA.eigvalsh(a), np.linalg.eigvalsh(a), rtol=1e-10)  # reads the lower triangle
    np.testing.assert_allclose(LA.eigvalsh(a, "U"), np.linalg.eigvalsh(a, "U"), rtol=1e-10)
    np.testing.assert_allclose(LA.trace(a), np.linalg.trace(a), rtol=1e-12)


def test_slogdet_result_fields():
    r = LA.slogdet(-np.eye(3))
    assert isinstance(r, LA.SlogdetResult)
    assert float(r.sign) == -1.0 and float(r.logabsdet) == 0.0
    assert float(LA.det(np.ones((3, 3)))) == pytest.approx(0.0, abs=1e-12)
    e = LA.eigh(np.eye(2))
    assert e.eigenvalues.shape == (2,) and e.eigenvectors.shape == (2, 2)


@pytest.mark.parametrize("shape_b", [(4,), (4, 1), (4, 3), (2, 4, 3), (1, 4, 2)])
@pytest.mark.parametrize("lead", [(), (2,)])
def test_solve_values(shape_b, lead):
    a = wellcond(4, *lead)
    b = rand(*shape_b, seed=1)
    np.testing.assert_allclose(LA.solve(a, b), np.linalg.solve(a, b), rtol=1e-10)


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5), (2, 5, 3)])
def test_svd_values(shape):
    a = rand(*shape)
    for full in (False, True):
        u, s, vh = LA.svd(a, full_matrices=full)
        u_np, s_np, vh_np = np.linalg.svd(a, full_matrices=full)
        assert u.shape == u_np.shape and vh.shape == vh_np.shape
        np.testing.assert_allclose(s, s_np, rtol=1e-10)
    u, s, vh = LA.svd(a, full_matrices=False)
    np.testing.assert_allclose((u * s[..., None, :]) @ vh, a, atol=1e-10)
    np.testing.assert_allclose(LA.svd(a, compute_uv=False), s_np, rtol=1e-10)
    np.testing.assert_allclose(LA.svdvals(a), s_np, rtol=1e-10)
    np.testing.assert_allclose(LA.pinv(a), np.linalg.pinv(a), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(LA.matrix_rank(a), np.linalg.matrix_rank(a))
    np.testing.assert_allclose(LA.cond(a), np.linalg.cond(a), rtol=1e-10)


def test_rank_and_pinv_of_singular():
    a = np.outer(np.arange(1.0, 4.0), np.arange(1.0, 5.0))
    assert int(LA.matrix_rank(a)) == 1
    np.testing.assert_allclose(LA.pinv(a), np.linalg.pinv(a), atol=1e-12)
    assert int(LA.matrix_rank(np.zeros(3))) == 0 and int(LA.matrix_rank(np.ones(3))) == 1


@pytest.mark.parametrize("n", [-3, -1, 0, 1, 2, 5, 8])
def test_matrix_power(n):
    a = wellcond(3, 2) / 4
    np.testing.assert_allclose(LA.matrix_power(a, n), np.linalg.matrix_power(a, n), rtol=1e-9)


@pytest.mark.parametrize("ord", [None, 1, 2, np.inf, -np.inf, 0, 3, 0.5, -1.5])
@pytest.mark.parametrize("axis", [None, 0, -1, 1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_vector_norms(ord, axis, keepdims):
    x = rand(3, 4)
    if axis is None:
        x = x[0]
    np.testing.assert_allclose(LA.norm(x, ord, axis, keepdims), np.linalg.norm(x, ord, axis, keepdims), rtol=1e-10)


@pytest.mark.parametrize("ord", [None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf])
@pytest.mark.parametrize("axis", [None, (0, 1), (1, 0), (2, 0), (-1, -2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_matrix_norms(ord, axis, keepdims):
    x = rand(3, 4, 5)
    if axis is None:
        x = x[0]
    np.testing.assert_allclose(LA.norm(x, ord, axis, keepdims), np.linalg.norm(x, ord, axis, keepdims), rtol=1e-10)


def test_array_api_norms_and_extras():
    x = rand(2, 3, 4)
    np.testing.assert_allclose(LA.norm(x), np.linalg.norm(x))
    np.testing.assert_allclose(LA.vector_norm(x), np.linalg.vector_norm(x))
    np.testing.assert_allclose(LA.vector_norm(x, axis=(0, 2), ord=1, keepdims=True),
                               np.linalg.vector_norm(x, axis=(0, 2), ord=1, keepdims=True))
    for o in ("fro", "nuc", 1, 2, np.inf):
        np.testing.assert_allclose(LA.matrix_norm(x, ord=o), np.linalg.matrix_norm(x, ord=o), rtol=1e-10)
    for k in range(-4, 5):
        np.testing.assert_allclose(LA.diagonal(x, offset=k), np.linalg.diagonal(x, offset=k))
        np.testing.assert_allclose(LA.trace(x, offset=k), np.linalg.trace(x, offset=k))
    y = rand(2, 3, 4, seed=1)
    np.testing.assert_allclose(LA.vecdot(x, y), np.linalg.vecdot(x, y))
    np.testing.assert_allclose(LA.vecdot(x, y, axis=1), np.linalg.vecdot(x, y, axis=1))
    np.testing.assert_allclose(LA.cross(x[..., :3], y[..., 1:]), np.linalg.cross(x[..., :3], y[..., 1:]))
    np.testing.assert_allclose(LA.cross(x[:, :, :3], y[:, :, :3], axis=1), np.cross(x[:, :, :3], y[:, :, :3], axis=1))
    np.testing.assert_allclose(LA.outer(x[0, 0], y[0, 0]), np.linalg.outer(x[0, 0], y[0, 0]))
    np.testing.assert_allclose(LA.matmul(x, np.swapaxes(y, 1, 2)), np.linalg.matmul(x, np.swapaxes(y, 1, 2)))
    np.testing.assert_allclose(LA.matrix_transpose(x), np.linalg.matrix_transpose(x))
    np.testing.assert_allclose(LA.tensordot(x, y, ((1, 2), (1, 2))), np.linalg.tensordot(x, y, axes=((1, 2), (1, 2))))
    mats = [rand(3), rand(3, 4), rand(4, 2), rand(2)]
    np.testing.assert_allclose(LA.multi_dot(mats), np.linalg.multi_dot(mats))
    t = wellcond(6).reshape(6, 2, 3)
    np.testing.assert_allclose(LA.tensorinv(t, 1), np.linalg.tensorinv(t, 1), rtol=1e-9)
    np.testing.assert_allclose(LA.tensorsolve(t, rand(6)), np.linalg.tensorsolve(t, rand(6)), rtol=1e-9)


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("transpose_a", [False, True])
@pytest.mark.parametrize("left_side", [True, False])
def test_triangular_solve_values(lower, transpose_a, left_side):
    a = wellcond(4, 2)
    b = rand(2, 4, 3, seed=1) if left_side else rand(2, 3, 4, seed=1)
    t = np.tril(a) if lower else np.triu(a)
    op = np.swapaxes(t, -1, -2) if transpose_a else t
    want = np.linalg.solve(op, b) if left_side else np.swapaxes(
        np.linalg.solve(np.swapaxes(op, -1, -2), np.swapaxes(b, -1, -2)), -1, -2)
    got = M.triangular_solve(a, b, left_side=left_side, lower=lower, transpose_a=transpose_a)
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_float32_and_int_inputs():
    a = wellcond(3).astype(np.float32)
    assert LA.inv(a).dtype == np.float32 and LA.det(a).dtype == np.float32
    assert LA.norm(np.arange(3)).dtype == np.float32
    np.testing.assert_allclose(LA.det(np.array([[2, 1], [1, 3]])), 5.0, rtol=1e-6)


# --------------------------------------------------------- derivatives


GRAD_CASES = {
    "inv": (lambda a: LA.inv(a), [wellcond(3)]),
    "inv_stack": (lambda a: LA.inv(a), [wellcond(3, 2)]),
    "det": (lambda a: LA.det(a), [wellcond(3)]),
    "det_stack": (lambda a: LA.det(a), [wellcond(3, 2)]),
    "slogdet": (lambda a: LA.slogdet(a).logabsdet, [wellcond(3) - 5 * np.eye(3)]),
    "solve_mat": (lambda a, b: LA.solve(a, b), [wellcond(3), rand(3, 2, seed=1)]),
    "solve_vec": (lambda a, b: LA.solve(a, b), [wellcond(3), rand(3, seed=1)]),
    "solve_bcast": (lambda a, b: LA.solve(a, b), [wellcond(3), rand(2, 3, 2, seed=1)]),
    "cholesky": (lambda a: LA.cholesky(sym(a)), [spd(3)]),
    "cholesky_stack": (lambda a: LA.cholesky(sym(a)), [spd(3, 2)]),
    "eigvalsh": (lambda a: LA.eigvalsh(a), [spd(3)]),
    # eigenvectors have a free sign: test the sign-free projectors v_k v_k^T
    "eigh_vectors": (lambda a: fnp.einsum("...ik,...jk->...kij", *[LA.eigh(a).eigenvectors] * 2), [spd(3, 2)]),
    "svdvals_tall": (lambda a: LA.svdvals(a), [rand(4, 3)]),
    "svdvals_wide": (lambda a: LA.svdvals(a), [rand(2, 4)]),
    "svd_pairs_tall": (lambda a: _svd_pairs(a), [rand(4, 3)]),
    "svd_pairs_wide": (lambda a: _svd_pairs(a), [rand(3, 5)]),
    "svd_pairs_square": (lambda a: _svd_pairs(a, True), [rand(2, 3, 3)]),
    "pinv": (lambda a: LA.pinv(a), [rand(4, 3)]),
    "norm2": (lambda x: LA.norm(x), [rand(5)]),
    "norm_p3": (lambda x: LA.norm(x, 3), [rand(5)]),
    "norm_1": (lambda x: LA.norm(x, 1, axis=1), [rand(2, 5)]),
    "norm_fro": (lambda x: LA.norm(x, "fro", axis=(0, 2)), [rand(2, 3, 4)]),
    "norm_nuc": (lambda x: LA.norm(x, "nuc"), [rand(3, 4)]),
    "norm_spectral": (lambda x: LA.norm(x, 2), [rand(3, 4)]),
    "norm_inf_mat": (lambda x: LA.norm(x, np.inf), [rand(3, 4)]),
    "matrix_power": (lambda a: LA.matrix_power(a, 3), [rand(3, 3)]),
    "matrix_power_neg": (lambda a: LA.matrix_power(a, -2), [wellcond(3)]),
    "trace_diag": (lambda a: LA.trace(a, offset=1) + LA.diagonal(a, offset=-1).sum(), [rand(3, 4)]),
    "cross": (lambda x, y: LA.cross(x, y), [rand(2, 3), rand(2, 3, seed=1)]),
    "cond": (lambda a: LA.cond(a), [rand(3, 3)]),
    "tensorinv": (lambda a: LA.tensorinv(a, 1), [wellcond(4).reshape(4, 2, 2)]),
}


def _svd_pairs(a, full=False):
    u, s, vh = LA.svd(a, full_matrices=full)
    return s, fnp.einsum("...ik,...kj->...kij", u, vh)  # u_k v_k^T: free of the sign ambiguity


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_grads(name):
    f, args = GRAD_CASES[name]
    check_grads(f, args, order=2)


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("transpose_a", [False, True])
@pytest.mark.parametrize("left_side", [True, False])
def test_triangular_solve_grads(lower, transpose_a, left_side):
    a = wellcond(3)
    b = rand(3, 2, seed=1) if left_side else rand(2, 3, seed=1)
    check_grads(lambda a, b: M.triangular_solve(a, b, left_side=left_side, lower=lower, transpose_a=transpose_a),
                [a, b], order=2)


def test_grad_ignores_unread_triangle():
    a = spd(3)
    g = ff.grad(lambda a: M.triangular_solve(a, np.ones((3, 1))).sum())(a)
    assert np.all(np.triu(np.asarray(g), 1) == 0)
    g = ff.grad(lambda a: LA.eigvalsh(a, "U")[0])(a)
    assert np.all(np.tril(np.asarray(g), -1) == 0)


def test_cholesky_grad_matches_symmetrised_fd():
    a = spd(3)
    w = rand(3, 3, seed=2)
    g = np.asarray(ff.grad(lambda a: (LA.cholesky(a) * w).sum())(a))
    eps = 1e-6
    for i in range(3):
        for j in range(3):
            e = np.zeros((3, 3))
            e[i, j] = e[j, i] = eps
            fd = ((np.linalg.cholesky(a + e) * w).sum() - (np.linalg.cholesky(a - e) * w).sum()) / (2 * eps)
            np.testing.assert_allclose(g[i, j] + g[j, i] if i != j else g[i, i], fd, rtol=1e-5)


def test_det_grad_is_cofactor():
    a = wellcond(3)
    g = ff.grad(LA.det)(a)
    np.testing.assert_allclose(g, np.linalg.det(a) * np.linalg.inv(a).T, rtol=1e-10)
    h = ff.hessian(lambda a: LA.slogdet(a).logabsdet)(a)
    assert np.all(np.isfinite(h)) and h.shape == (3, 3, 3, 3)


def test_norm_gradient_at_zero_is_not_nan():
    z = np.zeros(4)
    for f in (lambda x: LA.norm(x), lambda x: LA.norm(x, 3), lambda x: LA.norm(x.reshape(2, 2), "fro"),
              lambda x: LA.vector_norm(x)):
        g = np.asarray(ff.grad(f)(z))
        np.testing.assert_array_equal(g, 0.0)
        h = np.asarray(ff.hessian(f)(z))
        assert np.all(np.isfinite(h))
    g = np.asarray(ff.grad(lambda x: LA.norm(x, 1))(z))
    np.testing.assert_array_equal(g, 0.0)


def test_svdvals_grad_with_repeated_values():
    # the values alone stay differentiable when singular values repeat (identity: all ones)
    g = ff.grad(lambda a: LA.norm(a, "nuc"))(np.eye(3))
    np.testing.assert_allclose(g, np.eye(3), atol=1e-12)
    g = ff.grad(lambda a: LA.eigvalsh(a).sum())(np.eye(3))
    np.testing.assert_allclose(g, np.eye(3), atol=1e-12)


# ------------------------------------------------------------------ vmap


VMAP_CASES = {
    "inv": (LA.inv, [wellcond(3, 4)], 0),
    "det": (LA.det, [wellcond(3, 4)], 0),
    "slogdet": (LA.slogdet, [wellcond(3, 4) - 5 * np.eye(3)], 0),
    "solve_both": (LA.solve, [wellcond(3, 4), rand(4, 3, 2, seed=1)], 0),
    "solve_vec": (LA.solve, [wellcond(3, 4), rand(4, 3, seed=1)], 0),
    "solve_a_only": (LA.solve, [wellcond(3, 4), rand(3, 2, seed=1)], (0, None)),
    "solve_b_only": (LA.solve, [wellcond(3), rand(3, 4, seed=1)], (None, 1)),
    "cholesky_axis1": (LA.cholesky, [np.moveaxis(spd(3, 4), 0, 1)], 1),
    "eigh": (lambda a: LA.eigh(a).eigenvalues, [spd(3, 4)], 0),
    "svd": (lambda a: _svd_pairs(a), [rand(4, 3, 2)], 0),
    "pinv": (LA.pinv, [rand(4, 3, 2)], 0),
    "norm": (lambda x: LA.norm(x, axis=-1), [rand(4, 2, 3)], 0),
    "norm_nuc": (lambda x: LA.norm(x, "nuc"), [rand(4, 2, 3)], 0),
    "matrix_power": (lambda a: LA.matrix_power(a, 3), [rand(4, 3, 3)], 0),
    "trace": (lambda a: LA.trace(a, offset=1), [rand(3, 4, 4)], 2),
    "tri_a_only": (lambda a, b: M.triangular_solve(a, b, lower=False), [wellcond(3, 4), rand(3, 2)], (0, None)),
    "tri_b_only": (lambda a, b: M.triangular_solve(a, b, left_side=False), [wellcond(3), rand(4, 2, 3)], (None, 0)),
    "grad_det": (ff.grad(LA.det), [wellcond(3, 4)], 0),
    "grad_logdet_cholesky": (ff.grad(lambda a: fnp.log(LA.diagonal(LA.cholesky(sym(a)))).sum()), [spd(3, 4)], 0),
}


@pytest.mark.parametrize("name", sorted(VMAP_CASES))
def test_vmap(name):
    f, args, axes = VMAP_CASES[name]
    check_vmap(f, *args, in_axes=axes)


def test_vmap_of_jvp_and_nested_vmap():
    a, t = wellcond(3, 2, 4), rand(2, 4, 3, 3, seed=3)
    got = ff.vmap(ff.vmap(lambda a, t: ff.jvp(LA.inv, (a,), (t,))[1]))(a, t)
    want = -np.linalg.inv(a) @ t @ np.linalg.inv(a)
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_graph_tracing_shapes():
    g = ff.make_graph(lambda a, b: LA.solve(a, b) + LA.inv(a) @ b)(wellcond(3), rand(3, 2))
    assert "solve" in str(g) and "inv" in str(g)
    out = ff.eval_shape(lambda a: LA.svd(a, full_matrices=False), ff.ShapeDtypeStruct((2, 5, 3), np.float64))
    assert [o.shape for o in out] == [(2, 5, 3), (2, 3), (2, 3, 3)]
    out = ff.eval_shape(LA.slogdet, ff.ShapeDtypeStruct((4, 3, 3), np.float32))
    assert out.sign.shape == (4,) and out.logabsdet.dtype == np.float32


# ------------------------------------------------------------------ errors


def test_shape_errors_name_the_function():
    with pytest.raises(ValueError, match="inv.*square"):
        LA.inv(np.ones((2, 3)))
    with pytest.raises(ValueError, match="det: expected a matrix"):
        LA.det(np.ones(3))
    with pytest.raises(ValueError, match="solve"):
        LA.solve(np.eye(3), np.ones(4))
    with pytest.raises(ValueError, match="solve"):
        LA.solve(np.eye(3), np.ones((2, 3)))
    with pytest.raises(ValueError, match="solve"):
        LA.solve(np.ones((3, 4)), np.ones(3))
    with pytest.raises(ValueError, match="solve"):
        LA.solve(np.eye(3)[None].repeat(2, 0), np.ones((3, 3, 1)))
    with pytest.raises(ValueError, match="cholesky.*square"):
        LA.cholesky(np.ones((2, 3)))
    with pytest.raises(ValueError, match="triangular_solve"):
        M.triangular_solve(np.eye(3), np.ones((2, 2)))
    with pytest.raises(ValueError, match="norm"):
        LA.norm(np.ones((2, 2, 2)), 2)
    with pytest.raises(ValueError, match="norm"):
        LA.norm(np.ones(3), "fro")
    with pytest.raises(ValueError, match="norm"):
        LA.norm(np.ones((2, 2)), 3)
    with pytest.raises(ValueError, match="eigh"):
        LA.eigh(np.eye(2), "X")
    with pytest.raises(TypeError, match="matrix_power"):
        LA.matrix_power(np.eye(2), 1.5)
    with pytest.raises(ValueError, match="svd"):
        ff.eval_shape(M.svd, ff.ShapeDtypeStruct((3,), np.float32))
    with pytest.raises(ValueError, match="inv"):
        ff.eval_shape(M.inv, ff.ShapeDtypeStruct((3, 2), np.float32))


def test_singular_errors_name_the_function():
    with pytest.raises(LA.LinAlgError, match="inv"):
        LA.inv(np.ones((3, 3)))
    with pytest.raises(LA.LinAlgError, match="solve"):
        LA.solve(np.zeros((2, 2)), np.ones(2))
    with pytest.raises(LA.LinAlgError, match="cholesky"):
        LA.cholesky(-np.eye(2))
    with pytest.raises(LA.LinAlgError, match="inv"):
        ff.vmap(LA.inv)(np.zeros((2, 3, 3)))


def test_svd_full_matrices_derivative_refused():
    with pytest.raises(NotImplementedError, match="full_matrices"):
        ff.jvp(lambda a: LA.svd(a)[0], (rand(3, 2),), (rand(3, 2),))


# ------------------------------------------------------------ hypothesis


@settings(derandomize=True, deadline=None, max_examples=8)
@given(n=st.integers(1, 4), k=st.integers(1, 3), lead=st.lists(st.integers(1, 2), max_size=2),
       seed=st.integers(0, 100))
def test_solve_property(n, k, lead, seed):
    a = wellcond(n, *lead, seed=seed)
    b = rand(*lead, n, k, seed=seed + 1)
    x = LA.solve(a, b)
    np.testing.assert_allclose(a @ np.asarray(x), b, atol=1e-9)
    g = ff.grad(lambda b: LA.solve(a, b).sum())(b)
    np.testing.assert_allclose(g, np.linalg.solve(np.swapaxes(a, -1, -2), np.ones_like(b)), rtol=1e-9)


# ----------------------------------------------- products (fnflow.numpy)


PRODUCT_CASES = {
    "matmul_2d": (fnp.matmul, np.matmul, [(3, 4), (4, 2)]),
    "matmul_vec_mat": (fnp.matmul, np.matmul, [(4,), (4, 2)]),
    "matmul_mat_vec": (fnp.matmul, np.matmul, [(3, 4), (4,)]),
    "matmul_vec_vec": (fnp.matmul, np.matmul, [(4,), (4,)]),
    "matmul_bcast": (fnp.matmul, np.matmul, [(2, 1, 3, 4), (5, 4, 2)]),
    "matmul_vec_stack": (fnp.matmul, np.matmul, [(4,), (2, 4, 3)]),
    "dot_2d": (fnp.dot, np.dot, [(3, 4), (4, 2)]),
    "dot_nd": (fnp.dot, np.dot, [(2, 3, 4), (5, 4, 2)]),
    "dot_nd_vec": (fnp.dot, np.dot, [(2, 3, 4), (4,)]),
    "dot_vec_nd": (fnp.dot, np.dot, [(4,), (2, 4, 3)]),
    "dot_scalar": (fnp.dot, np.dot, [(), (2, 3)]),
    "tensordot_int": (lambda a, b: fnp.tensordot(a, b, 2), lambda a, b: np.tensordot(a, b, 2), [(2, 3, 4), (3, 4, 5)]),
    "tensordot_axes": (lambda a, b: fnp.tensordot(a, b, ((0, 2), (2, 0))),
                       lambda a, b: np.tensordot(a, b, ((0, 2), (2, 0))), [(2, 3, 4), (4, 5, 2)]),
    "tensordot_0": (lambda a, b: fnp.tensordot(a, b, 0), lambda a, b: np.tensordot(a, b, 0), [(2,), (3,)]),
    "outer": (fnp.outer, np.outer, [(3,), (2, 2)]),
    "inner": (fnp.inner, np.inner, [(2, 3), (4, 3)]),
    "vdot": (fnp.vdot, np.vdot, [(2, 3), (3, 2)]),
    "kron": (fnp.kron, np.kron, [(2, 3), (3, 2)]),
    "kron_mixed_rank": (fnp.kron, np.kron, [(2,), (2, 3)]),
}


@pytest.mark.parametrize("name", sorted(PRODUCT_CASES))
def test_products(name):
    f, f_np, shapes = PRODUCT_CASES[name]
    args = [rand(*s, seed=i) for i, s in enumerate(shapes)]
    np.testing.assert_allclose(f(*args), f_np(*args), rtol=1e-10)
    check_grads(f, args, order=2)
    batched = [np.stack([a, 2 * a + 1]) for a in args]
    check_vmap(f, *batched)
    check_vmap(f, batched[0], args[1], in_axes=(0, None))


def test_product_errors():
    with pytest.raises(ValueError, match="matmul"):
        fnp.matmul(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="matmul"):
        fnp.matmul(np.ones(()), np.ones(3))
    with pytest.raises(ValueError, match="dot_general"):
        fnp.dot(np.ones((2, 3)), np.ones((2, 3)))


def test_numpy_functions_on_tracers_dispatch_here():
    a = wellcond(3)
    g = ff.grad(lambda a: np.linalg.det(a) + np.linalg.norm(a) + np.einsum("ii", np.linalg.inv(a)))(a)
    want = ff.grad(lambda a: LA.det(a) + LA.norm(a) + LA.trace(LA.inv(a)))(a)
    np.testing.assert_allclose(g, want, rtol=1e-12)
