"""keras.datasets.fashion_mnist: 70,000 28x28 grayscale images of 10 kinds of clothing (Zalando, MIT licence).

Read from Keras's cache folder ``$KERAS_HOME/datasets/fashion-mnist/`` (four gzipped IDX files).
"""

from __future__ import annotations

import os

from fnflow_keras.datasets._files import KERAS_ORIGIN, cache_dirs, get_file
from fnflow_keras.datasets._idx import read_idx_gz

FILE_HASHES = {
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
}
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot")


def load_data():
    """Load Fashion-MNIST: ``(x_train, y_train), (x_test, y_test)``, shaped and typed like MNIST.

    ``x_train`` uint8 ``(60000, 28, 28)``, ``y_train`` uint8 ``(60000,)`` (labels 0..9, see
    ``CLASS_NAMES``), ``x_test`` uint8 ``(10000, 28, 28)``, ``y_test`` uint8 ``(10000,)``.
    """
    folder = os.path.join(cache_dirs()[0], "fashion-mnist")
    paths = {name: get_file(name, KERAS_ORIGIN + name, h, dataset="fashion_mnist", cache_subdir="fashion-mnist",
                            hint=f"the four files {', '.join(FILE_HASHES)} in {folder}")
             for name, h in FILE_HASHES.items()}
    y_train = read_idx_gz(paths["train-labels-idx1-ubyte.gz"])
    x_train = read_idx_gz(paths["train-images-idx3-ubyte.gz"]).reshape(len(y_train), 28, 28)
    y_test = read_idx_gz(paths["t10k-labels-idx1-ubyte.gz"])
    x_test = read_idx_gz(paths["t10k-images-idx3-ubyte.gz"]).reshape(len(y_test), 28, 28)
    return (x_train, y_train), (x_test, y_test)
