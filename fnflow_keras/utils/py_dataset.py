"""PyDataset (Keras 3) and its Keras 2 name Sequence: an indexable source of batches for ``fit``."""

from __future__ import annotations


class PyDataset:
    """Subclass and define ``__len__`` (batches per epoch) and ``__getitem__(i)`` (batch i); optionally
    ``on_epoch_end``. ``workers``/``use_multiprocessing``/``max_queue_size`` are accepted and ignored."""

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    @property
    def workers(self):
        return getattr(self, "_workers", 1)

    @property
    def use_multiprocessing(self):
        return getattr(self, "_use_multiprocessing", False)

    @property
    def max_queue_size(self):
        return getattr(self, "_max_queue_size", 10)

    def __getitem__(self, index):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError

    @property
    def num_batches(self):
        try:
            return len(self)
        except NotImplementedError:
            return None

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


Sequence = PyDataset

__all__ = ["PyDataset", "Sequence"]
