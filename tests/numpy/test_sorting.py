"""Sorting ops (fnflow/ops/sort.py) and their fnflow.numpy facade (fnflow/numpy/_sorting.py)."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnflow as ff
import fnflow.numpy as fnp
from fnflow.core.errors import ConcretizationError
from fnflow.ops import sort as S
from fnflow.testing import check_grads

SETTINGS = settings(derandomize=True, deadline=None, max_examples=8)


def close(a, b, **kw):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), **kw)


def same(a, b):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@st.composite
def distinct_arrays(draw, min_dims=1, max_dims=3, max_side=4):
    """float64 arrays without ties (so the sorting permutation, and its derivative, is unique)."""
    shape = tuple(draw(st.lists(st.integers(1, max_side), min_size=min_dims, max_size=max_dims)))
    rng = np.random.RandomState(draw(st.integers(0, 2**31 - 1)))
    size = int(np.prod(shape))
    return (rng.permutation(size) + rng.uniform(0.2, 0.8, size)).reshape(shape) / size * 4 - 2


@st.composite
def tied_arrays(draw, min_dims=1, max_dims=3, max_side=5):
    """Small integers stored as floats: many ties, to check stability."""
    shape = tuple(draw(st.lists(st.integers(1, max_side), min_size=min_dims, max_size=max_dims)))
    rng = np.random.RandomState(draw(st.integers(0, 2**31 - 1)))
    return rng.randint(0, 3, size=shape).astype(np.float64)


def axes_of(x):
    return range(-x.ndim, x.ndim)


# ------------------------------------------------------------------ values


@SETTINGS
@given(tied_arrays())
def test_sort_and_argsort_match_numpy_stable(x):
    for ax in axes_of(x):
        same(fnp.sort(x, ax), np.sort(x, ax, kind="stable"))
        idx = fnp.argsort(x, ax)
        assert idx.dtype == np.int32
        same(idx, np.argsort(x, ax, kind="stable"))
    same(fnp.sort(x, None), np.sort(x, None))
    same(fnp.argsort(x, None), np.argsort(x, None, kind="stable"))


@SETTINGS
@given(tied_arrays())
def test_descending_is_stable(x):
    for ax in axes_of(x):
        # stable descending order == stable ascending order of the negated keys
        same(fnp.argsort(x, ax, descending=True), np.argsort(-x, ax, kind="stable"))
        same(fnp.sort(x, ax, descending=True), -np.sort(-x, ax))


def test_sort_nan_last_and_ints():
    x = np.array([3.0, np.nan, -np.inf, 1.0, np.inf, np.nan])
    same(fnp.sort(x), np.sort(x))
    same(fnp.argsort(x), np.argsort(x, kind="stable"))
    same(fnp.sort(x, descending=True)[2:], [np.inf, 3.0, 1.0, -np.inf])
    xi = np.array([[3, 1, 2], [0, 0, -5]], np.int32)
    out = fnp.sort(xi, axis=0)
    assert out.dtype == np.int32
    same(out, np.sort(xi, 0))
    same(fnp.sort([True, False, True]), [False, True, True])


def test_sort_errors():
    with pytest.raises(ValueError, match="sort"):
        fnp.sort(np.float32(1.0))
    with pytest.raises(ValueError, match="sort"):
        S.sort((np.zeros(3), np.zeros(4)))
    with pytest.raises(ValueError, match="axis 2"):
        fnp.sort(np.zeros((2, 2)), axis=2)
    with pytest.raises(NotImplementedError, match="order"):
        fnp.sort(np.zeros(2), order="f")


def test_multi_operand_sort_and_lexsort():
    k1 = np.array([1, 0, 1, 0, 1, 0])
    k2 = np.array([2.0, 2.0, 1.0, 1.0, 2.0, 0.0])
    v = np.arange(6.0) * 10
    o1, o2, ov = S.sort((k1, k2, v), num_keys=2)
    order = np.lexsort((k2, k1))  # k1 primary
    same(o1, k1[order])
    same(o2, k2[order])
    same(ov, v[order])
    same(fnp.lexsort((k2, k1)), order)
    keys = np.array([[1, 5, 1, 4, 3, 4, 4], [9, 4, 0, 4, 0, 2, 1]])
    same(fnp.lexsort(keys), np.lexsort(keys))
    k = np.random.RandomState(0).randint(0, 2, (3, 4, 5))
    for ax in (0, 1, -1):
        same(fnp.lexsort([k[0], k[1], k[2]], axis=ax), np.lexsort(k, axis=ax))
    sk, sv = S.sort_key_val(np.array([3.0, 1.0, 2.0]), np.array([0, 1, 2]))
    same(sk, [1, 2, 3])
    same(sv, [1, 2, 0])


def test_top_k():
    x = np.array([[1.0, 5.0, 3.0, 5.0, -1.0], [0.0, 0.0, 0.0, 2.0, 1.0]])
    vals, idx = S.top_k(x, 3)
    same(vals, [[5, 5, 3], [2, 1, 0]])
    same(idx, [[1, 3, 2], [3, 4, 0]])  # ties: lower index first
    assert idx.dtype == np.int32
    v0, i0 = S.top_k(x, 0)
    assert v0.shape == (2, 0) and i0.shape == (2, 0)
    with pytest.raises(ValueError, match="top_k"):
        S.top_k(x, 6)


def test_partition_contract():
    x = np.random.RandomState(1).randn(4, 7)
    for kth in (0, 3, 6, -1):
        p = np.asarray(fnp.partition(x, kth, axis=1))
        same(p[:, kth], np.partition(x, kth, axis=1)[:, kth])
        ip = np.asarray(fnp.argpartition(x, kth, axis=1))
        same(np.take_along_axis(x, ip, 1)[:, kth], np.partition(x, kth, axis=1)[:, kth])
    with pytest.raises(ValueError, match="kth"):
        fnp.partition(x, 7)


def test_sort_complex():
    z = np.array([1 + 2j, 1 - 1j, -3 + 0j, 1 + 0j])
    same(fnp.sort_complex(z), np.sort_complex(z))
    assert fnp.sort_complex(np.array([3.0, 1.0])).dtype == np.complex128


def test_numpy_protocols_and_methods():
    x = np.array([[3.0, 1.0, 2.0], [0.0, -1.0, 5.0]])
    out = ff.vmap(lambda r: np.sort(r))(x)  # numpy's own sort on a tracer
    same(out, np.sort(x, -1))
    out = ff.vmap(lambda r: r.argsort())(x)
    same(out, np.argsort(x, -1))


# ------------------------------------------------------------ searchsorted


@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted_matches_numpy(side):
    a = np.array([-np.inf, 0.0, 1.0, 1.0, 2.5, np.nan])
    v = np.array([[-np.inf, -1.0, 0.0, 1.0], [1.5, 2.5, 9.0, np.nan]])
    out = fnp.searchsorted(a, v, side=side)
    assert out.dtype == np.int32 and out.shape == v.shape
    same(out, np.searchsorted(a, v, side=side))
    same(fnp.searchsorted(a, 1.0, side=side), np.searchsorted(a, 1.0, side=side))
    b = np.array([3.0, 1.0, 2.0, 0.0])
    sorter = np.argsort(b)
    same(fnp.searchsorted(b, [0.5, 2.0, 3.5], side=side, sorter=sorter),
         np.searchsorted(b, [0.5, 2.0, 3.5], side=side, sorter=sorter))
    same(fnp.searchsorted(np.arange(5), [2, 7], side=side), np.searchsorted(np.arange(5), [2, 7], side=side))
    with pytest.raises(ValueError, match="1-D"):
        fnp.searchsorted(np.zeros((2, 2)), 1.0)


def test_searchsorted_vmap_and_grad():
    rng = np.random.RandomState(2)
    A = np.sort(rng.randn(3, 5), -1)
    V = rng.randn(3, 4)
    want = np.stack([np.searchsorted(A[i], V[i]) for i in range(3)])
    same(ff.vmap(fnp.searchsorted)(A, V), want)
    same(ff.vmap(fnp.searchsorted, in_axes=(None, 0))(A[0], V), np.searchsorted(A[0], V))
    same(ff.vmap(fnp.searchsorted, in_axes=(0, None))(A, V[0]), np.stack([np.searchsorted(r, V[0]) for r in A]))
    same(ff.vmap(fnp.searchsorted, in_axes=(None, 1))(A[0], V), np.searchsorted(A[0], V.T))

    # piecewise constant: no derivative through the result
    def f(a):
        return fnp.sum(a) * fnp.sum(fnp.astype(fnp.searchsorted(a, V[0]), a.dtype))

    close(ff.grad(f)(A[0]), np.full(5, np.searchsorted(A[0], V[0]).sum(), float))


# -------------------------------------------------------- derivatives


@SETTINGS
@given(distinct_arrays())
def test_sort_grads(x):
    for ax in axes_of(x):
        check_grads(lambda x: S.sort(x, ax), (x,), order=2)
        check_grads(lambda x: S.sort(x, ax, descending=True), (x,), order=2)
    check_grads(lambda x: fnp.sort(x, None), (x,), order=2)


@SETTINGS
@given(distinct_arrays(max_dims=2))
def test_multi_operand_sort_grads(x):
    rng = np.random.RandomState(0)
    v = rng.randn(*x.shape)
    # keys and values both carry tangents; the values are permuted like the keys
    check_grads(lambda k, v: S.sort((k, v)), (x, v), order=2)
    check_grads(lambda v: S.sort((x, v))[1], (v,), order=3)
    check_grads(lambda x: S.top_k(x, 1)[0], (x,), order=2)


def test_sort_jacobian_is_the_permutation():
    x = np.array([0.3, -1.0, 2.0, 0.1])
    perm = np.argsort(x)
    eye = np.eye(4)[perm]
    close(ff.jacfwd(S.sort)(x), eye)
    close(ff.jacrev(S.sort)(x), eye)
    close(ff.jacrev(lambda x: S.sort(x, descending=True))(x), np.eye(4)[perm[::-1]])
    vals, idx = S.top_k(x, 2)
    close(ff.jacrev(lambda x: S.top_k(x, 2)[0])(x), np.eye(4)[[2, 0]])
    # the second derivative of a piecewise-linear function is zero
    close(ff.hessian(lambda x: fnp.sum(S.sort(x) * np.arange(4.0)))(x), np.zeros((4, 4)))


def test_sort_grad_under_jvp_of_grad_and_vmap():
    rng = np.random.RandomState(3)
    X = rng.randn(3, 5)
    w = np.arange(5.0)

    def f(x):
        return fnp.sum(S.sort(x) ** 3 * w)

    g = ff.vmap(ff.grad(f))(X)
    for i in range(3):
        close(g[i], ff.grad(f)(X[i]))
        order = np.argsort(X[i])
        want = np.zeros(5)
        want[order] = 3 * np.sort(X[i]) ** 2 * w
        close(g[i], want)
    h = ff.vmap(ff.hessian(f))(X)
    for i in range(3):
        close(h[i], ff.hessian(f)(X[i]))


# ------------------------------------------------------------------ vmap


@SETTINGS
@given(tied_arrays(min_dims=2))
def test_vmap_matches_loop(x):
    for in_ax in range(x.ndim):
        rows = [np.take(x, i, axis=in_ax) for i in range(x.shape[in_ax])]
        for ax in range(x.ndim - 1):
            same(ff.vmap(lambda r: fnp.sort(r, ax), in_axes=in_ax)(x), np.stack([np.sort(r, ax) for r in rows]))
            same(ff.vmap(lambda r: fnp.argsort(r, ax, descending=True), in_axes=in_ax)(x),
                 np.stack([np.argsort(-r, ax, kind="stable") for r in rows]))
        same(ff.vmap(lambda r: S.top_k(r, 1)[1], in_axes=in_ax)(x),
             np.stack([np.argsort(-r, -1, kind="stable")[..., :1] for r in rows]))
        close(ff.vmap(lambda r: fnp.median(r, axis=0), in_axes=in_ax)(x), np.stack([np.median(r, 0) for r in rows]))


def test_vmap_multi_operand_with_unbatched_operand():
    keys = np.array([[2.0, 0.0, 1.0], [0.0, 1.0, 2.0]])
    vals = np.array([10.0, 20.0, 30.0])
    out = ff.vmap(lambda k: S.sort((k, vals))[1])(keys)
    same(out, [[20, 30, 10], [10, 20, 30]])
    out = ff.vmap(lambda v: S.sort((keys[0], v))[1])(np.stack([vals, -vals]))
    same(out, [[20, 30, 10], [-20, -30, -10]])


# ----------------------------------------------------------------- unique


def test_unique_matches_numpy():
    x = np.array([[3, 1, 3], [2, 1, 7]])
    got = fnp.unique(x, return_index=True, return_inverse=True, return_counts=True)
    want = np.unique(x, return_index=True, return_inverse=True, return_counts=True)
    for g, w in zip(got, want):
        same(g, w)
    assert got[0].dtype == x.dtype and got[1].dtype == np.int32
    same(fnp.unique([3, 1, 3]), [1, 3])
    m = np.array([[1, 0], [0, 1], [1, 0]])
    same(fnp.unique(m, axis=0), np.unique(m, axis=0))
    f = np.array([1.0, np.nan, np.nan, 0.0])
    same(fnp.unique(f), np.unique(f))


def test_unique_size_and_fill():
    x = np.array([3.0, 1.0, 3.0])
    same(fnp.unique(x, size=4), [1, 3, 1, 1])  # padded with the smallest value, as JAX
    same(fnp.unique(x, size=4, fill_value=-1), [1, 3, -1, -1])
    same(fnp.unique(x, size=1), [1])
    vals, counts = fnp.unique(x, size=3, return_counts=True)
    same(counts, [1, 2, 0])


def test_unique_grad_and_tracing_error():
    x = np.array([3.0, 1.0, 3.0, 2.0])
    g = ff.grad(lambda x: fnp.sum(fnp.unique(x) * np.array([1.0, 10.0, 100.0])))(x)
    same(g, [100, 1, 0, 10])  # the first occurrence of each value carries the gradient
    with pytest.raises(ConcretizationError, match="unique"):
        ff.vmap(fnp.unique)(np.ones((2, 3)))


# -------------------------------------------------------- order statistics


@pytest.mark.parametrize("method", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantile_matches_numpy(method):
    a = np.random.RandomState(4).randn(3, 4, 5)
    for ax in (None, 0, 1, -1, (0, 2)):
        for q in (0.3, 0.5, [0.0, 0.25, 1.0], [[0.1], [0.9]]):
            for kd in (False, True):
                got = fnp.quantile(a, q, axis=ax, method=method, keepdims=kd)
                want = np.quantile(a, q, axis=ax, method=method, keepdims=kd)
                assert got.shape == want.shape
                close(got, want, rtol=1e-12, atol=1e-12)
    close(fnp.percentile(a, [10, 50, 90], axis=1, method=method),
          np.percentile(a, [10, 50, 90], axis=1, method=method), rtol=1e-12)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # inf - inf in an unused branch
def test_median_values_dtypes_and_nans():
    assert fnp.median(np.arange(5)) == 2.0
    assert fnp.median(np.arange(4, dtype=np.int32)).dtype == np.float32
    x32 = np.array([1.0, 4.0, 2.0, 8.0], np.float32)
    out = fnp.median(x32)
    assert out.dtype == np.float32 and out == 3.0
    b = np.random.RandomState(5).randn(3, 4, 5)
    b[0, 1, 2] = np.nan
    b[1, :, 3] = np.nan
    close(fnp.median(b, axis=1), np.median(b, axis=1))
    close(fnp.quantile(b, [0.2, 0.7], axis=(0, 1)), np.quantile(b, [0.2, 0.7], axis=(0, 1)))
    with warnings.catch_warnings():  # NumPy warns about the all-NaN slices
        warnings.simplefilter("ignore", RuntimeWarning)
        want = np.nanmedian(b, axis=1)
    close(fnp.nanmedian(b, axis=1), want)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = np.nanpercentile(b, [10, 90], axis=(0, 1))
    close(fnp.nanpercentile(b, [10, 90], axis=(0, 1)), want)
    c = np.array([1.0, np.inf, 3.0])
    close(fnp.median(c), np.median(c))
    close(fnp.quantile(c, [0, 1]), np.quantile(c, [0, 1]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fnp.quantile(c, 1.5)
    with pytest.raises(ValueError, match=r"\[0, 100\]"):
        fnp.percentile(c, -1)


@SETTINGS
@given(distinct_arrays(max_dims=2, max_side=5))
def test_quantile_grads(x):
    check_grads(lambda x: fnp.median(x), (x,), order=2)
    check_grads(lambda x: fnp.quantile(x, [0.13, 0.5, 0.77], axis=-1), (x,), order=2)
    check_grads(lambda x: fnp.percentile(x, 40, axis=0, method="midpoint"), (x,), order=2)
    check_grads(lambda x: fnp.nanquantile(x, 0.3, axis=-1), (x,), order=1)
    if x.size > 1:  # in q too, away from the knots k / (n - 1)
        n = x.size
        check_grads(lambda q: fnp.quantile(x, q), (np.array([0.5 / (n - 1), 0.3 / (n - 1)]),), order=2)


def test_quantile_traced_q_under_vmap():
    a = np.random.RandomState(6).randn(7)
    qs = np.array([0.1, 0.5, 0.93])
    close(ff.vmap(lambda q: fnp.quantile(a, q))(qs), np.quantile(a, qs))
