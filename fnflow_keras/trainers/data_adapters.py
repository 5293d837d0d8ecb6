"""Turn what users pass to ``fit``/``evaluate``/``predict`` into batches ``(x, y, sample_weight)``.

Accepted: NumPy arrays (and array-likes, nested Python lists of numbers), lists /
tuples / dicts of arrays for multi-input and multi-output models, Python
generators or iterators yielding ``x``, ``(x, y)`` or ``(x, y, sample_weight)``,
and ``keras.utils.PyDataset`` / ``Sequence`` objects (``len`` + ``__getitem__``).
Float arrays are cast to float32 (Keras's floatx), as Keras's adapters do.
"""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np

from fnflow_keras.utils import nest

# ------------------------------------------------------------------ structures


def _is_leaf_array(x):
    return hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, (list, tuple, dict))


def _is_array_list(x):
    """Whether a list/tuple is a structure of arrays (multi-input) rather than one nested-list array."""
    return isinstance(x, (list, tuple)) and any(_is_leaf_array(e) or isinstance(e, dict) for e in x)


def to_arrays(x):
    """``x`` with every leaf a NumPy array (floats as float32); nested number lists become one array."""
    if x is None:
        return None
    if isinstance(x, dict):
        return {k: to_arrays(v) for k, v in x.items()}
    if _is_array_list(x):
        return type(x)(to_arrays(e) for e in x) if isinstance(x, list) else tuple(to_arrays(e) for e in x)
    value = getattr(x, "value", None) if not _is_leaf_array(x) else None
    a = np.asarray(value if value is not None and hasattr(value, "shape") else x)
    if a.dtype == object:
        raise ValueError(f"Unsupported input: could not convert an object of type {type(x).__name__} to an array")
    if a.dtype.kind == "f" and a.dtype != np.float32:
        a = a.astype(np.float32)
    return a


def flatten(x):
    return [] if x is None else nest.flatten(x)


def num_samples(*structs):
    sizes = {int(a.shape[0]) for s in structs for a in flatten(s)}
    if len(sizes) > 1:
        raise ValueError(f"Data cardinality is ambiguous: the arrays have different numbers of samples "
                         f"{sorted(sizes)}. Make sure all arrays contain the same number of samples.")
    return sizes.pop() if sizes else 0


def take(x, idx):
    """The samples ``idx`` (a slice or index array) of every leaf of ``x``."""
    if x is None:
        return None
    if isinstance(idx, slice):
        return x[idx] if type(x) is np.ndarray else nest.map_structure(lambda a: a[idx], x)
    # np.take gathers rows about twice as fast as fancy indexing
    return np.take(x, idx, axis=0) if type(x) is np.ndarray else nest.map_structure(
        lambda a: np.take(a, idx, axis=0), x)


def unpack_x_y_sample_weight(data):
    """``(x, y, sample_weight)`` from a batch: ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError(f"Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, found "
                     f"a tuple of length {len(data)}")


def class_weight_to_sample_weight(y, class_weight):
    """Per-sample weights ``class_weight[label]`` (labels from integers, or argmax of one-hot rows)."""
    if isinstance(y, (list, tuple, dict)) and len(flatten(y)) > 1:
        raise ValueError("`class_weight` is only supported for models with a single output.")
    y = np.asarray(flatten(y)[0] if isinstance(y, (list, tuple, dict)) else y)
    if y.ndim > 1 and y.shape[-1] > 1:
        labels = np.argmax(y, axis=-1)
    elif y.ndim > 1:
        labels = np.round(y[..., 0]).astype(np.int64)
    else:
        labels = np.round(y).astype(np.int64)
    weights = np.ones(labels.shape, np.float32)
    for cls, w in class_weight.items():
        weights[labels == int(cls)] = w
    return weights


def train_validation_split(arrays, validation_split):
    """Split every array of ``arrays`` at ``floor(n * (1 - validation_split))``: (train, validation)."""
    n = num_samples(*arrays)
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(f"Training data contains {n} samples, which is not sufficient to split it into a "
                         f"validation and training set as specified by `validation_split={validation_split}`. "
                         f"Either provide more data, or a different value for the `validation_split` argument.")
    return (tuple(take(a, slice(0, split_at)) for a in arrays),
            tuple(take(a, slice(split_at, n)) for a in arrays))


# ------------------------------------------------------------------ adapters


class ArrayAdapter:
    """In-memory arrays: batches of ``batch_size`` (the last one may be smaller), reshuffled every epoch."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, steps=None, shuffle=False,
                 class_weight=None):
        self.x, self.y = to_arrays(x), to_arrays(y)
        self.sample_weight = to_arrays(sample_weight)
        if class_weight is not None and self.y is not None:
            cw = class_weight_to_sample_weight(self.y, class_weight)
            self.sample_weight = cw if self.sample_weight is None else self.sample_weight * cw
        self.n = num_samples(self.x, self.y, self.sample_weight)
        self.batch_size = int(batch_size or 32)
        self.shuffle = shuffle
        self.num_batches = max(1, math.ceil(self.n / self.batch_size)) if steps is None else int(steps)

    def epoch(self):
        """The batches of one epoch."""
        if self.shuffle == "batch":
            order = np.arange(self.n)
            starts = np.random.permutation(math.ceil(self.n / self.batch_size)) * self.batch_size
            chunks = [order[s:s + self.batch_size] for s in starts]
        else:
            order = np.random.permutation(self.n) if self.shuffle else None
            chunks = [slice(i, min(i + self.batch_size, self.n)) if order is None else order[i:i + self.batch_size]
                      for i in range(0, self.n, self.batch_size)]
        for i in range(self.num_batches):
            idx = chunks[i % len(chunks)]
            yield take(self.x, idx), take(self.y, idx), take(self.sample_weight, idx)

    def on_epoch_end(self):
        pass


class GeneratorAdapter:
    """A Python generator / iterator of batches; an epoch is ``steps`` batches (or until it is exhausted)."""

    def __init__(self, generator, steps=None, class_weight=None):
        self.iterator = iter(generator)
        self.num_batches = steps
        self.class_weight = class_weight
        self._exhausted = False

    def epoch(self):
        count = 0
        while self.num_batches is None or count < self.num_batches:
            try:
                data = next(self.iterator)
            except StopIteration:
                if self.num_batches is not None and count < self.num_batches:
                    warnings.warn("Your input ran out of data; interrupting training. Make sure that your "
                                  "dataset or generator can generate at least `steps_per_epoch * epochs` batches.",
                                  stacklevel=4)
                self._exhausted = True
                return
            count += 1
            yield _standardize_batch(data, self.class_weight)

    def on_epoch_end(self):
        pass


class PyDatasetAdapter:
    """A ``PyDataset`` / ``Sequence``: ``len(ds)`` batches ``ds[i]``; ``on_epoch_end()`` after each epoch."""

    def __init__(self, dataset, steps=None, shuffle=False, class_weight=None):
        self.dataset = dataset
        length = getattr(dataset, "num_batches", None)
        length = len(dataset) if length is None else length
        self.num_batches = length if steps is None else int(steps)
        self.shuffle = shuffle
        self.class_weight = class_weight

    def epoch(self):
        n = len(self.dataset)
        order = np.random.permutation(n) if self.shuffle else np.arange(n)
        if hasattr(self.dataset, "on_epoch_begin"):
            self.dataset.on_epoch_begin()
        for i in range(self.num_batches):
            yield _standardize_batch(self.dataset[int(order[i % n])], self.class_weight)

    def on_epoch_end(self):
        if hasattr(self.dataset, "on_epoch_end"):
            self.dataset.on_epoch_end()


def _standardize_batch(data, class_weight=None):
    x, y, sw = unpack_x_y_sample_weight(data)
    x, y, sw = to_arrays(x), to_arrays(y), to_arrays(sw)
    if class_weight is not None and y is not None:
        cw = class_weight_to_sample_weight(y, class_weight)
        sw = cw if sw is None else sw * cw
    return x, y, sw


def _is_dataset(x):
    return hasattr(x, "__getitem__") and hasattr(x, "__len__") and not isinstance(
        x, (np.ndarray, list, tuple, dict, str)) and not _is_leaf_array(x)


def get_adapter(x, y=None, sample_weight=None, batch_size=None, steps=None, shuffle=False, class_weight=None):
    """The adapter for ``x`` (and ``y``/``sample_weight`` for arrays)."""
    if _is_dataset(x):
        _no_extra(y, sample_weight, "a PyDataset")
        return PyDatasetAdapter(x, steps=steps, shuffle=shuffle, class_weight=class_weight)
    if inspect.isgenerator(x) or (hasattr(x, "__next__") and hasattr(x, "__iter__")):
        _no_extra(y, sample_weight, "a generator")
        return GeneratorAdapter(x, steps=steps, class_weight=class_weight)
    if type(x).__name__ in ("DataLoader",) or (hasattr(x, "__iter__") and not isinstance(
            x, (np.ndarray, list, tuple, dict, str)) and not _is_leaf_array(x)):
        return GeneratorAdapter(iter(x), steps=steps, class_weight=class_weight)
    return ArrayAdapter(x, y, sample_weight, batch_size=batch_size or 32, steps=steps, shuffle=shuffle,
                        class_weight=class_weight)


def _no_extra(y, sample_weight, what):
    if y is not None:
        raise ValueError(f"`y` argument is not supported when using {what} as input: the targets come from it.")
    if sample_weight is not None:
        raise ValueError(f"`sample_weight` argument is not supported when using {what} as input.")
