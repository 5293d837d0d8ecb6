"""fnflow.data.batches: order, shuffling by key, drop_last and padding."""

import numpy as np
import pytest

import fnflow.random as fr
from fnflow.data import batches


def _data(n=10):
    return {"x": np.arange(n * 2, dtype=np.float32).reshape(n, 2), "y": np.arange(n, dtype=np.int32)}


def test_sequential_batches_cover_everything_once():
    out = list(batches(_data(), 4))
    assert [len(b["y"]) for b in out] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b["y"] for b in out]), np.arange(10))
    np.testing.assert_array_equal(out[0]["x"][1], [2, 3])


def test_shuffle_is_a_permutation_determined_by_the_key():
    a = np.concatenate([b["y"] for b in batches(_data(), 3, key=fr.key(1))])
    b = np.concatenate([b["y"] for b in batches(_data(), 3, key=fr.key(1))])
    c = np.concatenate([b["y"] for b in batches(_data(), 3, key=fr.key(2))])
    np.testing.assert_array_equal(a, b)
    assert sorted(a.tolist()) == list(range(10)) and not np.array_equal(a, c)
    e1 = np.concatenate([b["y"] for b in batches(_data(), 3, key=fr.key(1), epoch=1)])
    assert not np.array_equal(a, e1)


def test_rows_stay_aligned_across_leaves():
    for b in batches(_data(), 4, key=fr.key(3)):
        np.testing.assert_array_equal(b["x"][:, 0], b["y"] * 2)


def test_drop_last_and_pad():
    assert [len(b["y"]) for b in batches(_data(), 4, drop_last=True)] == [4, 4]
    items = list(batches(_data(), 4, pad=True))
    assert len(items) == 3
    last, mask = items[-1]
    assert last["y"].shape == (4,) and mask.tolist() == [True, True, False, False]
    np.testing.assert_array_equal(last["y"][:2], [8, 9])


def test_errors():
    with pytest.raises(ValueError, match="same first axis"):
        batches({"x": np.zeros((3, 2)), "y": np.zeros(4)}, 2)
    with pytest.raises(ValueError, match="drop_last or pad"):
        batches(_data(), 2, drop_last=True, pad=True)
