"""keras.datasets: Keras's small data sets read from (and downloaded to) Keras's own cache folder.

``mnist``, ``fashion_mnist``, ``cifar10``, ``cifar100``, ``imdb`` and ``boston_housing`` return the same
tuples, shapes and dtypes as Keras 3 and share its cache (``$KERAS_HOME/datasets``, default
``~/.keras/datasets``). ``digits`` is fnflow's bundled 8x8 digits in MNIST's shape, always offline.
"""

from fnflow_keras.datasets import boston_housing, cifar10, cifar100, digits, fashion_mnist, imdb, mnist
from fnflow_keras.datasets._files import DatasetNotAvailableError

__all__ = ["DatasetNotAvailableError", "boston_housing", "cifar10", "cifar100", "digits", "fashion_mnist", "imdb",
           "mnist"]
