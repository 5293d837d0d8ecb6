"""Embedding: a lookup table indexed by integer ids."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

import fnflow.numpy as fnp
from fnflow.nn import initializers as inits
from fnflow.nn.module import Module

__all__ = ["Embedding"]


@attrs.frozen
class Embedding(Module):
    """``embeddings[ids]``: ids of any shape ``s`` give vectors of shape ``s + (output_dim,)``.

    Parameter ``embeddings`` ``(input_dim, output_dim)``, Keras's default
    initializer uniform in [-0.05, 0.05). Non-integer ids are cast to int32.
    """

    embeddings: Any

    @classmethod
    def init(cls, key, input_dim, output_dim, *, embeddings_initializer="uniform", dtype=np.float32):
        return cls(inits.get(embeddings_initializer)(key, (int(input_dim), int(output_dim)), dtype))

    @property
    def input_dim(self):
        return self.embeddings.shape[0]

    @property
    def output_dim(self):
        return self.embeddings.shape[1]

    def __call__(self, ids):
        ids = fnp.asarray(ids)
        if ids.dtype.kind not in "iu":
            ids = fnp.astype(ids, np.int32)
        return fnp.take(self.embeddings, ids, axis=0)
