"""keras.datasets.mnist: 70,000 28x28 grayscale handwritten digits (``mnist.npz`` in the Keras cache)."""

from __future__ import annotations

import numpy as np

from fnflow_keras.datasets._files import KERAS_ORIGIN, get_file

FILE_HASH = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def load_data(path="mnist.npz"):
    """Load MNIST: ``(x_train, y_train), (x_test, y_test)``.

    ``x_train`` uint8 ``(60000, 28, 28)`` with pixels 0..255, ``y_train`` uint8 ``(60000,)`` digits 0..9,
    ``x_test`` uint8 ``(10000, 28, 28)``, ``y_test`` uint8 ``(10000,)``. Read from
    ``$KERAS_HOME/datasets/<path>`` (default ``~/.keras/datasets/mnist.npz``), downloaded and checksummed
    from Keras's address when missing.
    """
    fpath = get_file(path, KERAS_ORIGIN + "mnist.npz", FILE_HASH, dataset="mnist")
    with np.load(fpath, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
