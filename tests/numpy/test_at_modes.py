"""``x.at[idx].<method>(..., mode=...)`` and the ``mode=`` of ``take`` / ``take_along_axis``, as in JAX.

Every mode x method x (eager, jit with traced index arrays, vmap over the
array, the values and the index arrays) is compared with a NumPy reference
written here; a few cases carry values produced by real JAX 0.10.2 (pasted as
literals). Gradients are checked against finite differences.
"""

import numpy as np
import pytest

import fnflow
import fnflow.numpy as fnp
from fnflow.testing import check_grads

METHODS = ["set", "add", "multiply", "divide", "min", "max", "apply"]
_UFUNC = {"add": np.add, "multiply": np.multiply, "min": np.minimum, "max": np.maximum}


def _fun(v):
    return fnp.sin(v) * 2.0


# ------------------------------------------------------------ NumPy reference


def _fix_slice(s, n):
    """``s`` with explicit bounds on an axis of size ``n`` that still work on an axis of size ``n + 1``."""
    start, stop, step = s.indices(n)
    return slice(start, stop if stop >= 0 else None, step)


def _map_index(shape, idx, mode):
    """``idx`` (a tuple of ints, slices, None, Ellipsis and int arrays) with its components mapped for ``mode``.

    "clip": into range (negatives wrapped once first); "fill": in-range values
    wrapped, out-of-range ones sent to ``n`` (the padding slot of the reference).
    """
    idx = idx if isinstance(idx, tuple) else (idx,)
    n_ax = sum(1 for i in idx if i is not None and i is not Ellipsis)
    k = next((j for j, i in enumerate(idx) if i is Ellipsis), len(idx))
    idx = idx[:k] + (slice(None),) * (len(shape) - n_ax) + idx[k + 1:]
    out, ax = [], 0
    for i in idx:
        if i is None:
            out.append(None)
            continue
        n = shape[ax]
        ax += 1
        if isinstance(i, slice):
            out.append(_fix_slice(i, n))
            continue
        a = np.asarray(i)
        if mode == "clip":
            m = np.clip(np.where(a < 0, a + n, a), 0, n - 1)
        else:
            m = np.where((a >= -n) & (a < n), np.mod(a, max(n, 1)), n)
        out.append(int(m) if isinstance(i, (int, np.integer)) else m)
    return tuple(out)


def _fill_default(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return True
    if dtype.kind == "u":
        return np.iinfo(dtype).max
    if dtype.kind == "i":
        return np.iinfo(dtype).min
    return np.nan


def ref_get(x, idx, mode, fill_value=None):
    x = np.asarray(x)
    if mode == "clip":
        return x[_map_index(x.shape, idx, "clip")]
    fill = _fill_default(x.dtype) if fill_value is None else fill_value
    xp = np.pad(x, [(0, 1)] * x.ndim, constant_values=np.asarray(fill).astype(x.dtype))
    return xp[_map_index(x.shape, idx, "fill")]


def ref_update(x, idx, method, v, mode):
    """NumPy: ``method`` at ``idx`` with ``mode`` ("clip" or "drop"); ``v`` already broadcast-compatible."""
    x = np.asarray(x)
    if method == "apply":
        cur = ref_get(x, idx, "clip")
        return ref_update(x, idx, "set", np.asarray(_fun(cur)), mode)
    if method == "divide":
        method, v = "multiply", 1.0 / np.asarray(v)
    if mode == "clip":
        out, m = x.copy(), _map_index(x.shape, idx, "clip")
    else:  # out-of-range positions land in the padding, which is cut off
        out, m = np.pad(x, [(0, 1)] * x.ndim), _map_index(x.shape, idx, "fill")
    v = np.broadcast_to(np.asarray(v, x.dtype), out[m].shape)
    if method == "set":
        out[m] = v
    else:
        _UFUNC[method].at(out, m, v)
    return out[tuple(slice(0, n) for n in x.shape)]


# ------------------------------------------------------------ cases

# (name, shape, index); arrays hold duplicates, negative in-range values and values out of range on both sides
CASES = [
    ("1d", (6,), (np.array([0, 7, -1, -7, 2, 2, -6, 6]),)),
    ("2d-arr-int", (3, 4), (np.array([0, 5, -3, -4, 1]), 1)),
    ("2d-arr-arr", (3, 4), (np.array([[0], [2], [3], [-4]]), np.array([1, -1, 4, -5, 1]))),
    ("2d-slice-arr", (3, 4), (slice(None), np.array([1, 9, -4, -5, 1]))),
    ("2d-arr-slice", (3, 4), (np.array([2, -1, 3, 0]), slice(1, 3))),
    ("2d-int-out-slice", (3, 4), (5, slice(None, None, -1))),
    ("2d-negint-slice", (3, 4), (-3, slice(0, 4, 2))),
    ("3d-noncontig", (2, 3, 4), (np.array([0, 1, 2, -3]), slice(None), np.array([[3], [-1], [4]]))),
    ("3d-ellipsis", (2, 3, 4), (Ellipsis, np.array([0, 4, -1, -5, 4]))),
    ("3d-none-mixed", (2, 3, 4), (slice(1, None), None, np.array([1, -4, 3]), slice(None, 3))),
]
IN_RANGE = [  # mode=None reference: NumPy itself
    ("1d", (6,), (np.array([0, 5, -1, -6, 2, 2]),)),
    ("2d-mixed", (3, 4), (slice(None), np.array([[1], [-4]]))),
    ("3d", (2, 3, 4), (np.array([1, -2]), slice(None), np.array([[3], [-1]]))),
]


def _split(idx):
    """``(template, arrays)``: the index with its arrays taken out (to pass them to jit/vmap as arguments)."""
    idx = idx if isinstance(idx, tuple) else (idx,)
    arrays = [i for i in idx if isinstance(i, np.ndarray)]
    return idx, arrays


def _rebuild(template, arrays):
    it = iter(arrays)
    return tuple(next(it) if isinstance(i, np.ndarray) else i for i in template)


def _data(shape, method, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, shape)
    if method in ("multiply", "divide"):
        x = rng.uniform(0.5, 2, shape) * rng.choice([-1, 1], shape)
    return x


def _values(x, idx, method, seed=1):
    out_shape = ref_get(x, idx, "clip").shape
    rng = np.random.default_rng(seed)
    return rng.uniform(0.5, 2, out_shape) * rng.choice([-1, 1], out_shape)


def _call(x, idx, method, v, mode, **kw):
    ref = fnp.asarray(x).at[idx]
    if method == "get":
        return ref.get(mode=mode, **kw)
    if method == "apply":
        return ref.apply(_fun, mode=mode, **kw)
    return getattr(ref, method)(v, mode=mode, **kw)


def _reference(x, idx, method, v, mode):
    if method == "get":
        return ref_get(x, idx, "clip" if mode == "clip" else "fill")
    return ref_update(x, idx, method, v, "clip" if mode == "clip" else "drop")


# ------------------------------------------------------------ values: eager, jit, vmap


@pytest.mark.parametrize("mode", ["clip", "drop", "fill"])
@pytest.mark.parametrize("method", ["get"] + METHODS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_modes_eager_and_jit(case, method, mode):
    _, shape, idx = case
    x = _data(shape, method)
    v = _values(x, idx, method)
    want = _reference(x, idx, method, v, mode)
    np.testing.assert_allclose(_call(x, idx, method, v, mode), want, rtol=1e-12, err_msg="eager")
    template, arrays = _split(idx)
    jitted = fnflow.jit(lambda x, v, *arrs: _call(x, _rebuild(template, arrs), method, v, mode))
    np.testing.assert_allclose(jitted(x, v, *arrays), want, rtol=1e-12, err_msg="jit")


@pytest.mark.parametrize("mode", ["clip", "drop"])
@pytest.mark.parametrize("method", ["get"] + METHODS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_modes_vmap(case, method, mode):
    _, shape, idx = case
    template, arrays = _split(idx)
    xs = np.stack([_data(shape, method, 0), _data(shape, method, 1)])
    arrays_b = [np.stack([a, np.flip(a)]) for a in arrays]
    idx_b = [_rebuild(template, [a[b] for a in arrays_b]) for b in range(2)]
    vs = np.stack([_values(xs[b], idx_b[b], method, b) for b in range(2)])
    want = np.stack([_reference(xs[b], idx_b[b], method, vs[b], mode) for b in range(2)])
    f = fnflow.vmap(lambda x, v, *arrs: _call(x, _rebuild(template, arrs), method, v, mode))
    np.testing.assert_allclose(f(xs, vs, *arrays_b), want, rtol=1e-12, err_msg="vmap over indices")
    # unbatched indices, batched array and values; and vmap inside jit
    want0 = np.stack([_reference(xs[b], idx, method, vs[b], mode) for b in range(2)])
    g = fnflow.vmap(lambda x, v: _call(x, idx, method, v, mode))
    np.testing.assert_allclose(g(xs, vs), want0, rtol=1e-12, err_msg="vmap over the array")
    h = fnflow.jit(fnflow.vmap(lambda x, v, *arrs: _call(x, _rebuild(template, arrs), method, v, mode)))
    np.testing.assert_allclose(h(xs, vs, *arrays_b), want, rtol=1e-12, err_msg="jit(vmap)")


@pytest.mark.parametrize("mode", [None, "promise_in_bounds", "clip", "drop", "fill"])
@pytest.mark.parametrize("method", ["get"] + METHODS)
@pytest.mark.parametrize("case", IN_RANGE, ids=[c[0] for c in IN_RANGE])
def test_in_range_indices_agree_in_every_mode(case, method, mode):
    _, shape, idx = case
    x = _data(shape, method)
    v = _values(x, idx, method)
    want = _reference(x, idx, method, v, "drop")
    if method == "get":
        np.testing.assert_array_equal(want, x[idx])
    np.testing.assert_allclose(_call(x, idx, method, v, mode), want, rtol=1e-12)
    template, arrays = _split(idx)
    jitted = fnflow.jit(lambda x, v, *arrs: _call(x, _rebuild(template, arrs), method, v, mode))
    np.testing.assert_allclose(jitted(x, v, *arrays), want, rtol=1e-12)


@pytest.mark.parametrize("mode", [None, "promise_in_bounds"])
@pytest.mark.parametrize("method", ["get", "set", "add"])
def test_default_mode_raises_when_known_and_clamps_when_traced(method, mode):
    x = np.arange(5.0)
    i = np.array([0, 7, -1, -6, 2])
    with pytest.raises(IndexError, match="index -6 is out of bounds for axis 0 with size 5"):
        _call(x, i, method, 10.0, mode)
    with pytest.raises(IndexError, match="out of bounds"):
        _call(x, (7,), method, 10.0, mode)
    traced = fnflow.jit(lambda x, i: _call(x, i, method, 10.0, mode))(x, i)
    # traced indices are clamped (negatives wrapped once): 7 -> 4, -6 -> -1 -> 0
    want = {"get": [0.0, 4.0, 4.0, 0.0, 2.0], "set": [10.0, 1.0, 10.0, 3.0, 10.0],
            "add": [20.0, 1.0, 12.0, 3.0, 24.0]}[method]
    np.testing.assert_array_equal(traced, want)


# ------------------------------------------------------------ fill values and dtypes


def test_fill_values_by_dtype_match_jax():
    i = np.array([0, 7, -1, -6, 2])
    # jnp.arange(5).astype(dt).at[i].get(mode="fill") in JAX 0.10.2
    np.testing.assert_array_equal(fnp.arange(5.0).at[i].get(mode="fill"), [0.0, np.nan, 4.0, np.nan, 2.0])
    out = fnp.arange(5).at[i].get(mode="fill")
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [0, -2147483648, 4, -2147483648, 2])
    out = fnp.arange(5).astype(np.uint8).at[i].get(mode="drop")
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, [0, 255, 4, 255, 2])
    np.testing.assert_array_equal(fnp.greater(fnp.arange(5), 2).at[i].get(mode="fill"),
                                  [False, True, True, True, False])
    out = fnp.arange(5.0).astype(np.complex64).at[i].get(mode="fill")
    assert out.dtype == np.complex64
    np.testing.assert_array_equal(out, [0, np.nan + 0j, 4, np.nan + 0j, 2])
    # fill_value is cast to the array's dtype (JAX: [1 2])
    np.testing.assert_array_equal(fnp.arange(5).at[np.array([1, 9])].get(mode="fill", fill_value=2.7), [1, 2])
    np.testing.assert_array_equal(fnp.arange(5.0).at[i].get(mode="fill", fill_value=-3), [0, -3, 4, -3, 2])
    jitted = fnflow.jit(lambda x, i, f: x.at[i].get(mode="fill", fill_value=f))(np.arange(5.0), i, -3.0)
    np.testing.assert_array_equal(jitted, [0, -3, 4, -3, 2])


def test_jax_literals():
    """Values printed by JAX 0.10.2 for the same calls."""
    x = fnp.arange(5.0)
    i = np.array([0, 7, -1, -6, 2])
    jax = {
        ("clip", "set"): [10.0, 1.0, 10.0, 3.0, 10.0], ("clip", "add"): [20.0, 1.0, 12.0, 3.0, 24.0],
        ("clip", "multiply"): [0.0, 1.0, 20.0, 3.0, 400.0], ("clip", "divide"): [0.0, 1.0, 0.2, 3.0, 0.04],
        ("clip", "min"): [0.0, 1.0, 2.0, 3.0, 4.0], ("clip", "max"): [10.0, 1.0, 10.0, 3.0, 10.0],
        ("drop", "set"): [10.0, 1.0, 10.0, 3.0, 10.0], ("drop", "add"): [10.0, 1.0, 12.0, 3.0, 14.0],
        ("drop", "multiply"): [0.0, 1.0, 20.0, 3.0, 40.0], ("drop", "divide"): [0.0, 1.0, 0.2, 3.0, 0.4],
        ("drop", "min"): [0.0, 1.0, 2.0, 3.0, 4.0], ("drop", "max"): [10.0, 1.0, 10.0, 3.0, 10.0],
    }
    for (mode, method), want in jax.items():
        np.testing.assert_allclose(getattr(x.at[i], method)(10.0, mode=mode), want, rtol=1e-6, err_msg=(mode, method))
        np.testing.assert_allclose(getattr(x.at[i], method)(10.0, mode="fill" if mode == "drop" else mode), want,
                                   rtol=1e-6)
    np.testing.assert_array_equal(x.at[i].get(mode="clip"), [0.0, 4.0, 4.0, 0.0, 2.0])
    x2 = fnp.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(x2.at[np.array([0, 5]), 1].get(mode="fill"), [1.0, np.nan])
    np.testing.assert_array_equal(x2.at[5, :].get(mode="fill"), [np.nan] * 4)
    np.testing.assert_array_equal(x2.at[:, np.array([1, 9, -4, -5])].get(mode="fill"),
                                  [[1, np.nan, 0, np.nan], [5, np.nan, 4, np.nan], [9, np.nan, 8, np.nan]])
    np.testing.assert_array_equal(x2.at[np.array([0, 5, -3, -4]), 1].set(100.0, mode="drop"),
                                  [[0, 100, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]])
    np.testing.assert_array_equal(x2.at[np.array([0, 5, -3, -4]), 1].set(100.0, mode="clip"),
                                  [[0, 100, 2, 3], [4, 5, 6, 7], [8, 100, 10, 11]])
    np.testing.assert_array_equal(x2.at[5, 1:3].add(100.0, mode="drop"), np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(x2.at[5, 1:3].add(100.0, mode="clip"),
                                  [[0, 1, 2, 3], [4, 5, 6, 7], [8, 109, 110, 11]])
    np.testing.assert_array_equal(x2.at[5].get(mode="clip"), [8, 9, 10, 11])
    assert float(x2.at[5, 1].get(mode="fill", fill_value=7)) == 7.0
    assert float(x2.at[1, 1].get(mode="fill", fill_value=7)) == 5.0
    np.testing.assert_array_equal(x2.at[..., 9].get(mode="fill"), [np.nan] * 3)
    # apply: JAX gives [2. 0. 0.] for mode=None and [2. 0. 1.] for "clip" (fun once per occurrence); fnflow
    # applies fun once per position, so only the out-of-range part is compared here
    np.testing.assert_array_equal(fnp.zeros(3).at[np.array([0, 5])].apply(lambda v: v + 1, mode="drop"), [1, 0, 0])
    np.testing.assert_array_equal(fnp.zeros(3).at[np.array([0, 5])].apply(lambda v: v + 1, mode="clip"), [1, 0, 1])


def test_empty_arrays():
    e = fnp.zeros((0, 3))
    np.testing.assert_array_equal(e.at[np.array([0, 1]), 1].get(mode="fill"), [np.nan, np.nan])
    np.testing.assert_array_equal(e.at[np.array([0, 1]), 1].set(1.0, mode="drop"), np.zeros((0, 3)))
    assert e.at[:, 1].get(mode="clip").shape == (0,)


# ------------------------------------------------------------ errors


def test_unknown_keyword_is_a_type_error_naming_it():
    x = fnp.arange(5.0)
    with pytest.raises(TypeError, match="foo"):
        x.at[0].set(1.0, foo=3)
    with pytest.raises(TypeError, match="fill_value"):
        x.at[0].set(1.0, fill_value=3)  # as in JAX: fill_value is for get only
    with pytest.raises(TypeError, match="bar"):
        x.at[0].get(bar=1)
    with pytest.raises(TypeError, match="positional"):
        x.at[0].add(1.0, "drop")  # keyword-only
    # the hints are accepted (and change nothing)
    out = x.at[np.array([1, 3])].add(1.0, indices_are_sorted=True, unique_indices=True, mode="drop")
    np.testing.assert_array_equal(out, [0, 2, 2, 4, 4])
    np.testing.assert_array_equal(x.at[np.array([1, 3])].get(indices_are_sorted=True, unique_indices=True), [1, 3])
    np.testing.assert_array_equal(x.at[1].apply(fnp.negative, indices_are_sorted=True, unique_indices=False),
                                  [0, -1, 2, 3, 4])


@pytest.mark.parametrize("method", ["get"] + METHODS)
def test_unknown_mode_is_a_value_error_listing_the_valid_ones(method):
    with pytest.raises(ValueError, match=r"unknown mode 'wrap'; valid modes are None, 'promise_in_bounds', "
                                         r"'clip', 'drop' and 'fill'"):
        _call(np.arange(5.0), np.array([1]), method, 1.0, "wrap")


def test_fill_value_needs_fill_mode():
    x = fnp.arange(5.0)
    for mode in (None, "clip", "promise_in_bounds"):
        with pytest.raises(ValueError, match=r"fill_value only applies with mode='fill'"):
            x.at[1].get(mode=mode, fill_value=0.0)
    with pytest.raises(ValueError, match="fill_value must be a scalar"):
        x.at[np.array([1, 7])].get(mode="fill", fill_value=np.zeros(2))


# ------------------------------------------------------------ gradients


GRAD_CASES = [CASES[0], CASES[2], CASES[3], CASES[5], CASES[7]]


@pytest.mark.parametrize("mode", ["clip", "drop"])
@pytest.mark.parametrize("method", ["get", "set", "add", "multiply", "min", "max", "apply"])
@pytest.mark.parametrize("case", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_grads(case, method, mode):
    _, shape, idx = case
    x = _data(shape, method if method != "min" else "add")
    v = _values(x, idx, method)
    if method == "get":
        # fill positions are constants (NaN would poison the finite differences: use a finite fill)
        def f(x, v):
            return fnp.asarray(x).at[idx].get(mode=mode, **({"fill_value": 0.5} if mode == "drop" else {})) * 1.0
    else:
        def f(x, v):
            return _call(x, idx, method, v, mode)
    order = 2 if method in ("get", "set", "add") else 1
    check_grads(f, (x, v), order=order)
    # traced index arrays (masks computed with ops): same derivatives
    template, arrays = _split(idx)

    def g(x, v, *arrs):
        return _call(x, _rebuild(template, arrs), method, v, mode) if method != "get" else \
            fnp.asarray(x).at[_rebuild(template, arrs)].get(mode=mode, **({"fill_value": 0.5} if mode == "drop"
                                                                          else {}))
    check_grads(lambda x, v, *arrs: fnflow.jit(g)(x, v, *arrs), (x, v, *arrays), order=order)


def test_grad_of_dropped_update_is_zero_and_vmap_of_grad():
    x = np.arange(5.0)
    i = np.array([1, 9, -1, -7])
    v = np.array([1.0, 2.0, 3.0, 4.0])
    w = np.arange(1.0, 6.0)
    gx, gv = fnflow.grad(lambda x, v: fnp.sum(x.at[i].set(v, mode="drop") * w), argnums=(0, 1))(x, v)
    np.testing.assert_array_equal(gx, [1, 0, 3, 4, 0])
    np.testing.assert_array_equal(gv, [2, 0, 5, 0])
    gx = fnflow.grad(lambda x: fnp.sum(x.at[i].get(mode="fill", fill_value=0.0) * v))(x)
    np.testing.assert_array_equal(gx, [0, 1, 0, 0, 3])
    gx = fnflow.grad(lambda x: fnp.sum(x.at[i].get(mode="clip") * v))(x)
    np.testing.assert_array_equal(gx, [4, 1, 0, 0, 2 + 3])  # -7 -> -2 -> 0
    # vmap of grad with batched indices
    ib = np.stack([i, np.array([0, 0, 5, -5])])
    gvs = fnflow.vmap(fnflow.grad(lambda v, i: fnp.sum(fnp.asarray(x).at[i].add(v, mode="drop") ** 2)),
                      in_axes=(None, 0))(v, ib)
    np.testing.assert_allclose(gvs, [[2 * (1 + 1), 0, 2 * (4 + 3), 0], [14, 14, 0, 14]])  # -5 is position 0 too


# ------------------------------------------------------------ take / take_along_axis


def test_take_modes_match_jax():
    x = fnp.arange(5.0)
    i = np.array([0, 7, -1, -6, 2])
    # JAX 0.10.2: jnp.take(x, i, mode=m)
    np.testing.assert_array_equal(fnp.take(x, i, mode="wrap"), [0.0, 2.0, 4.0, 4.0, 2.0])
    np.testing.assert_array_equal(fnp.take(x, i, mode="clip"), [0.0, 4.0, 0.0, 0.0, 2.0])
    np.testing.assert_array_equal(fnp.take(x, i, mode="fill"), [0.0, np.nan, 4.0, np.nan, 2.0])
    np.testing.assert_array_equal(fnp.take(x, i, mode="fill", fill_value=-1), [0.0, -1.0, 4.0, -1.0, 2.0])
    # JAX 0.10.2: jnp.take_along_axis(x, i, 0, mode=m)
    np.testing.assert_array_equal(fnp.take_along_axis(x, i, 0, mode="clip"), [0.0, 4.0, 4.0, 0.0, 2.0])
    np.testing.assert_array_equal(fnp.take_along_axis(x, i, 0, mode="fill"), [0.0, np.nan, 4.0, np.nan, 2.0])
    np.testing.assert_array_equal(fnp.take_along_axis(x, i, 0, mode="drop", fill_value=-1), [0, -1, 4, -1, 2])
    with pytest.raises(IndexError, match="out of bounds"):
        fnp.take_along_axis(x, i, 0)
    with pytest.raises(ValueError, match="unknown mode 'drop'; valid modes are None, 'raise', 'wrap'"):
        fnp.take(x, i, mode="drop")
    with pytest.raises(ValueError, match="unknown mode 'wrap'; valid modes are None, 'promise_in_bounds'"):
        fnp.take_along_axis(x, i, 0, mode="wrap")
    with pytest.raises(ValueError, match="fill_value only applies with mode='fill'"):
        fnp.take(x, i, mode="clip", fill_value=0)
    with pytest.raises(ValueError, match="fill_value only applies with mode='fill'"):
        fnp.take_along_axis(x, i, 0, fill_value=0)
    out = fnp.take(x, np.array([1, 3]), unique_indices=True, indices_are_sorted=True)
    np.testing.assert_array_equal(out, [1.0, 3.0])


@pytest.mark.parametrize("mode", ["clip", "fill"])
def test_take_and_take_along_axis_modes_jit_vmap_grad(mode):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 4))
    i = np.array([[0, 9], [-1, -5], [3, 4]])
    n = 4

    def take_ref(row, idx):
        if mode == "clip":
            return row[np.clip(idx, 0, n - 1)]
        return np.where((idx >= -n) & (idx < n), row[np.mod(idx, n)], np.nan)

    want = np.stack([take_ref(a[b], i[b]) for b in range(3)])
    np.testing.assert_array_equal(fnflow.vmap(lambda r, j: fnp.take(r, j, mode=mode))(a, i), want)
    np.testing.assert_array_equal(fnflow.jit(fnflow.vmap(lambda r, j: fnp.take(r, j, mode=mode)))(a, i), want)
    want_all = np.stack([np.stack([take_ref(a[r], i[b]) for r in range(3)]) for b in range(3)])  # (B, 3, 2)
    np.testing.assert_array_equal(fnp.take(a, i, axis=1, mode=mode), np.moveaxis(want_all, 0, 1))
    # take_along_axis: "clip" wraps negatives first (JAX), unlike take's NumPy "clip"
    ci = np.clip(np.where(i < 0, i + n, i), 0, n - 1)
    tal = np.take_along_axis(a, ci, 1)
    if mode == "fill":
        tal = np.where((i >= -n) & (i < n), tal, np.nan)
    np.testing.assert_array_equal(fnp.take_along_axis(a, i, 1, mode=mode), tal)
    np.testing.assert_array_equal(fnflow.jit(lambda a, i: fnp.take_along_axis(a, i, 1, mode=mode))(a, i), tal)
    kw = {"fill_value": 0.0} if mode == "fill" else {}
    check_grads(lambda a: fnp.take(a, i, axis=1, mode=mode, **kw), (a,), order=2)
    check_grads(lambda a, i: fnflow.jit(lambda a, i: fnp.take_along_axis(a, i, 1, mode=mode, **kw))(a, i), (a, i),
                order=2)
