"""keras.datasets.cifar10: 60,000 32x32 colour images in 10 classes (Krizhevsky, 2009)."""

from __future__ import annotations

import os

import numpy as np

from fnflow_keras.datasets._cifar import batches_folder, load_batch, to_data_format

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
FILE_HASH = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def load_data():
    """Load CIFAR-10: ``(x_train, y_train), (x_test, y_test)``.

    ``x_train`` uint8 ``(50000, 32, 32, 3)`` (channels first ``(50000, 3, 32, 32)`` when
    ``keras.backend.image_data_format()`` is ``"channels_first"``), ``y_train`` uint8 ``(50000, 1)``,
    ``x_test`` uint8 ``(10000, 32, 32, 3)``, ``y_test`` uint8 ``(10000, 1)``.
    """
    folder = batches_folder(dataset="cifar10", target="cifar-10-batches-py-target", inner="cifar-10-batches-py",
                            legacy="cifar-10-batches-py", url=URL, file_hash=FILE_HASH, files=BATCHES)
    parts = [load_batch(os.path.join(folder, name)) for name in BATCHES[:-1]]
    x_train = np.concatenate([p[0] for p in parts]).astype(np.uint8)
    y_train = np.concatenate([np.asarray(p[1]) for p in parts]).astype(np.uint8).reshape(-1, 1)
    x_test, y_test = load_batch(os.path.join(folder, BATCHES[-1]))
    x_test = np.asarray(x_test).astype(np.uint8)
    y_test = np.asarray(y_test).astype(np.uint8).reshape(-1, 1)
    return (to_data_format(x_train), y_train), (to_data_format(x_test), y_test)
