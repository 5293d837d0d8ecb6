"""Mini-batches over arrays: shuffled with an explicit key, with ``drop_last`` or padding.

>>> for xb, yb in batches((x, y), batch_size=32, key=fnflow.random.key(0)):
...     params, state = step(params, state, xb, yb)

Every batch has the same shape when ``drop_last=True`` or ``pad=True`` (the
last one is padded by repeating rows and comes with a mask), so a jitted step
compiles once.
"""

from __future__ import annotations

import numpy as np

from fnflow.core import tree as tu
from fnflow.core.array import as_output


class Batches:
    """An iterable of mini-batches of a pytree of arrays sharing their first axis.

    ``key`` (an ``fnflow.random`` key) shuffles the rows, the same way for the
    same key; ``epoch`` varies the order per epoch (``fold_in(key, epoch)``).
    With ``pad=True`` each item is ``(batch, mask)`` where ``mask`` is a bool
    vector marking real rows.
    """

    def __init__(self, data, batch_size, key=None, drop_last=False, pad=False, epoch=0):
        leaves, self._tree = tu.tree_flatten(data)
        if not leaves:
            raise ValueError("batches: no arrays given")
        self._leaves = [np.asarray(x) for x in leaves]
        n = {x.shape[0] if x.ndim else None for x in self._leaves}
        if len(n) != 1 or None in n:
            sizes = [x.shape[:1] for x in self._leaves]
            raise ValueError(f"batches: every array needs the same first axis, got leading shapes {sizes}")
        if int(batch_size) < 1:
            raise ValueError(f"batches: batch_size must be positive, got {batch_size}")
        if drop_last and pad:
            raise ValueError("batches: choose drop_last or pad, not both")
        self.n = n.pop()
        self.batch_size = int(batch_size)
        self.key, self.drop_last, self.pad, self.epoch = key, drop_last, pad, epoch

    def __len__(self):
        full, rest = divmod(self.n, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def _order(self):
        if self.key is None:
            return np.arange(self.n)
        from fnflow import random

        k = random.fold_in(self.key, self.epoch) if self.epoch else self.key
        return np.asarray(random.permutation(k, self.n))

    def __iter__(self):
        order = self._order()
        bs = self.batch_size
        for i in range(len(self)):
            idx = order[i * bs:(i + 1) * bs]
            real = len(idx)
            if self.pad and real < bs:
                idx = np.concatenate([idx, np.resize(idx, bs - real)])
            batch = self._tree.unflatten([as_output(x[idx]) for x in self._leaves])
            if self.pad:
                yield batch, as_output(np.arange(bs) < real)
            else:
                yield batch


def batches(data, batch_size, key=None, drop_last=False, pad=False, epoch=0):
    """Mini-batches of ``data`` (a pytree of arrays with a shared first axis); see :class:`Batches`."""
    return Batches(data, batch_size, key=key, drop_last=drop_last, pad=pad, epoch=epoch)


__all__ = ["Batches", "batches"]
