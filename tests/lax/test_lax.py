"""fnflow.lax low-level ops: jax.lax names and signatures over fnflow's primitives."""

import numpy as np
import pytest

import fnflow
import fnflow.numpy as fnp
from fnflow import lax
from fnflow.testing import check_grads

rng = np.random.default_rng(1)


def test_elementwise_names():
    x = rng.uniform(0.5, 2.0, size=(3, 4))
    y = rng.uniform(0.5, 2.0, size=(3, 4))
    np.testing.assert_allclose(lax.add(x, y), x + y)
    np.testing.assert_allclose(lax.sub(x, y), x - y)
    np.testing.assert_allclose(lax.mul(x, y), x * y)
    np.testing.assert_allclose(lax.div(x, y), x / y)
    np.testing.assert_allclose(lax.neg(x), -x)
    np.testing.assert_allclose(lax.max(x, y), np.maximum(x, y))
    np.testing.assert_allclose(lax.min(x, y), np.minimum(x, y))
    np.testing.assert_allclose(lax.exp(x), np.exp(x))
    np.testing.assert_allclose(lax.log(x), np.log(x))
    np.testing.assert_allclose(lax.tanh(x), np.tanh(x))
    np.testing.assert_allclose(lax.logistic(x), 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(lax.rsqrt(x), 1 / np.sqrt(x))
    np.testing.assert_allclose(lax.square(x), x * x)
    np.testing.assert_allclose(lax.erf(np.array([0.0, 0.5])), [0.0, 0.5204998778130465], rtol=1e-12)
    np.testing.assert_allclose(lax.select(x > y, x, y), np.maximum(x, y))
    assert lax.convert_element_type(x, np.int32).dtype == np.int32
    np.testing.assert_allclose(lax.stop_gradient(x), x)
    assert float(fnflow.grad(lambda v: lax.stop_gradient(v) * v)(2.0)) == 2.0


def test_integer_pow():
    x = rng.normal(size=5)
    for n in (0, 1, 2, 3, 5, -2):
        np.testing.assert_allclose(lax.integer_pow(x, n), x ** float(n), rtol=1e-12)
    assert lax.integer_pow(np.arange(4, dtype=np.int32), 3).tolist() == [0, 1, 8, 27]
    check_grads(lambda v: lax.integer_pow(v, 3), (x,), order=2)


def test_shape_ops():
    x = rng.normal(size=(2, 3, 4))
    np.testing.assert_allclose(lax.reshape(x, (6, 4)), x.reshape(6, 4))
    np.testing.assert_allclose(lax.reshape(x, (4, 6), dimensions=(2, 0, 1)), x.transpose(2, 0, 1).reshape(4, 6))
    np.testing.assert_allclose(lax.transpose(x, (2, 0, 1)), x.transpose(2, 0, 1))
    np.testing.assert_allclose(lax.broadcast_in_dim(np.arange(3.0), (2, 3), (1,)),
                               np.broadcast_to(np.arange(3.0), (2, 3)))
    np.testing.assert_allclose(lax.concatenate([x, x], 1), np.concatenate([x, x], 1))
    np.testing.assert_allclose(lax.slice(x, (0, 1, 0), (2, 3, 4), (1, 1, 2)), x[:, 1:3, ::2])
    np.testing.assert_allclose(lax.slice_in_dim(x, 1, None, axis=2), x[:, :, 1:])
    np.testing.assert_allclose(lax.slice_in_dim(x, -2, None, axis=1), x[:, -2:])
    np.testing.assert_allclose(lax.rev(x, (0, 2)), x[::-1, :, ::-1])
    np.testing.assert_allclose(lax.squeeze(x[:, :1], (1,)), x[:, 0])
    assert lax.iota(np.int32, 4).tolist() == [0, 1, 2, 3]


def test_pad_with_interior():
    x = np.arange(1.0, 4.0)
    np.testing.assert_allclose(lax.pad(x, 0.0, [(1, 2, 0)]), [0, 1, 2, 3, 0, 0])
    np.testing.assert_allclose(lax.pad(x, -1.0, [(0, 0, 2)]), [1, -1, -1, 2, -1, -1, 3])
    np.testing.assert_allclose(lax.pad(x, 0.0, [(-1, 1, 1)]), [0, 2, 0, 3, 0])
    m = np.arange(6.0).reshape(2, 3)
    out = lax.pad(m, 9.0, [(1, 0, 1), (0, 1, 0)])
    np.testing.assert_allclose(out, [[9, 9, 9, 9], [0, 1, 2, 9], [9, 9, 9, 9], [3, 4, 5, 9]])
    check_grads(lambda v, p: lax.pad(v, p, [(1, 0, 1), (-1, 2, 2)]), (m, 0.5), order=2)
    with pytest.raises(ValueError, match="interior"):
        lax.pad(x, 0.0, [(0, 0, -1)])


def test_reductions_and_cumulative():
    x = rng.normal(size=(3, 4))
    np.testing.assert_allclose(lax.reduce_sum(x, (0,)), x.sum(0))
    np.testing.assert_allclose(lax.reduce_max(x, (1,)), x.max(1))
    np.testing.assert_allclose(lax.reduce_min(x, (0, 1)), x.min())
    np.testing.assert_allclose(lax.reduce_prod(x, (1,)), x.prod(1))
    idx = lax.argmax(x, 1, np.int32)
    assert idx.dtype == np.int32 and idx.tolist() == x.argmax(1).tolist()
    assert lax.argmin(x, 0, np.int64).dtype == np.int64
    np.testing.assert_allclose(lax.cumsum(x), np.cumsum(x, 0))  # lax's default axis is 0
    np.testing.assert_allclose(lax.cumsum(x, 1, reverse=True), np.cumsum(x[:, ::-1], 1)[:, ::-1])
    np.testing.assert_allclose(lax.cumprod(x, 1), np.cumprod(x, 1))
    np.testing.assert_allclose(lax.cummax(x, 0), np.maximum.accumulate(x, 0))
    np.testing.assert_allclose(lax.cummin(x, 0), np.minimum.accumulate(x, 0))
    out = lax.associative_scan(lambda a, b: (a[0] + b[0],), (x,), axis=1)
    np.testing.assert_allclose(out[0], np.cumsum(x, 1))


def test_dot_general_and_dot():
    a, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 4, 5))
    out = lax.dot_general(a, b, (((2,), (1,)), ((0,), (0,))))
    np.testing.assert_allclose(out, np.einsum("bij,bjk->bik", a, b), rtol=1e-12)
    out32 = lax.dot_general(a.astype(np.float32), b.astype(np.float32), (((2,), (1,)), ((0,), (0,))),
                            preferred_element_type=np.float64)
    assert out32.dtype == np.float64
    np.testing.assert_allclose(lax.dot(a[0], b[0]), a[0] @ b[0], rtol=1e-12)
    np.testing.assert_allclose(lax.dot(a[0, 0], b[0]), a[0, 0] @ b[0], rtol=1e-12)


def test_sort_and_top_k_when_available():
    x = np.array([3.0, 1.0, 2.0, 5.0])
    np.testing.assert_allclose(lax.sort(x), np.sort(x))
    vals, idx = lax.top_k(x, 2)
    np.testing.assert_allclose(vals, [5.0, 3.0])
    assert idx.tolist() == [3, 0]
    with pytest.raises(AttributeError):
        lax.no_such_op  # noqa: B018


def test_ops_compose_with_transforms():
    x = rng.normal(size=(4, 3))
    f = lambda v: lax.reduce_sum(lax.tanh(lax.dot(v, v.T)), (0, 1))
    check_grads(f, (x,), order=2)
    np.testing.assert_allclose(fnflow.vmap(lambda v: lax.cumsum(v))(x), np.cumsum(x, 1))
    np.testing.assert_allclose(fnflow.vmap(lambda v: lax.pad(v, 0.0, [(0, 0, 1)]))(x),
                               np.stack([lax.pad(r, 0.0, [(0, 0, 1)]) for r in x]))
    g = fnflow.make_graph(lambda v: fnp.sum(lax.integer_pow(v, 2)))(x)
    assert "mul" in str(g)
