"""fnflow/numpy/_extras.py: NumPy's comparisons, NaN-aware reductions, differences, statistics, binning,
interpolation and polynomials — values against NumPy, derivatives, and agreement under jit and vmap."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnflow as ff
import fnflow.numpy as fnp
from fnflow.numpy import NonConcreteBooleanIndexError
from fnflow.testing import check_grads

SETTINGS = settings(derandomize=True, deadline=None, max_examples=8)


def close(got, want, **kw):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got.astype(float), want.astype(float), equal_nan=True, **kw)


def rng(seed=0):
    return np.random.default_rng(seed)


def R(*shape, seed=0):
    return rng(seed).normal(size=shape)


def with_nans(shape, seed=0):
    x = R(*shape, seed=seed)
    x.flat[:: 3] = np.nan
    return x


@st.composite
def nan_arrays(draw, max_dims=3):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=max_dims)))
    r = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    x = r.normal(size=shape)
    x[r.uniform(size=shape) < 0.3] = np.nan
    return x


# ------------------------------------------------------------- values (fixed)

X = R(3, 5, seed=1)
Y = R(4, 5, 6, seed=2)
XS = np.linspace(0, 1, 10)
COORD = np.cumsum(rng(3).uniform(0.1, 1, 5))
NANX = with_nans((3, 5), 4)
NANX_ALL = NANX.copy()
NANX_ALL[2] = np.nan
XP, FP = np.sort(R(6, seed=5)), R(6, seed=6)
XQ = R(3, 4, seed=7) * 2
W5 = rng(8).uniform(0.2, 1, 5)
FW5 = np.array([1, 2, 1, 3, 1])
A3, B3, B2 = R(4, 3, seed=9), R(4, 3, seed=10), R(4, 2, seed=11)
HD = R(50, seed=12)
PH = (np.cumsum(R(20, seed=13) * 2) + np.pi) % (2 * np.pi) - np.pi

# (id, fnflow call, NumPy call): the same arguments, the same result
VALUE_CASES = [
    ("isclose", lambda m: m.isclose([1, np.inf, np.nan, np.inf, 1e-9, -np.inf], [1 + 1e-6, np.inf, np.nan, -np.inf,
                                                                               0, 3.0])),
    ("isclose_equal_nan", lambda m: m.isclose([1.0, np.nan, np.inf], [1.0, np.nan, np.inf], equal_nan=True)),
    ("isclose_tol", lambda m: m.isclose(X, X + 1e-3, rtol=0, atol=2e-3)),
    ("allclose", lambda m: m.allclose(X, X + 1e-9)),
    ("allclose_false", lambda m: m.allclose(X, X + 1e-3)),
    ("array_equal", lambda m: m.array_equal(X, X)),
    ("array_equal_shape", lambda m: m.array_equal(X, X[:1])),
    ("array_equal_nan", lambda m: m.array_equal(NANX, NANX, equal_nan=True)),
    ("array_equiv", lambda m: m.array_equiv(X[:1], np.ones((3, 1)) * X[:1])),
    ("array_equiv_no", lambda m: m.array_equiv(X, X[:2])),
    ("append_flat", lambda m: m.append(X, [1.0, 2.0])),
    ("append_axis", lambda m: m.append(X, X[:1], axis=0)),
    ("bincount", lambda m: m.bincount(np.array([0, 1, 1, 3, 1]))),
    ("bincount_weights", lambda m: m.bincount(np.array([0, 1, 1, 3]), weights=np.array([.5, 1, 2, 3]), minlength=6)),
    ("choose", lambda m: m.choose(np.array([[0, 1], [2, 1]]), [np.ones(2), 2 * np.ones((2, 2)), np.arange(2.0)])),
    ("choose_wrap", lambda m: m.choose(np.array([0, 4, -1]), [np.arange(3.0), 10 + np.arange(3.0)], mode="wrap")),
    ("choose_clip", lambda m: m.choose(np.array([0, 4, -1]), [np.arange(3.0), 10 + np.arange(3.0)], mode="clip")),
    ("choose_array", lambda m: m.choose(np.array([0, 1, 0]), np.arange(6.0).reshape(2, 3))),
    ("copy", lambda m: m.copy(X)),
    ("cov", lambda m: m.cov(X)),
    ("cov_rowvar", lambda m: m.cov(X, rowvar=False)),
    ("cov_y", lambda m: m.cov(X[0], X[1])),
    ("cov_bias", lambda m: m.cov(X, bias=True)),
    ("cov_ddof", lambda m: m.cov(X, ddof=3)),
    ("cov_weights", lambda m: m.cov(X, fweights=FW5, aweights=W5)),
    ("cov_weights_ddof0", lambda m: m.cov(X, fweights=FW5, aweights=W5, ddof=0)),
    ("cov_fweights", lambda m: m.cov(X, fweights=FW5)),
    ("cov_1d", lambda m: m.cov(X[0])),
    ("corrcoef", lambda m: m.corrcoef(X)),
    ("corrcoef_y", lambda m: m.corrcoef(X[0], X[1])),
    ("corrcoef_1d", lambda m: m.corrcoef(X[0])),
    ("cross", lambda m: m.cross(A3, B3)),
    ("cross_32", lambda m: m.cross(A3, B2)),
    ("cross_23", lambda m: m.cross(B2, A3)),
    ("cross_axes", lambda m: m.cross(A3.T, B3.T, axisa=0, axisb=0)),
    ("cross_axisc", lambda m: m.cross(A3, B3, axisc=0)),
    ("cross_axis", lambda m: m.cross(A3.T, B3.T, axis=0)),
    ("diff", lambda m: m.diff(X)),
    ("diff_n2_axis0", lambda m: m.diff(Y, 2, axis=0)),
    ("diff_prepend_append", lambda m: m.diff(X, axis=0, prepend=0.0, append=X[:1])),
    ("diff_bool", lambda m: m.diff(X > 0)),
    ("diff_int", lambda m: m.diff(np.array([1, 4, 9, 16]))),
    ("ediff1d", lambda m: m.ediff1d(X, to_end=[1.0, 2.0], to_begin=5.0)),
    ("digitize", lambda m: m.digitize(X, np.array([-1, 0, 0.5, 1.0]))),
    ("digitize_right", lambda m: m.digitize(X, np.array([-1, 0, 0.5, 1.0]), right=True)),
    ("digitize_decreasing", lambda m: m.digitize(X, np.array([1, 0.5, 0, -1.0]))),
    ("digitize_decreasing_right", lambda m: m.digitize(X, np.array([1, 0.5, 0, -1.0]), right=True)),
    ("fmax", lambda m: m.fmax([1, np.nan, 3, np.nan], [2, 1, np.nan, np.nan])),
    ("fmin", lambda m: m.fmin([1, np.nan, 3, np.nan], [2, 1, np.nan, np.nan])),
    ("gradient_1d", lambda m: m.gradient(np.arange(6.0) ** 2)),
    ("gradient_axis1", lambda m: m.gradient(Y, axis=1)),
    ("gradient_spacing", lambda m: m.gradient(Y, 0.5, axis=2)),
    ("gradient_edge2", lambda m: m.gradient(Y, 0.5, axis=1, edge_order=2)),
    ("gradient_coord", lambda m: m.gradient(Y, COORD, axis=1)),
    ("gradient_coord_edge2", lambda m: m.gradient(Y, COORD, axis=1, edge_order=2)),
    ("gradient_int", lambda m: m.gradient(np.array([1, 4, 9, 16, 25]))),
    ("histogram", lambda m: m.histogram(HD)),
    ("histogram_range", lambda m: m.histogram(HD, 5, range=(-1, 1))),
    ("histogram_edges", lambda m: m.histogram(HD, np.array([-2, -1, 0, 0.3, 2.0]))),
    ("histogram_density", lambda m: m.histogram(HD, 6, density=True)),
    ("histogram_weights", lambda m: m.histogram(HD, 4, range=(-1.5, 1), weights=np.abs(HD))),
    ("histogram_constant", lambda m: m.histogram(np.ones(4), 3)),
    ("indices", lambda m: m.indices((2, 3))),
    ("interp", lambda m: m.interp(XQ, XP, FP)),
    ("interp_left_right", lambda m: m.interp(XQ, XP, FP, left=-5.0, right=5.0)),
    ("interp_knots", lambda m: m.interp(XP, XP, FP)),
    ("interp_period", lambda m: m.interp(XQ, XP, FP, period=2.0)),
    ("interp_one_point", lambda m: m.interp(XQ, XP[:1], FP[:1])),
    ("isin", lambda m: m.isin(np.arange(6).reshape(2, 3), [1, 4, 7])),
    ("isin_invert", lambda m: m.isin(np.arange(6).reshape(2, 3), np.array([[1], [4]]), invert=True)),
    ("ldexp", lambda m: m.ldexp(X, np.arange(5))),
    ("ldexp_negative", lambda m: m.ldexp(np.array([1.0, 3.0]), np.array([-2, 3]))),
    ("nanargmax", lambda m: m.nanargmax(NANX, axis=1)),
    ("nanargmin_flat", lambda m: m.nanargmin(NANX)),
    ("nancumsum", lambda m: m.nancumsum(NANX, axis=1)),
    ("nancumprod", lambda m: m.nancumprod(NANX)),
    ("nanprod", lambda m: m.nanprod(NANX, axis=0)),
    ("nanvar_ddof", lambda m: m.nanvar(NANX_ALL, axis=1, ddof=1)),
    ("nanstd_keepdims", lambda m: m.nanstd(NANX, axis=0, keepdims=True)),
    ("polyval", lambda m: m.polyval([1.0, 2, 3], X)),
    ("polyval_scalar", lambda m: m.polyval(np.array([3.0, 0, 1]), 2.0)),
    ("polyfit", lambda m: m.polyfit(XS, np.stack([XS ** 2, np.sin(XS)], 1), 3)),
    ("polyfit_w", lambda m: m.polyfit(XS, np.sin(XS), 2, w=XS + 1)),
    ("select", lambda m: m.select([X < 0, X > 0.5], [X, X ** 2], -1.0)),
    ("select_broadcast", lambda m: m.select([X[0] < 0], [2.0], X)),
    ("trapezoid", lambda m: m.trapezoid(Y)),
    ("trapezoid_x", lambda m: m.trapezoid(Y, COORD, axis=1)),
    ("trapezoid_dx", lambda m: m.trapezoid(Y, dx=0.3, axis=0)),
    ("vander", lambda m: m.vander(XS[:4])),
    ("vander_n_increasing", lambda m: m.vander(XS[:4], 3, increasing=True)),
    ("unwrap", lambda m: m.unwrap(PH)),
    ("unwrap_discont", lambda m: m.unwrap(PH, discont=4.0)),
    ("unwrap_period", lambda m: m.unwrap(np.array([0, 5, 10, 3, 8.0]), period=6)),
    ("tril_indices_from", lambda m: m.tril_indices_from(np.ones((3, 4)), 1)),
    ("triu_indices_from", lambda m: m.triu_indices_from(np.ones((4, 3)), -1)),
]


@pytest.mark.parametrize("case", VALUE_CASES, ids=[c[0] for c in VALUE_CASES])
def test_values_match_numpy(case):
    _, call = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy warns on all-NaN slices
        warnings.simplefilter("ignore", DeprecationWarning)  # and on 2-element vectors in cross
        want = call(np)
    got = call(fnp)
    if isinstance(want, (tuple, list)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            close(g, w, rtol=1e-6, atol=1e-9)
    else:
        close(got, want, rtol=1e-6, atol=1e-9)


def test_trapz_alias_and_meshgrid():
    assert fnp.trapz is fnp.trapezoid
    for indexing in ("xy", "ij"):
        for sparse in (False, True):
            args = (np.arange(3), np.arange(4.0), np.arange(2))
            got = fnp.meshgrid(*args, indexing=indexing, sparse=sparse)
            want = np.meshgrid(*args, indexing=indexing, sparse=sparse)
            assert len(got) == len(want)
            for g, w in zip(got, want):
                close(g, w)


def test_dsplit_and_put_along_axis():
    a = np.arange(16.0).reshape(2, 2, 4)
    for g, w in zip(fnp.dsplit(a, 2), np.dsplit(a, 2)):
        close(g, w)
    for g, w in zip(fnp.dsplit(a, [1, 3]), np.dsplit(a, [1, 3])):
        close(g, w)
    arr = R(3, 4)
    idx = np.argsort(arr, 1)[:, :2]
    vals = np.arange(6.0).reshape(3, 2)
    want = arr.copy()
    np.put_along_axis(want, idx, vals, 1)
    close(fnp.put_along_axis(arr, idx, vals, 1, inplace=False), want)
    want = arr.copy()
    np.put_along_axis(want, np.array([[1, 0, 2, -1]]), 9.0, 0)
    close(fnp.put_along_axis(arr, np.array([[1, 0, 2, -1]]), 9.0, 0, inplace=False), want)
    want = arr.copy()
    np.put_along_axis(want, np.array([0, 5]), 7.0, None)
    close(fnp.put_along_axis(arr, np.array([0, 5]), 7.0, None, inplace=False), want)


def test_results_are_fnflow_arrays_and_dtypes():
    assert isinstance(fnp.nansum(NANX), ff.Array)
    assert fnp.bincount(np.array([0, 2])).dtype == np.int32
    assert fnp.bincount(np.array([0, 2]), weights=np.ones(2)).dtype == np.float64
    assert fnp.histogram(HD.astype(np.float32), 4)[1].dtype == np.float32
    assert fnp.gradient(np.arange(4)).dtype == np.float32  # integers take fnflow's float default
    assert fnp.allclose(1.0, 1.0 + 1e-9).dtype == np.bool_
    assert fnp.isclose(np.float32(1), np.float32(1)).dtype == np.bool_


# --------------------------------------------------------- values (hypothesis)


@SETTINGS
@given(nan_arrays(), st.integers(-1, 2), st.booleans())
def test_nan_reductions_match_numpy(x, axis, keepdims):
    axis = None if axis == 2 or axis >= x.ndim else axis
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for name in ("nansum", "nanprod", "nanmax", "nanmin", "nanmean", "nanvar", "nanstd"):
            close(getattr(fnp, name)(x, axis=axis, keepdims=keepdims),
                  getattr(np, name)(x, axis=axis, keepdims=keepdims), rtol=1e-7, atol=1e-12, err_msg=name)
        for name in ("nancumsum", "nancumprod"):
            close(getattr(fnp, name)(x, axis=axis), getattr(np, name)(x, axis=axis), rtol=1e-7, err_msg=name)


@SETTINGS
@given(nan_arrays(max_dims=2), st.floats(-1, 1), st.booleans())
def test_isclose_fmax_fmin_match_numpy(x, shift, equal_nan):
    y = np.where(np.isnan(x), x, x + shift * 1e-5)
    y[..., :1] = np.inf
    close(fnp.isclose(x, y, equal_nan=equal_nan), np.isclose(x, y, equal_nan=equal_nan))
    y2 = np.roll(x, 1)
    close(fnp.fmax(x, y2), np.fmax(x, y2))
    close(fnp.fmin(x, y2), np.fmin(x, y2))


@SETTINGS
@given(st.integers(1, 7), st.integers(1, 7), st.sampled_from(["full", "same", "valid"]), st.integers(0, 2**31 - 1))
def test_convolve_correlate_match_numpy(n, m, mode, seed):
    a, v = rng(seed).normal(size=n), rng(seed + 1).normal(size=m)
    close(fnp.convolve(a, v, mode), np.convolve(a, v, mode), rtol=1e-10, atol=1e-12)
    close(fnp.correlate(a, v, mode), np.correlate(a, v, mode), rtol=1e-10, atol=1e-12)


def test_convolve_integers_stay_integers():
    got = fnp.convolve(np.array([1, 2, 3], np.int32), np.array([0, 1], np.int32))
    assert got.dtype == np.int32
    close(got, np.convolve([1, 2, 3], [0, 1]))


@SETTINGS
@given(st.lists(st.integers(2, 5), min_size=1, max_size=3), st.integers(1, 2), st.integers(0, 2**31 - 1),
       st.floats(0.1, 3))
def test_gradient_diff_match_numpy(shape, edge_order, seed, h):
    f = rng(seed).normal(size=shape)
    if min(shape) <= edge_order:
        with pytest.raises(ValueError, match="too small"):
            fnp.gradient(f, edge_order=edge_order)
        return
    got, want = fnp.gradient(f, h, edge_order=edge_order), np.gradient(f, h, edge_order=edge_order)
    for g, w in zip(got if f.ndim > 1 else [got], want if f.ndim > 1 else [want]):
        close(g, w, rtol=1e-9, atol=1e-12)
    for n in range(3):
        close(fnp.diff(f, n, axis=0), np.diff(f, n, axis=0))


@SETTINGS
@given(st.integers(0, 2**31 - 1), st.integers(1, 6), st.booleans())
def test_interp_histogram_bincount_match_numpy(seed, nbins, use_range):
    r = rng(seed)
    xp = np.sort(r.normal(size=5))
    fp = r.normal(size=5)
    x = np.concatenate([r.normal(size=6) * 2, xp])
    close(fnp.interp(x, xp, fp), np.interp(x, xp, fp), rtol=1e-10, atol=1e-12)
    rg = (-1.0, 1.0) if use_range else None
    got, want = fnp.histogram(x, nbins, range=rg), np.histogram(x, nbins, range=rg)
    close(got[0], want[0])
    close(got[1], want[1])
    counts = r.integers(0, 6, size=8)
    close(fnp.bincount(counts, minlength=nbins), np.bincount(counts, minlength=nbins))


# ----------------------------------------------------------- jit and vmap

# (id, function, arguments): jit(f)(*args) equals f(*args); vmap over a stack of two examples equals a loop
TRACE_CASES = [
    ("isclose", lambda a, b: fnp.isclose(a, b), (R(4), R(4, seed=1))),
    ("allclose", lambda a, b: fnp.allclose(a, b), (R(4), R(4))),
    ("array_equal", lambda a, b: fnp.array_equal(a, b), (R(4), R(4, seed=1))),
    ("array_equiv", lambda a, b: fnp.array_equiv(a, b), (R(4), R(4))),
    ("append", lambda a, b: fnp.append(a, b), (R(3, 2), R(4))),
    ("bincount", lambda i, w: fnp.bincount(i, w, length=5), (np.array([0, 1, 1, 4, 6]), R(5))),
    ("choose", lambda i, a, b: fnp.choose(i, [a, b]), (np.array([0, 1, 1, 0]), R(4), R(4, seed=1))),
    ("convolve", lambda a, v: fnp.convolve(a, v, "same"), (R(6), R(3))),
    ("correlate", lambda a, v: fnp.correlate(a, v, "full"), (R(6), R(3))),
    ("copy", lambda a: fnp.copy(a), (R(3),)),
    ("corrcoef", lambda a: fnp.corrcoef(a), (R(3, 5),)),
    ("cov", lambda a, w: fnp.cov(a, aweights=w), (R(3, 5), W5)),
    ("cross", lambda a, b: fnp.cross(a, b), (R(2, 3), R(2, 3, seed=1))),
    ("diff", lambda a: fnp.diff(a, 2, prepend=0.0), (R(3, 5),)),
    ("ediff1d", lambda a: fnp.ediff1d(a, to_begin=1.0), (R(5),)),
    ("digitize", lambda a, b: fnp.digitize(a, b), (R(5), np.sort(R(4, seed=1)))),
    ("fmax", lambda a, b: fnp.fmax(a, b), (NANX, R(3, 5))),
    ("fmin", lambda a, b: fnp.fmin(a, b), (NANX, R(3, 5))),
    ("gradient", lambda a: fnp.gradient(a, 0.5, axis=1), (R(3, 5),)),
    ("gradient_coord", lambda a, x: fnp.gradient(a, x), (R(6), np.cumsum(W5[:1].tolist() + W5.tolist()))),
    ("histogram", lambda a, w: fnp.histogram(a, 4, weights=w), (R(10), R(10, seed=1))),
    ("histogram_range", lambda a: fnp.histogram(a, 4, range=(-1, 1))[0], (R(10),)),
    ("interp", lambda x, xp, fp: fnp.interp(x, xp, fp), (R(5), XP, FP)),
    ("isin", lambda a, b: fnp.isin(a, b), (np.arange(5), np.array([1, 3, 7]))),
    ("ldexp", lambda a, b: fnp.ldexp(a, b), (R(4), np.arange(4))),
    ("meshgrid", lambda a, b: fnp.meshgrid(a, b), (R(3), R(4))),
    ("nanargmax", lambda a: fnp.nanargmax(a, axis=1), (NANX,)),
    ("nanargmin", lambda a: fnp.nanargmin(a, axis=1), (NANX,)),
    ("nancumsum", lambda a: fnp.nancumsum(a, axis=1), (NANX,)),
    ("nancumprod", lambda a: fnp.nancumprod(a, axis=1), (NANX,)),
    ("nanmax", lambda a: fnp.nanmax(a, axis=1), (NANX_ALL,)),
    ("nanmin", lambda a: fnp.nanmin(a, axis=0), (NANX,)),
    ("nanmean", lambda a: fnp.nanmean(a, axis=1), (NANX_ALL,)),
    ("nanprod", lambda a: fnp.nanprod(a), (NANX,)),
    ("nanstd", lambda a: fnp.nanstd(a, axis=1), (NANX,)),
    ("nanvar", lambda a: fnp.nanvar(a, axis=1, ddof=1), (NANX_ALL,)),
    ("nansum", lambda a: fnp.nansum(a, axis=0), (NANX,)),
    ("polyval", lambda p, x: fnp.polyval(p, x), (R(3), R(4))),
    ("polyfit", lambda x, y: fnp.polyfit(x, y, 2), (XS, R(10))),
    ("put_along_axis", lambda a, i, v: fnp.put_along_axis(a, i, v, 1, inplace=False),
     (R(3, 4), np.array([[0], [2], [1]]), R(3, 1))),
    ("select", lambda a, b: fnp.select([a > 0, b > 0], [a, b], 0.0), (R(4), R(4, seed=1))),
    ("trapezoid", lambda y, x: fnp.trapezoid(y, x), (R(6), np.linspace(0, 1, 6))),
    ("vander", lambda x: fnp.vander(x, 4), (R(5),)),
    ("unwrap", lambda p: fnp.unwrap(p), (R(6) * 3,)),
]


def _assert_tree_close(got, want):
    gl, wl = ff.tree.leaves(got), ff.tree.leaves(want)
    assert len(gl) == len(wl)
    for g, w in zip(gl, wl):
        close(g, w, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", TRACE_CASES, ids=[c[0] for c in TRACE_CASES])
def test_jit_equals_eager(case):
    _, f, args = case
    _assert_tree_close(ff.jit(f)(*args), f(*args))


def _second_example(a):
    if a.dtype.kind == "f" and a.ndim:
        return a[::-1] * 1.5 if a.shape[0] > 1 else a * 1.5
    return a


@pytest.mark.parametrize("case", TRACE_CASES, ids=[c[0] for c in TRACE_CASES])
def test_vmap_equals_loop(case):
    _, f, args = case
    batched = [np.stack([a, _second_example(a)]) for a in args]
    got = ff.vmap(f)(*batched)
    for k in range(2):
        want = f(*[b[k] for b in batched])
        _assert_tree_close(ff.tree.map(lambda v, k=k: np.asarray(v)[k], got), want)


def test_traced_digitize_reads_the_direction():
    bins = np.array([1.0, 0.5, 0.0, -1.0])
    x = np.array([-2.0, -0.5, 0.2, 0.7, 3.0])
    close(ff.jit(fnp.digitize)(x, bins), np.digitize(x, bins))
    close(ff.jit(fnp.digitize)(x, bins[::-1]), np.digitize(x, bins[::-1]))


def test_traced_nanargmax_all_nan_is_minus_one():
    x = np.array([[np.nan, np.nan], [1.0, np.nan]])
    close(ff.jit(lambda a: fnp.nanargmax(a, axis=1))(x), [-1, 0])


def test_bincount_traced_drops_out_of_range():
    x = np.array([0, 2, 2, 7, -1])
    close(ff.jit(lambda i: fnp.bincount(i, length=3))(x), [1, 0, 2])


# ------------------------------------------------------------- derivatives

COORD6 = np.linspace(0, 1, 6) + 0.05 * np.sin(7 * np.linspace(0, 1, 6))

# (id, function, float64 arguments): derivatives checked by check_grads (forward and reverse, order 2)
GRAD_CASES = [
    ("append", lambda a, b: fnp.append(a, b, 0), (R(3, 2), R(1, 2))),
    ("bincount_weights", lambda w: fnp.bincount(np.array([0, 1, 1, 4, 6]), w, length=5), (R(5),)),
    ("choose", lambda a, b: fnp.choose(np.array([0, 1, 1, 0]), [a, b]), (R(4), R(4, seed=1))),
    ("convolve", lambda a, v: fnp.convolve(a, v, "same"), (R(6), R(3))),
    ("correlate", lambda a, v: fnp.correlate(a, v, "valid"), (R(6), R(3))),
    ("corrcoef", lambda a: fnp.corrcoef(a), (R(3, 5),)),
    ("cov", lambda a, w: fnp.cov(a, aweights=w), (R(3, 5), W5)),
    ("cross", lambda a, b: fnp.cross(a, b), (R(2, 3), R(2, 3, seed=1))),
    ("cross_32", lambda a, b: fnp.cross(a, b), (R(2, 3), R(2, 2, seed=1))),
    ("diff", lambda a: fnp.diff(a, 2, prepend=0.0), (R(3, 5),)),
    ("ediff1d", lambda a: fnp.ediff1d(a, to_end=1.0), (R(5),)),
    ("fmax", lambda a, b: fnp.fmax(a, b), (NANX, R(3, 5))),
    ("fmin", lambda a, b: fnp.fmin(a, b), (NANX, R(3, 5))),
    ("gradient", lambda a: fnp.gradient(a, 0.5, axis=1), (R(3, 5),)),
    ("gradient_coord", lambda a, x: fnp.gradient(a, x, edge_order=2), (R(6), COORD6)),
    ("histogram_weights", lambda w: fnp.histogram(np.linspace(0, 1, 10), 4, weights=w)[0], (R(10),)),
    ("interp", lambda x, xp, fp: fnp.interp(x, xp, fp),
     (np.array([-3.0, 0.1, 0.35, 3.0]), np.array([-1, 0, 0.2, 0.5, 1.0]), R(5))),
    ("ldexp", lambda a: fnp.ldexp(a, np.arange(4)), (R(4),)),
    ("meshgrid", lambda a, b: fnp.meshgrid(a, b), (R(3), R(4))),
    ("nancumsum", lambda a: fnp.nancumsum(a, axis=1), (NANX,)),
    ("nancumprod", lambda a: fnp.nancumprod(a, axis=1), (NANX,)),
    ("nanmax", lambda a: fnp.nanmax(a, axis=1), (NANX,)),
    ("nanmin", lambda a: fnp.nanmin(a, axis=0), (NANX,)),
    ("nanmean", lambda a: fnp.nanmean(a, axis=1), (NANX,)),
    ("nanprod", lambda a: fnp.nanprod(a), (NANX,)),
    ("nanstd", lambda a: fnp.nanstd(a, axis=1), (NANX,)),
    ("nanvar", lambda a: fnp.nanvar(a, axis=1, ddof=1), (NANX,)),
    ("nansum", lambda a: fnp.nansum(a, axis=0), (NANX,)),
    ("polyval", lambda p, x: fnp.polyval(p, x), (R(3), R(4))),
    ("put_along_axis", lambda a, v: fnp.put_along_axis(a, np.array([[0], [2], [1]]), v, 1, inplace=False),
     (R(3, 4), R(3, 1))),
    ("select", lambda a, b: fnp.select([a > 0, b > 0], [a, b], 0.0), (R(4), R(4, seed=1))),
    ("trapezoid", lambda y, x: fnp.trapezoid(y, x), (R(6), np.linspace(0, 1, 6))),
    ("vander", lambda x: fnp.vander(x, 4), (np.array([0.0, 0.5, -1.2]),)),
    ("unwrap", lambda p: fnp.unwrap(p), (np.array([0.1, 3.0, -2.9, 0.4, 6.0]),)),
]


@pytest.mark.parametrize("case", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_check_grads(case):
    _, f, args = case
    check_grads(f, args, order=2)


def test_polyfit_grads():
    # finite differences of a least-squares fit lose digits to cancellation: first order, looser tolerance
    check_grads(lambda x, y: fnp.polyfit(x, y, 2), (XS, R(10)), order=1, atol=1e-3, rtol=1e-3)


def test_nan_entries_get_zero_gradient():
    g = ff.grad(lambda a: fnp.nanmean(a) + fnp.nanstd(a) + fnp.nansum(a))(NANX)
    assert np.all(np.isfinite(g))
    assert np.all(np.asarray(g)[np.isnan(NANX)] == 0)


def test_histogram_counts_have_zero_gradient():
    g = ff.grad(lambda a: fnp.sum(fnp.histogram(a, 3, range=(-1, 1))[0].astype(np.float64)))(R(6))
    close(g, np.zeros(6))


# ----------------------------------------------------------------- errors


def test_bincount_needs_length_under_tracing():
    with pytest.raises(NonConcreteBooleanIndexError, match="length=N"):
        ff.jit(fnp.bincount)(np.array([0, 1]))
    with pytest.raises(ValueError, match="negative"):
        fnp.bincount(np.array([0, -1]))
    with pytest.raises(TypeError, match="integers"):
        fnp.bincount(np.array([0.5]))


def test_put_along_axis_requires_inplace_false():
    with pytest.raises(ValueError, match="inplace=False"):
        fnp.put_along_axis(np.zeros(3), np.array([0]), 1.0, 0)


def test_error_messages():
    with pytest.raises(ValueError, match="mode must be"):
        fnp.convolve(np.ones(3), np.ones(2), "circular")
    with pytest.raises(ValueError, match="1-D"):
        fnp.correlate(np.ones((2, 2)), np.ones(2))
    with pytest.raises(ValueError, match="same length"):
        fnp.select([np.ones(2, bool)], [])
    with pytest.raises(TypeError, match="boolean"):
        fnp.select([np.ones(2)], [np.ones(2)])
    with pytest.raises(ValueError, match="invalid entry"):
        fnp.choose(np.array([0, 3]), [np.ones(2), np.ones(2)])
    with pytest.raises(ValueError, match="monotonically"):
        fnp.digitize(np.ones(2), np.array([0.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match="All-NaN"):
        fnp.nanargmax(np.array([np.nan, np.nan]))
    with pytest.raises(ValueError, match="too small"):
        fnp.gradient(np.ones(1))
    with pytest.raises(ValueError, match="3 or more"):
        fnp.dsplit(np.ones((2, 2)), 2)
    with pytest.raises(ValueError, match="dimension must be 2 or 3"):
        fnp.cross(np.ones(4), np.ones(3))
    with pytest.raises(ValueError, match="same length"):
        fnp.interp(np.ones(2), np.arange(3.0), np.arange(2.0))
    with pytest.raises(ValueError, match="must be positive"):
        fnp.histogram(np.ones(3), 0)
    with pytest.raises(ValueError, match="larger than min"):
        fnp.histogram(np.ones(3), 2, range=(1, 0))
    with pytest.raises(ValueError, match="'xy' or 'ij'"):
        fnp.meshgrid(np.ones(2), indexing="xx")
    with pytest.raises(TypeError, match="integer"):
        fnp.ldexp(np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="2-d"):
        fnp.tril_indices_from(np.ones(3))
    with pytest.raises(NotImplementedError, match="full=True"):
        fnp.polyfit(XS, XS, 1, full=True)
    with pytest.raises(ValueError, match="non-negative"):
        fnp.diff(np.ones(3), -1)
