"""The UCI optical recognition of handwritten digits data set (8x8 images).

The file ``data/digits.csv.gz`` is the copy scikit-learn ships (the UCI test set,
1,797 rows of 64 pixel counts in 0..16 followed by the label); see
``data/README.md`` for its source and licence.
"""

from __future__ import annotations

import functools
import gzip
from importlib import resources

import numpy as np

from fnflow.datasets._split import _frozen, train_test_split

N_ROWS = 1797
N_CLASSES = 10


@functools.lru_cache(maxsize=1)
def _raw() -> np.ndarray:
    """The parsed file as an int array of shape (1797, 65); read once per process."""
    with resources.files("fnflow.datasets").joinpath("data/digits.csv.gz").open("rb") as fh:
        text = gzip.decompress(fh.read()).decode("ascii")
    raw = np.loadtxt(text.splitlines(), delimiter=",", dtype=np.int32)
    if raw.shape != (N_ROWS, 65):
        raise RuntimeError(f"digits.csv.gz is damaged: expected shape ({N_ROWS}, 65), got {raw.shape}")
    raw.flags.writeable = False
    return raw


def load_digits(return_split: bool = False, test_fraction: float = 0.2, seed: int = 0):
    """Load the handwritten digits: float32 images ``(N, 8, 8)`` in ``[0, 1]`` and int32 labels ``(N,)``.

    Pixels are the original counts 0..16 divided by 16. With ``return_split=False``
    (default) returns ``(images, labels)`` for all 1,797 rows. With
    ``return_split=True`` returns ``((x_train, y_train), (x_test, y_test))`` from a
    shuffled split that depends only on ``test_fraction`` and ``seed``.
    The arrays are read-only NumPy arrays; pass them straight to fnflow functions.

    >>> (x_train, y_train), (x_test, y_test) = load_digits(return_split=True)
    >>> x_train.shape, x_test.shape
    ((1438, 8, 8), (359, 8, 8))
    """
    raw = _raw()
    images = _frozen((raw[:, :64].reshape(-1, 8, 8) / np.float32(16.0)).astype(np.float32))
    labels = _frozen(raw[:, 64].astype(np.int32))
    if not return_split:
        return images, labels
    x_train, x_test, y_train, y_test = train_test_split(images, labels, test_fraction=test_fraction, seed=seed)
    return (x_train, y_train), (x_test, y_test)
