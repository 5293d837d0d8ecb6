"""Indexing: x[idx] (NumPy semantics), x.at[idx] updates, gather/scatter rules, take & co."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnflow
import fnflow.numpy as fnp
from fnflow.numpy._indexing import NonConcreteBooleanIndexError, getitem
from fnflow.ops.indexing import gather, scatter, scatter_strided
from fnflow.testing import check_grads

rng = np.random.default_rng(0)
X = np.arange(3 * 4 * 5, dtype=np.float64).reshape(3, 4, 5)

# index forms over X (3, 4, 5)
CASES = [
    0, -1, (1, 2), (1, -2, 3), (slice(None, None, -1),), (slice(1, None, 2), None, -2), (Ellipsis, 1),
    (None, Ellipsis, None), (slice(5, 2),), (slice(-2, None), slice(None, None, -3)),
    [0, 2], ([0, 2], [1, 3]), (slice(None), [0, 1], [1, 2]), ([0, 1], slice(None), [1, 2]),
    (0, slice(None), [0, 1]), ([[0], [2]], [1, 2, 3]), ([0, 1], None, [0, 1]), (None, [0, 1], [1, 2]),
    (True,), (False,), (0, True), (slice(None), True, [1, 2]), ([1], True, [1, 2]), (Ellipsis, True),
    (np.array(0), slice(None), 1), (slice(None), np.array([[0]]), 0), X[..., 0] > 20, (X[:, :, 0] > 5,),
    (slice(None), X[0, :, 0] > 6), (np.array([True, False, True]), Ellipsis, [1, -1]),
    (slice(None, None, -2), [3, -4], slice(4, 0, -3)), [], (slice(None), [[1, 2], [3, 0]], slice(None, None, -1)),
    ([2, 0], slice(1, 3), [[4], [0]]), (Ellipsis, [0, 1], None), ([0, 0, 2, 0],), (slice(None), [1, 1, -3]),
    (np.int64(2), np.int32(-1)), (Ellipsis,), (),
]


def _jit_getitem(x, idx):
    return fnflow.jit(lambda a: getitem(a, idx))(x)


@pytest.mark.parametrize("idx", CASES, ids=[str(i) for i in range(len(CASES))])
def test_getitem_matches_numpy(idx):
    want = X[idx]
    got = getitem(fnp.asarray(X), idx)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    graph = fnflow.make_graph(lambda a: getitem(a, idx))(X)
    assert graph.out_avals[0].shape == want.shape
    np.testing.assert_array_equal(graph(X)[0], want)
    np.testing.assert_array_equal(_jit_getitem(X, idx), want)


@pytest.mark.parametrize("idx", CASES, ids=[str(i) for i in range(len(CASES))])
def test_at_updates_match_numpy(idx):
    want_shape = X[idx].shape
    v = np.arange(int(np.prod(want_shape)), dtype=np.float64).reshape(want_shape) - 7
    for name, ufunc in [("add", np.add), ("multiply", np.multiply), ("min", np.minimum), ("max", np.maximum)]:
        ref = X.copy()
        ufunc.at(ref, idx, v)
        np.testing.assert_array_equal(getattr(fnp.asarray(X).at[idx], name)(v), ref, err_msg=name)
    ref = X.copy()
    ref[idx] = v
    np.testing.assert_array_equal(fnp.asarray(X).at[idx].set(v), ref)
    np.testing.assert_array_equal(fnp.asarray(X).at[idx].get(), X[idx])


def test_tracer_getitem_operator_and_take_method():
    f = fnflow.jit(lambda a: (a[1, ::-1], a[[0, 2], :, 1], a[..., None, 3]))
    outs = f(X)
    for got, want in zip(outs, (X[1, ::-1], X[[0, 2], :, 1], X[..., None, 3])):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(fnflow.jit(lambda a: a.take(np.array([3, 0]), axis=1))(X),
                                  X.take([3, 0], axis=1))


# ------------------------------------------------------------------ hypothesis


@st.composite
def shape_and_index(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    items = []
    axis = 0
    ell = False
    while axis < len(shape) and draw(st.booleans()):
        n = shape[axis]
        kind = draw(st.sampled_from(["int", "slice", "none", "array", "ellipsis"]))
        if kind == "int":
            items.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            bound = st.none() | st.integers(-n - 1, n + 1)
            items.append(slice(draw(bound), draw(bound), draw(st.sampled_from([None, 1, 2, 3, -1, -2]))))
        elif kind == "none":
            items.append(None)
            continue
        elif kind == "array":
            ishape = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
            items.append(np.asarray(draw(st.lists(st.integers(-n, n - 1), min_size=int(np.prod(ishape)),
                                                  max_size=int(np.prod(ishape))))).reshape(ishape))
        elif not ell:
            ell = True
            items.append(Ellipsis)
            break
        axis += 1
    return shape, tuple(items)


def _broadcastable(idx):
    shapes = [np.shape(i) for i in idx if isinstance(i, np.ndarray)]
    try:
        np.broadcast_shapes(*shapes)
        return True
    except ValueError:
        return False


@settings(max_examples=60)
@given(shape_and_index())
def test_hypothesis_getitem_and_at(case):
    shape, idx = case
    if not _broadcastable(idx):
        return
    x = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) * 1.5 - 3
    want = x[idx]
    np.testing.assert_array_equal(getitem(x, idx), want)
    np.testing.assert_array_equal(fnflow.make_graph(lambda a: getitem(a, idx))(x)(x)[0], want)
    v = rng.normal(size=want.shape)
    ref = x.copy()
    np.add.at(ref, idx, v)
    np.testing.assert_allclose(fnp.asarray(x).at[idx].add(v), ref)
    ref = x.copy()
    ref[idx] = v
    np.testing.assert_array_equal(fnp.asarray(x).at[idx].set(v), ref)
    # the gradient of sum(w * x[idx]) is w scatter-added back
    w = rng.normal(size=want.shape)
    g = fnflow.grad(lambda a: fnp.sum(getitem(a, idx) * w))(x)
    ref = np.zeros_like(x)
    np.add.at(ref, idx, w)
    np.testing.assert_allclose(g, ref)


# ------------------------------------------------------------------ gradients


def test_grad_strided_and_reversed_slices():
    x = np.arange(7.0)
    np.testing.assert_array_equal(fnflow.grad(lambda x: fnp.sum(x[::2]))(x), [1, 0, 1, 0, 1, 0, 1])
    np.testing.assert_array_equal(fnflow.grad(lambda x: fnp.sum(x[::-1] * fnp.arange(7.0)))(x), 6 - np.arange(7))
    np.testing.assert_array_equal(fnflow.grad(lambda x: fnp.sum(x[5:0:-3] * 2))(x), [0, 0, 2, 0, 0, 2, 0])
    m = rng.normal(size=(5, 6))
    check_grads(lambda m: m[1::2, ::-3] ** 2, (m,), order=2)


def test_scatter_strided_places_and_transposes():
    ct = np.arange(1.0, 5.0).reshape(2, 2)
    out = scatter_strided(ct, (5, 4), (1, 0), (2, 3))
    want = np.zeros((5, 4))
    want[1::2, 0::3] = ct
    np.testing.assert_array_equal(out, want)
    check_grads(lambda c: scatter_strided(c, (5, 4), (1, 0), (2, 3)), (ct,), order=1)
    g = fnflow.grad(lambda c: fnp.sum(scatter_strided(c, (5, 4), (1, 0), (2, 3)) * np.arange(20.0).reshape(5, 4)))(ct)
    np.testing.assert_array_equal(g, np.arange(20.0).reshape(5, 4)[1::2, 0::3])


def test_grad_duplicate_indices_is_scatter_add():
    x = rng.normal(size=(4, 3))
    i = np.array([0, 2, 0, 0, 3])
    w = rng.normal(size=(5, 3))
    g = fnflow.grad(lambda x: fnp.sum(x[i] * w))(x)
    want = np.zeros_like(x)
    for k, j in enumerate(i):
        want[j] += w[k]
    np.testing.assert_allclose(g, want)
    g = fnflow.grad(lambda x: fnp.sum(fnp.take(x, i, axis=0) ** 2))(x)
    want = np.zeros_like(x)
    np.add.at(want, i, 2 * x[i])
    np.testing.assert_allclose(g, want)


@pytest.mark.parametrize("idx", [(slice(None), [1, 1, 0]), ([[0, 2], [2, 2]], 1), (Ellipsis, -1), ([1, 0], [2, 2])])
def test_getitem_check_grads(idx):
    x = rng.normal(size=(3, 4))
    check_grads(lambda x: getitem(x, idx) ** 2, (x,), order=2)


@pytest.mark.parametrize("mode", ["add", "set", "mul", "min", "max"])
def test_scatter_grads_with_duplicates(mode):
    # distinct values so min/max have no ties; a zero update checks mul's product rule
    base = np.array([0.3, -1.2, 2.5, 0.7, -0.4])
    upd = np.array([1.1, -0.8, 0.0, 1.7, -2.1, 0.45]) if mode == "mul" else np.array([1.1, -0.8, 3.0, 1.7, -2.1, 0.45])
    idx = np.array([1, 1, 3, 1, 0, 3])
    check_grads(lambda b, u: scatter(b, idx, u, 0, mode), (base, upd), order=2)


def test_scatter_mul_grad_two_zeros_at_one_position():
    base = np.array([2.0, 3.0])
    upd = np.array([0.0, 0.0, 5.0])
    idx = np.array([0, 0, 1])
    g = fnflow.grad(lambda u: fnp.sum(scatter(base, idx, u, 0, "mul")))(upd)
    np.testing.assert_allclose(g, [0.0, 0.0, 3.0])  # two zeros: each one's partial is still zero
    g = fnflow.grad(lambda u: fnp.sum(scatter(base, idx, u, 0, "mul")))(np.array([0.0, 4.0, 5.0]))
    np.testing.assert_allclose(g, [8.0, 0.0, 3.0])


def test_set_gradients_follow_the_winner():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    v = np.array([10.0, 20.0, 30.0])
    i = np.array([1, 1, 3])
    gx, gv = fnflow.grad(lambda x, v: fnp.sum(x.at[i].set(v) * np.arange(1.0, 5.0)), argnums=(0, 1))(x, v)
    np.testing.assert_array_equal(gx, [1.0, 0.0, 3.0, 0.0])
    np.testing.assert_array_equal(gv, [0.0, 2.0, 4.0])  # v[0] is overwritten by v[1] (last wins)
    # the same with a traced index (the winner mask is computed with ops)
    gv2 = fnflow.jit(fnflow.grad(lambda v, i: fnp.sum(fnp.asarray(x).at[i].set(v) * np.arange(1.0, 5.0))))(v, i)
    np.testing.assert_array_equal(gv2, [0.0, 2.0, 4.0])


@pytest.mark.parametrize("method", ["add", "set", "multiply", "min", "max"])
def test_at_grads(method):
    x = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    v = np.array([0.9, -0.3, 1.3])
    check_grads(lambda x, v: getattr(fnp.asarray(x).at[[1, 0, 1], [2, 2, 0]], method)(v), (x, v), order=2)


def test_second_derivative_through_gather():
    x = np.array([0.5, -1.0, 2.0])
    i = np.array([2, 2, 0])
    h = fnflow.hessian(lambda x: fnp.sum(x[i] ** 3))(x)
    np.testing.assert_allclose(h, np.diag([6 * 0.5, 0.0, 2 * 6 * 2.0]))


# ------------------------------------------------------------------ vmap


def test_vmap_of_indexing():
    x = rng.normal(size=(4, 5))
    xs = rng.normal(size=(3, 5, 5))
    idx = np.array([[0, 3], [4, -1], [2, 2]])
    np.testing.assert_allclose(fnflow.vmap(lambda i: getitem(x, (slice(None), i)))(idx),
                               np.stack([x[:, i] for i in idx]))
    np.testing.assert_allclose(fnflow.vmap(lambda a, i: a[i, 1:])(xs, idx),
                               np.stack([a[i, 1:] for a, i in zip(xs, idx)]))
    np.testing.assert_allclose(fnflow.vmap(lambda a, i: a[[1, 2], i])(xs, idx),
                               np.stack([a[[1, 2], i] for a, i in zip(xs, idx)]))
    np.testing.assert_allclose(fnflow.vmap(lambda a: a[[0, 0, 4], 1])(xs), xs[:, [0, 0, 4], 1])
    np.testing.assert_allclose(fnflow.vmap(lambda i: getitem(x, i))(np.array([0, 3, -1])), x[[0, 3, -1]])
    np.testing.assert_allclose(fnflow.vmap(lambda a, i: a[i], in_axes=(2, 0))(np.moveaxis(xs, 0, 2), idx),
                               np.stack([a[i] for a, i in zip(xs, idx)]))


def test_vmap_of_gather_both_batched_other_axis():
    xs = rng.normal(size=(2, 3, 4, 5))
    idx = rng.integers(-4, 4, size=(2, 2, 3))
    out = fnflow.vmap(lambda a, i: gather(a, i, 1))(xs, idx)
    np.testing.assert_allclose(out, np.stack([np.take(a, i, axis=1) for a, i in zip(xs, idx)]))
    idx = rng.integers(-3, 3, size=(2, 5, 3))
    out = fnflow.vmap(lambda a, i: gather(a, i, 1), in_axes=(3, 1))(xs, idx)
    np.testing.assert_allclose(out, np.stack([np.take(xs[..., b], idx[:, b], axis=1) for b in range(5)]))


def test_vmap_of_at_updates():
    xs = rng.normal(size=(3, 5, 5))
    idx = np.array([[0, 3], [4, -1], [2, 2]])
    ref = xs.copy()
    for r, i in zip(ref, idx):
        np.add.at(r, i, 1.0)
    np.testing.assert_allclose(fnflow.vmap(lambda a, i: a.at[i].add(1.0))(xs, idx), ref)
    vals = np.arange(10.0).reshape(5, 2)
    ref = xs.copy()
    for r, i in zip(ref, idx):
        r[:, i] = vals
    np.testing.assert_allclose(fnflow.vmap(lambda a, i: a.at[:, i].set(vals))(xs, idx), ref)
    # batched updates into an unbatched operand, and a batched operand with unbatched indices
    base = rng.normal(size=(5,))
    us = rng.normal(size=(3, 2))
    for mode, uf in [("add", np.add), ("mul", np.multiply), ("min", np.minimum), ("max", np.maximum)]:
        ref = np.stack([base.copy() for _ in range(3)])
        for r, u in zip(ref, us):
            uf.at(r, [1, 1], u)
        np.testing.assert_allclose(fnflow.vmap(lambda u: scatter(base, np.array([1, 1]), u, 0, mode))(us), ref)
    ref = xs.copy()
    ref[:, 1, [0, 4]] = -1.0
    np.testing.assert_allclose(fnflow.vmap(lambda a: a.at[1, [0, 4]].set(-1.0))(xs), ref)


def test_vmap_of_grad_of_indexing():
    xs = rng.normal(size=(3, 4))
    idx = np.array([[0, 0], [1, 3], [2, 1]])
    g = fnflow.vmap(fnflow.grad(lambda x, i: fnp.sum(x[i] ** 2)))(xs, idx)
    want = np.zeros_like(xs)
    for b in range(3):
        np.add.at(want[b], idx[b], 2 * xs[b, idx[b]])
    np.testing.assert_allclose(g, want)


# ------------------------------------------------------------------ jit / tracing


def test_traced_out_of_range_indices_are_clamped():
    x = np.arange(5.0)
    f = fnflow.jit(lambda x, i: x[i])
    assert float(f(x, np.int32(7))) == 4.0
    assert float(f(x, np.int32(-1))) == 4.0  # negative indices still wrap
    assert float(f(x, np.int32(-9))) == 0.0
    np.testing.assert_array_equal(fnflow.jit(lambda x, i: x.at[i].add(1.0))(x, np.array([9, -1])), [0, 1, 2, 3, 6])


def test_concrete_indices_are_checked_under_tracing():
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 1 with size 4"):
        fnflow.make_graph(lambda a: a[:, [0, 5]])(X)


def test_graph_uses_one_gather_for_several_index_arrays():
    g = fnflow.make_graph(lambda a: a[[0, 1], :, [2, 3]])(X)
    names = [e.prim.name for e in g.eqns]
    assert names.count("gather") == 1
    assert "scatter" not in names


# ------------------------------------------------------------------ errors


def test_out_of_range_errors():
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 0 with size 3"):
        getitem(X, 3)
    with pytest.raises(IndexError, match="index -5 is out of bounds for axis 1 with size 4"):
        getitem(X, (0, [-5]))
    with pytest.raises(IndexError, match="index 7 is out of bounds for axis 0 with size 5"):
        fnp.take(np.arange(5.0), np.array([1, 7]))
    with pytest.raises(IndexError, match="out of bounds for axis 0 with size 3"):
        fnp.asarray(X).at[[0, 3]].set(0.0)


def test_index_type_errors():
    with pytest.raises(IndexError, match="too many indices for array: array is 3-dimensional, but 4 were indexed"):
        getitem(X, (0, 0, 0, 0))
    with pytest.raises(IndexError, match="single ellipsis"):
        getitem(X, (Ellipsis, 0, Ellipsis))
    with pytest.raises(IndexError, match="integer \\(or boolean\\) type"):
        getitem(X, np.array([0.5]))
    with pytest.raises(IndexError, match="only integers, slices"):
        getitem(X, 1.5)
    with pytest.raises(IndexError, match="boolean index did not match indexed array along axis 0"):
        getitem(X, np.array([True, False]))


def test_traced_boolean_mask_error():
    for transform in (fnflow.make_graph, fnflow.jit, fnflow.vmap):
        with pytest.raises(NonConcreteBooleanIndexError, match="fnflow.numpy.where"):
            transform(lambda a: a[a > 0])(X)
    with pytest.raises(IndexError):
        fnflow.jit(lambda a: a.at[a > 0].set(0.0))(X)
    # a concrete mask works under any transform, a mask of concrete primals works under grad
    np.testing.assert_array_equal(fnflow.jit(lambda a: a[X > 30])(X), X[X > 30])
    np.testing.assert_array_equal(fnflow.grad(lambda a: fnp.sum(a[a > 30]))(X), (X > 30).astype(float))


def test_in_place_assignment_is_refused():
    a = fnp.asarray(X)
    with pytest.raises(TypeError, match=r"\.at"):
        a[0] = 1
    def f(x):
        x[0] = 1
        return x
    with pytest.raises(TypeError, match=r"\.at"):
        fnflow.jit(f)(X)
    with pytest.raises(TypeError, match=r"\.at"):
        fnflow.grad(lambda x: fnp.sum(f(x)))(X)


def test_at_broadcasts_and_casts_values():
    x = fnp.zeros((2, 3), dtype=np.int32)
    out = x.at[:, 1:].add(np.array([1.7, 2.2]))
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [[0, 1, 2], [0, 1, 2]])
    with pytest.raises(ValueError, match="cannot be broadcast to the indexed shape"):
        x.at[0].set(np.ones(4))
    np.testing.assert_array_equal(fnp.arange(4.0).at[1].divide(2.0), [0, 0.5, 2, 3])
    np.testing.assert_array_equal(fnp.arange(4.0).at[::2].apply(lambda v: v * 10), [0, 1, 20, 3])
    assert isinstance(out, fnflow.Array) and not out.flags.writeable


# ------------------------------------------------------------------ take & co.


def test_take_modes():
    a = np.arange(12.0).reshape(3, 4)
    i = np.array([[0, -1], [5, -6]])
    np.testing.assert_array_equal(fnp.take(a, i, mode="wrap"), np.take(a, i, mode="wrap"))
    np.testing.assert_array_equal(fnp.take(a, i, axis=1, mode="clip"), np.take(a, i, axis=1, mode="clip"))
    np.testing.assert_array_equal(fnp.take(a, 2, axis=1), np.take(a, 2, axis=1))
    np.testing.assert_array_equal(fnp.take(a, [[1]], axis=-2), np.take(a, [[1]], axis=-2))
    np.testing.assert_array_equal(fnflow.jit(lambda a, i: fnp.take(a, i, axis=1, mode="wrap"))(a, i),
                                  np.take(a, i, axis=1, mode="wrap"))


def test_take_along_axis():
    a = rng.normal(size=(3, 4, 5))
    for axis in (0, 1, 2, -1):
        i = np.argsort(a, axis=axis)[..., :2] if axis in (2, -1) else np.argsort(a, axis=axis)
        np.testing.assert_allclose(fnp.take_along_axis(a, i, axis), np.take_along_axis(a, i, axis))
    i = rng.integers(-5, 5, size=(3, 1, 2))
    np.testing.assert_allclose(fnp.take_along_axis(a, i, 2), np.take_along_axis(a, i, 2))
    np.testing.assert_allclose(fnp.take_along_axis(a, np.array([3, 0]), None), np.take_along_axis(a, np.array([3, 0]),
                                                                                                 None))
    np.testing.assert_allclose(fnflow.jit(lambda a, i: fnp.take_along_axis(a, i, 2))(a, i), np.take_along_axis(a, i, 2))
    check_grads(lambda a: fnp.take_along_axis(a, np.array([[[0, 0, 4]]]), 2), (a,), order=2)


def test_nonzero_family():
    m = np.array([[0, 1, 0], [2, 0, 3]])
    for got, want in zip(fnp.nonzero(m), np.nonzero(m)):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(fnp.argwhere(m), np.argwhere(m))
    np.testing.assert_array_equal(fnp.flatnonzero(m), np.flatnonzero(m))
    for got, want in zip(fnp.where(m > 0), np.where(m > 0)):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(fnp.compress([True, False, True], m, axis=1), np.compress([True, False, True], m, 1))
    np.testing.assert_array_equal(fnp.compress([False, True], m), np.compress([False, True], m))
    np.testing.assert_array_equal(fnp.extract(m > 1, m), np.extract(m > 1, m))
    with pytest.raises(NonConcreteBooleanIndexError, match="size="):
        fnflow.jit(fnp.nonzero)(m)


def test_nonzero_with_size_works_under_transforms():
    m = np.array([[0, 1, 1, 0, 1], [1, 0, 0, 0, 0]])
    r0, r1 = fnp.nonzero(m, size=3, fill_value=-1)
    np.testing.assert_array_equal(r0, [0, 0, 0])
    np.testing.assert_array_equal(r1, [1, 2, 4])
    out = fnflow.vmap(lambda r: fnp.nonzero(r, size=3, fill_value=-1)[0])(m)
    np.testing.assert_array_equal(out, [[1, 2, 4], [0, -1, -1]])
    out = fnflow.jit(lambda r: fnp.argwhere(r, size=2))(m)
    np.testing.assert_array_equal(out, [[0, 1], [0, 2]])
    np.testing.assert_array_equal(fnflow.jit(lambda r: fnp.flatnonzero(r, size=6))(m), [1, 2, 4, 5, 0, 0])


@pytest.mark.parametrize("offset,axes", [(0, (0, 1)), (1, (0, 1)), (-2, (0, 1)), (2, (1, 2)), (-1, (2, 0)),
                                         (9, (0, 1))])
def test_diagonal_and_trace(offset, axes):
    a = rng.normal(size=(3, 4, 5))
    np.testing.assert_allclose(fnp.diagonal(a, offset, *axes), np.diagonal(a, offset, *axes))
    np.testing.assert_allclose(fnp.trace(a, offset, *axes), np.trace(a, offset, *axes))
    check_grads(lambda a: fnp.diagonal(a, offset, *axes), (a,), order=1)


def test_diag_diagflat_tril_triu():
    v = np.array([1.0, 2.0, 3.0])
    for k in (-2, 0, 1):
        np.testing.assert_array_equal(fnp.diag(v, k), np.diag(v, k))
        m = np.arange(12.0).reshape(3, 4)
        np.testing.assert_array_equal(fnp.diag(m, k), np.diag(m, k))
    np.testing.assert_array_equal(fnp.diagflat([[1, 2], [3, 4]], 1), np.diagflat([[1, 2], [3, 4]], 1))
    check_grads(lambda v: fnp.diag(v, 1), (v,), order=1)
    a = rng.normal(size=(2, 3, 4))
    a[0, 0, 3] = np.inf
    for k in (-1, 0, 2):
        np.testing.assert_array_equal(fnp.tril(a, k), np.tril(a, k))
        np.testing.assert_array_equal(fnp.triu(a, k), np.triu(a, k))
    g = fnflow.grad(lambda a: fnp.sum(fnp.tril(a)))(np.ones((3, 3)))
    np.testing.assert_array_equal(g, np.tril(np.ones((3, 3))))


def test_index_helpers():
    for got, want in zip(fnp.tril_indices(3, -1), np.tril_indices(3, -1)):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(fnp.triu_indices(3, 1, 4), np.triu_indices(3, 1, 4)):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(fnp.diag_indices(3), np.diag_indices(3)):
        np.testing.assert_array_equal(got, want)
    a = np.arange(20.0).reshape(4, 5)
    np.testing.assert_array_equal(getitem(a, fnp.ix_([0, 2], [1, 3, 4])), a[np.ix_([0, 2], [1, 3, 4])])
    flat = np.array([0, 7, 19])
    for got, want in zip(fnp.unravel_index(flat, (4, 5)), np.unravel_index(flat, (4, 5))):
        np.testing.assert_array_equal(got, want)
    got = fnflow.jit(lambda i: fnp.unravel_index(i, (4, 5)))(flat)
    for g, want in zip(got, np.unravel_index(flat, (4, 5))):
        np.testing.assert_array_equal(g, want)
    np.testing.assert_array_equal(fnp.ravel_multi_index((np.array([1, 3]), np.array([4, 0])), (4, 5)),
                                  np.ravel_multi_index((np.array([1, 3]), np.array([4, 0])), (4, 5)))
    with pytest.raises(ValueError):
        fnp.unravel_index(20, (4, 5))


def _central_diff(f, a, eps=1e-6):
    g = np.zeros_like(a)
    for k in np.ndindex(a.shape):
        e = np.zeros_like(a)
        e[k] = eps
        g[k] = (f(a + e) - f(a - e)) / (2 * eps)
    return g


@pytest.mark.parametrize("mode", ["add", "set", "mul", "min", "max"])
def test_scatter_grads_with_traced_duplicate_indices(mode):
    base = np.array([0.3, -1.2, 2.5, 0.7, -0.4])
    idx = np.array([1, 1, 3, 1, 0, 3])
    w = np.arange(1.0, 6.0)

    def f(u, b, i):
        return fnp.sum(scatter(b, i, u, 0, mode) * w)

    for upd in (np.array([1.1, -0.8, 0.0, 1.7, -2.1, 0.45]), np.array([1.1, -0.8, 3.0, 1.7, -2.1, 0.45])):
        gu, gb = fnflow.jit(fnflow.grad(f, argnums=(0, 1)))(upd, base, idx)
        np.testing.assert_allclose(gu, _central_diff(lambda u: float(f(u, base, idx)), upd), atol=1e-6)
        np.testing.assert_allclose(gb, _central_diff(lambda b: float(f(upd, b, idx)), base), atol=1e-6)
        idxs = np.stack([idx, idx[::-1]])
        gv = fnflow.vmap(fnflow.grad(f), in_axes=(None, None, 0))(upd, base, idxs)
        np.testing.assert_allclose(gv[1], _central_diff(lambda u: float(f(u, base, idxs[1])), upd), atol=1e-6)


def test_compositions_agree():
    x = rng.normal(size=(4, 3))
    i = np.array([[0, 3], [1, 1]])
    g = fnflow.vmap(fnflow.grad(lambda x, i: fnp.sum(x[i] ** 2)), in_axes=(None, 0))
    np.testing.assert_allclose(fnflow.jit(g)(x, i), g(x, i))
    h = fnflow.grad(lambda x: fnp.sum(x[::2, ::-1] ** 3))
    np.testing.assert_allclose(fnflow.grad(fnflow.jit(lambda x: fnp.sum(x[::2, ::-1] ** 3)))(x), h(x))
    jac = fnflow.jacfwd(lambda x: x[[0, 0], 1])(x)
    want = np.zeros((2, 4, 3))
    want[:, 0, 1] = 1
    np.testing.assert_array_equal(jac, want)
    np.testing.assert_array_equal(fnflow.jit(lambda a: np.take(a, [2, 0]))(np.arange(4.0)), [2.0, 0.0])


def test_zero_dim_and_empty_arrays():
    z = np.float64(3.0)
    for idx in [(), None, Ellipsis, (None, None)]:
        np.testing.assert_array_equal(getitem(z, idx), np.asarray(z)[idx])
    e = np.zeros((0, 3))
    for idx in [[], (slice(None), 1), (Ellipsis, [0, 2]), np.zeros((0,), bool)]:
        assert getitem(e, idx).shape == e[idx].shape
    np.testing.assert_array_equal(fnp.asarray(e).at[:, 1].add(1.0), e)
