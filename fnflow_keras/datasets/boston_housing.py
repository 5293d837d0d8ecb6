"""keras.datasets.boston_housing: 506 rows of 13 attributes of Boston suburbs (1970s) and their median price.

Keras warns about this data set's ethical problem (an attribute built on the proportion of Black
residents); prefer ``california_housing`` style data for anything but illustrating that problem.
"""

from __future__ import annotations

import numpy as np

from fnflow_keras.datasets._files import KERAS_ORIGIN, get_file

FILE_HASH = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """Load the data: ``(x_train (N, 13), y_train (N,)), (x_test, y_test)`` as float64, shuffled with
    ``np.random.RandomState(seed)`` and split with the last ``test_split`` fraction as the test set."""
    if not 0 <= test_split < 1:
        raise ValueError(f"test_split must be in [0, 1), got {test_split}")
    fpath = get_file(path, KERAS_ORIGIN + "boston_housing.npz", FILE_HASH, dataset="boston_housing")
    with np.load(fpath, allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    x, y = x[order], y[order]
    n = int(len(x) * (1 - test_split))
    return (np.array(x[:n]), np.array(y[:n])), (np.array(x[n:]), np.array(y[n:]))
