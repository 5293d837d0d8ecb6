"""Small real data sets shipped with fnflow, loaded without any download.

``load_digits`` gives the UCI optical handwritten digits (1,797 8x8 images);
``train_test_split`` is the deterministic split it uses.
"""

from fnflow.datasets._digits import load_digits
from fnflow.datasets._split import train_test_split

__all__ = ["load_digits", "train_test_split"]
