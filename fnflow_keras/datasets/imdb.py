"""keras.datasets.imdb: 50,000 movie reviews as sequences of word indices, labelled positive (1) or negative (0).

Words are ranked by frequency in the training set: stored index ``i`` is the ``i``-th most frequent word.
``load_data`` shifts every index by ``index_from`` (default 3) to keep 0 for padding, 1 (``start_char``)
for the start of a review and 2 (``oov_char``) for words cut by ``num_words``/``skip_top``.
"""

from __future__ import annotations

import json

import numpy as np

from fnflow_keras.datasets._files import KERAS_ORIGIN, get_file
from fnflow_keras.datasets._safe_pickle import load_npz

FILE_HASH = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX_HASH = "bfafd718b763782e994055a2d397834f"  # MD5, as Keras gives it


def _object_array(seqs):
    # a 1-D object array of lists, even when every list has the same length
    out = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):
        out[i] = s
    return out


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
              index_from=3, **kwargs):
    """Load IMDB: ``(x_train, y_train), (x_test, y_test)``, 25,000 reviews each.

    ``x_*`` are 1-D object arrays of lists of ints, ``y_*`` int arrays of 0/1. Both splits are shuffled
    with ``np.random.RandomState(seed)`` as in Keras. Every word index ``w`` becomes ``w + index_from``
    and each review starts with ``start_char`` (unless it is None). ``maxlen`` drops the reviews whose
    length (start mark included) is ``maxlen`` or more. Indices outside ``[skip_top, num_words)`` become
    ``oov_char`` (or are dropped when ``oov_char`` is None); without ``num_words`` the bound is the
    largest index present, exactly as Keras computes it.
    """
    if kwargs:
        raise TypeError(f"Unrecognized keyword arguments: {sorted(kwargs)}")
    f = load_npz(get_file(path, KERAS_ORIGIN + "imdb.npz", FILE_HASH, dataset="imdb"))
    x_train, labels_train, x_test, labels_test = f["x_train"], f["y_train"], f["x_test"], f["y_test"]

    rng = np.random.RandomState(seed)
    order = np.arange(len(x_train))
    rng.shuffle(order)
    x_train, labels_train = x_train[order], labels_train[order]
    order = np.arange(len(x_test))
    rng.shuffle(order)
    x_test, labels_test = x_test[order], labels_test[order]

    head = [start_char] if start_char is not None else []
    shift = index_from or 0
    x_train = [head + [int(w) + shift for w in x] for x in x_train]
    x_test = [head + [int(w) + shift for w in x] for x in x_test]

    if maxlen:
        keep = [i for i, x in enumerate(x_train) if len(x) < maxlen]
        x_train, labels_train = [x_train[i] for i in keep], labels_train[keep]
        keep = [i for i, x in enumerate(x_test) if len(x) < maxlen]
        x_test, labels_test = [x_test[i] for i in keep], labels_test[keep]
        if not x_train or not x_test:
            raise ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was kept. "
                             "Increase maxlen.")

    xs = x_train + x_test
    if not num_words:
        num_words = max(max(x) for x in xs if x)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]

    n = len(x_train)
    return (_object_array(xs[:n]), np.asarray(labels_train)), (_object_array(xs[n:]), np.asarray(labels_test))


def get_word_index(path="imdb_word_index.json"):
    """The dict mapping each word to its (unshifted) frequency rank, from ``imdb_word_index.json``."""
    fpath = get_file(path, KERAS_ORIGIN + "imdb_word_index.json", WORD_INDEX_HASH, dataset="imdb word index")
    with open(fpath, encoding="utf8") as f:
        return json.load(f)
