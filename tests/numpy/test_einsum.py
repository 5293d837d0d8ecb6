"""fnflow.numpy.einsum: values vs numpy.einsum over a table of subscripts, derivatives vs finite
differences (first and second order), vmap vs Python loops, errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnflow as ff
import fnflow.numpy as fnp
from fnflow.testing import check_grads as _check_grads


def check_grads(f, args, order=2, eps=1e-6, rtol=1e-5, atol=1e-6, seed=0):
    """fnflow.testing.check_grads in float64 with this file's tolerances."""
    return _check_grads(f, tuple(np.asarray(a, np.float64) for a in args), order=order, eps=eps, rtol=rtol, atol=atol)


CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ii", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("ij->", [(2, 3)]),
    ("ij", [(2, 3)]),
    ("ji", [(2, 3)]),
    ("ijk->kji", [(2, 3, 4)]),
    ("i,i", [(3,), (3,)]),
    ("i,i->i", [(3,), (3,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("i,j", [(3,), (4,)]),
    ("iij->j", [(3, 3, 2)]),
    ("iji->j", [(3, 2, 3)]),
    ("iii->i", [(2, 2, 2)]),
    ("...ij,...jk->...ik", [(5, 2, 3), (5, 3, 4)]),
    ("...ij,jk", [(5, 2, 3), (3, 4)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("i...->...", [(3, 2, 4)]),
    ("...,...->...", [(2, 1, 3), (4, 3)]),
    ("i,i->", [(1,), (4,)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bij,bjk->bk", [(2, 3, 4), (2, 4, 5)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]),
    ("ijk,ikl,ilm->ijm", [(2, 3, 4), (2, 4, 5), (2, 5, 6)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("ab,cd,ef->", [(2, 2), (2, 3), (3, 2)]),
    ("a,b,c", [(2,), (3,), (4,)]),
    (",ij->ij", [(), (2, 3)]),
    ("ij,kl->ilkj", [(2, 3), (4, 5)]),
    ("ba,ca,da->bcd", [(2, 3), (4, 3), (5, 3)]),
    ("ij,ji->", [(3, 4), (4, 3)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("i j , j k -> i k", [(2, 3), (3, 4)]),
]


def _args(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s) for s in shapes]


@pytest.mark.parametrize("optimize", [False, True])
@pytest.mark.parametrize("spec,shapes", CASES, ids=[c[0] for c in CASES])
def test_values(spec, shapes, optimize):
    args = _args(shapes)
    got = fnp.einsum(spec, *args, optimize=optimize)
    want = np.einsum(spec, *args)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("spec,shapes", CASES, ids=[c[0] for c in CASES])
def test_grads(spec, shapes):
    check_grads(lambda *a: fnp.einsum(spec, *a), _args(shapes), order=2)


@pytest.mark.parametrize("spec,shapes", [c for c in CASES if len(c[1]) <= 3 and all(c[1])],
                         ids=[c[0] for c in CASES if len(c[1]) <= 3 and all(c[1])])
def test_vmap(spec, shapes):
    args = [np.stack([a, 2 * a - 1, a ** 2]) for a in _args(shapes)]
    f = lambda *a: fnp.einsum(spec, *a)  # noqa: E731
    got = ff.vmap(f)(*args)
    for i in range(3):
        np.testing.assert_allclose(got[i], np.einsum(spec, *[a[i] for a in args]), rtol=1e-10, atol=1e-12)
    # only the first operand mapped, at its last axis
    moved = np.moveaxis(args[0], 0, -1)
    got = ff.vmap(f, in_axes=(-1,) + (None,) * (len(args) - 1))(moved, *[a[0] for a in args[1:]])
    for i in range(3):
        np.testing.assert_allclose(got[i], np.einsum(spec, args[0][i], *[a[0] for a in args[1:]]),
                                   rtol=1e-10, atol=1e-12)


def test_interleaved_and_dtypes():
    a, b = _args([(2, 3), (3, 4)])
    np.testing.assert_allclose(fnp.einsum(a, [0, 1], b, [1, 2], [0, 2]), a @ b, rtol=1e-12)
    np.testing.assert_allclose(fnp.einsum(a, [Ellipsis, 1], b, [1, 2]), np.einsum(a, [Ellipsis, 1], b, [1, 2]),
                               rtol=1e-12)
    x = fnp.einsum("ij,jk", a.astype(np.float32), b.astype(np.float32))
    assert x.dtype == np.float32
    assert fnp.einsum("ij,jk", a.astype(np.float32), b).dtype == np.float64
    assert fnp.einsum("i,i", np.arange(3), np.arange(3)).dtype == np.arange(3).dtype
    assert fnp.einsum("ij->", a, dtype=np.float32).dtype == np.float32


def test_is_lowered_to_dot_general():
    g = ff.make_graph(lambda a, b, c: fnp.einsum("ij,jk,kl->il", a, b, c))(*_args([(2, 3), (3, 4), (4, 5)]))
    text = str(g)
    assert text.count("dot_general") == 2 and "einsum" not in text


def test_grad_through_diagonal_and_trace():
    a = _args([(3, 3)])[0]
    np.testing.assert_allclose(ff.grad(lambda a: fnp.einsum("ii", a))(a), np.eye(3))
    np.testing.assert_allclose(ff.grad(lambda a: fnp.einsum("ii->i", a).sum())(a), np.eye(3))


def test_errors():
    a = np.ones((2, 3))
    with pytest.raises(ValueError, match="einsum.*operand"):
        fnp.einsum("ij,jk", a)
    with pytest.raises(ValueError, match="einsum.*3 axes|einsum.*2 axes"):
        fnp.einsum("ijk", a)
    with pytest.raises(ValueError, match="einsum: label 'j' has size 3 .* and 2"):
        fnp.einsum("ij,jk", a, a)
    with pytest.raises(ValueError, match="einsum.*'k'.*no input"):
        fnp.einsum("ij->ik", a)
    with pytest.raises(ValueError, match="einsum.*more than once"):
        fnp.einsum("ij->ii", a)
    with pytest.raises(ValueError, match="einsum.*invalid subscript"):
        fnp.einsum("i2", a)
    with pytest.raises(ValueError, match="einsum: label 'i' has size 2 .* and 3"):
        fnp.einsum("ii", a)
    with pytest.raises(ValueError, match="einsum.*at least one"):
        fnp.einsum("")
    with pytest.raises(ValueError, match="einsum.*ellipsis"):
        fnp.einsum("...i...", a)


@settings(derandomize=True, deadline=None, max_examples=15)
@given(data=st.data())
def test_random_contractions(data):
    letters = "abcde"
    sizes = {c: data.draw(st.integers(1, 3)) for c in letters}
    n_ops = data.draw(st.integers(1, 3))
    terms = [data.draw(st.lists(st.sampled_from(letters), min_size=0, max_size=3)) for _ in range(n_ops)]
    used = sorted({c for t in terms for c in t})
    out = data.draw(st.lists(st.sampled_from(used), unique=True)) if used else []
    spec = ",".join("".join(t) for t in terms) + "->" + "".join(out)
    rng = np.random.default_rng(0)
    args = [rng.normal(size=[sizes[c] for c in t]) for t in terms]
    np.testing.assert_allclose(fnp.einsum(spec, *args), np.einsum(spec, *args), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fnp.einsum(spec, *args, optimize=True), np.einsum(spec, *args), rtol=1e-10,
                               atol=1e-12)
    check_grads(lambda *a: fnp.einsum(spec, *a), args, order=1)
