"""fnflow.datasets: the shipped digits load with the documented shapes, values and split."""

import numpy as np
import pytest

from fnflow.datasets import load_digits, train_test_split


def test_digits_shapes_dtypes_and_range():
    x, y = load_digits()
    assert x.shape == (1797, 8, 8) and x.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int32
    assert x.min() == 0.0 and x.max() == 1.0
    # pixels are counts 0..16 scaled by 1/16, so 16 * x is integral
    np.testing.assert_array_equal(x * 16, np.round(x * 16))
    assert not x.flags.writeable and not y.flags.writeable


def test_digits_label_counts():
    _, y = load_digits()
    counts = np.bincount(y)
    assert len(counts) == 10
    np.testing.assert_array_equal(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])


def test_digits_first_image_is_a_zero():
    x, y = load_digits()
    assert y[0] == 0
    # the first image's top row as stored in the file: 0,0,5,13,9,1,0,0
    np.testing.assert_allclose(x[0, 0] * 16, [0, 0, 5, 13, 9, 1, 0, 0])


def test_split_is_a_deterministic_partition():
    (xa, ya), (xb, yb) = load_digits(return_split=True)
    assert xa.shape == (1438, 8, 8) and xb.shape == (359, 8, 8)
    assert ya.shape == (1438,) and yb.shape == (359,)
    (xa2, ya2), (xb2, yb2) = load_digits(return_split=True)
    for a, b in [(xa, xa2), (ya, ya2), (xb, xb2), (yb, yb2)]:
        np.testing.assert_array_equal(a, b)
    # train and test together are exactly the full data set (as a multiset of rows)
    x, y = load_digits()
    full = np.concatenate([x.reshape(-1, 64), y[:, None]], axis=1)
    parts = np.concatenate([np.concatenate([xa.reshape(-1, 64), ya[:, None]], 1),
                            np.concatenate([xb.reshape(-1, 64), yb[:, None]], 1)])
    np.testing.assert_array_equal(full[np.lexsort(full.T)], parts[np.lexsort(parts.T)])
    assert len(np.unique(yb)) == 10


def test_split_depends_on_seed_and_fraction():
    (_, ya), (_, yb) = load_digits(return_split=True, seed=0)
    (_, ya1), (_, yb1) = load_digits(return_split=True, seed=1)
    assert len(yb1) == len(yb) and not np.array_equal(ya, ya1)
    (_, _), (_, y_half) = load_digits(return_split=True, test_fraction=0.5)
    assert len(y_half) == 898 or len(y_half) == 899


def test_train_test_split_helper():
    a = np.arange(10)
    b = np.arange(10) * 10
    a_tr, a_te, b_tr, b_te = train_test_split(a, b, test_fraction=0.3, seed=3)
    assert len(a_te) == 3 and len(a_tr) == 7
    np.testing.assert_array_equal(b_tr, a_tr * 10)
    np.testing.assert_array_equal(b_te, a_te * 10)
    assert sorted(np.concatenate([a_tr, a_te]).tolist()) == list(range(10))
    again = train_test_split(a, b, test_fraction=0.3, seed=3)
    for u, v in zip((a_tr, a_te, b_tr, b_te), again):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("kwargs", [dict(test_fraction=0.0), dict(test_fraction=1.0)])
def test_train_test_split_rejects_bad_fraction(kwargs):
    with pytest.raises(ValueError, match="test_fraction"):
        train_test_split(np.arange(10), **kwargs)


def test_train_test_split_rejects_length_mismatch():
    with pytest.raises(ValueError, match="different lengths"):
        train_test_split(np.arange(10), np.arange(9))
