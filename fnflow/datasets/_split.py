"""A deterministic train/test split for arrays that share a leading axis."""

from __future__ import annotations

import numpy as np


def train_test_split(*arrays, test_fraction: float = 0.2, seed: int = 0):
    """Split ``arrays`` along axis 0 into a shuffled train part and test part.

    The permutation depends only on the number of rows and ``seed``, so the same
    call always gives the same split. Returns ``(a_train, a_test, b_train, b_test, ...)``
    in the order of ``arrays``, like scikit-learn's helper of the same name.
    """
    if not arrays:
        raise ValueError("train_test_split needs at least one array")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    n = len(arrays[0])
    for a in arrays[1:]:
        if len(a) != n:
            raise ValueError(f"train_test_split: arrays have different lengths {[len(a) for a in arrays]}")
    n_test = int(round(n * test_fraction))
    if not 0 < n_test < n:
        raise ValueError(f"test_fraction={test_fraction} leaves an empty part for {n} rows")
    perm = np.random.default_rng(seed).permutation(n)
    test_idx, train_idx = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    out = []
    for a in arrays:
        a = np.asarray(a)
        out += [_frozen(a[train_idx]), _frozen(a[test_idx])]
    return tuple(out)


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a
