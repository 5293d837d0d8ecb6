"""keras.datasets.cifar100: 60,000 32x32 colour images in 100 fine classes grouped in 20 coarse ones."""

from __future__ import annotations

import os

import numpy as np

from fnflow_keras.datasets._cifar import batches_folder, load_batch, to_data_format

URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
FILE_HASH = "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"


def load_data(label_mode="fine"):
    """Load CIFAR-100: ``(x_train, y_train), (x_test, y_test)``.

    ``x_train`` uint8 ``(50000, 32, 32, 3)``, ``x_test`` uint8 ``(10000, 32, 32, 3)`` (channels first under
    ``"channels_first"``); ``y_train`` ``(50000, 1)`` and ``y_test`` ``(10000, 1)`` hold the fine labels
    (0..99) or, with ``label_mode="coarse"``, the superclasses (0..19). As in Keras 3 the labels come back
    as int64 (Keras does not cast them to uint8 for CIFAR-100).
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f'`label_mode` must be one of "fine", "coarse". Received: label_mode={label_mode}.')
    folder = batches_folder(dataset="cifar100", target="cifar-100-python-target", inner="cifar-100-python",
                            legacy="cifar-100-python", url=URL, file_hash=FILE_HASH, files=("train", "test"))
    key = label_mode + "_labels"
    x_train, y_train = load_batch(os.path.join(folder, "train"), label_key=key)
    x_test, y_test = load_batch(os.path.join(folder, "test"), label_key=key)
    y_train = np.reshape(np.asarray(y_train, dtype=np.int64), (-1, 1))
    y_test = np.reshape(np.asarray(y_test, dtype=np.int64), (-1, 1))
    return (to_data_format(x_train), y_train), (to_data_format(x_test), y_test)
