"""The UCI handwritten digits bundled with fnflow, shaped like ``keras.datasets.mnist`` (no download).

1,797 images of 8x8 pixels. The original pixel counts 0..16 are scaled to uint8 0..255
(``round(count * 255 / 16)``) so MNIST code such as ``x_train / 255.0`` works unchanged; labels are
uint8 0..9, as in MNIST.
"""

from __future__ import annotations

import numpy as np

from fnflow.datasets import load_digits


def load_data(test_split=0.2, seed=0):
    """Load the digits: ``(x_train uint8 (1438, 8, 8), y_train uint8 (1438,)), (x_test (359, 8, 8), y_test)``.

    The split is fnflow's deterministic shuffle (``fnflow.datasets.load_digits(return_split=True,
    test_fraction=test_split, seed=seed)``). Arrays are fresh, writable NumPy arrays.
    """
    (x_train, y_train), (x_test, y_test) = load_digits(return_split=True, test_fraction=test_split, seed=seed)

    def pixels(x):
        return np.rint(np.asarray(x, np.float64) * 255.0).astype(np.uint8)

    def labels(y):
        return np.asarray(y).astype(np.uint8)

    return (pixels(x_train), labels(y_train)), (pixels(x_test), labels(y_test))
