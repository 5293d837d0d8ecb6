"""Indexing: ``x[idx]`` (basic and integer-array), take, take_along_axis, and ``x.at[idx]`` updates."""

from __future__ import annotations

import numpy as np

from fnflow.core.abstract import get_aval
from fnflow.ops import shape as S
from fnflow.ops._util import asvalue


def getitem(x, idx):
    """``x[idx]`` for ints, slices, None and Ellipsis (basic indexing)."""
    x = asvalue(x)
    if not isinstance(idx, tuple):
        idx = (idx,)
    shape = get_aval(x).shape
    n_real = sum(1 for i in idx if i is not None and i is not Ellipsis)
    if n_real > len(shape):
        raise IndexError(f"too many indices for array: array is {len(shape)}-dimensional, but {n_real} were indexed")
    if Ellipsis in idx:
        k = idx.index(Ellipsis)
        idx = idx[:k] + (slice(None),) * (len(shape) - n_real) + idx[k + 1:]
    idx = idx + (slice(None),) * (len(shape) - n_real)
    starts, limits, strides, out_shape, flips = [], [], [], [], []
    ax = 0
    for i in idx:
        if i is None:
            out_shape.append(1)
            continue
        n = shape[ax]
        if isinstance(i, (int, np.integer)):
            j = int(i)
            if not -n <= j < n:
                raise IndexError(f"index {j} is out of bounds for axis {ax} with size {n}")
            j %= n
            starts.append(j)
            limits.append(j + 1)
            strides.append(1)
        elif isinstance(i, slice):
            st, sp, step = i.indices(n)
            if step < 0:
                # reverse, then slice with a positive step
                m = len(range(st, sp, step))
                st2 = n - 1 - st
                starts.append(st2)
                limits.append(st2 + (m - 1) * (-step) + 1 if m else st2)
                strides.append(-step)
                flips.append(len(out_shape))
            else:
                m = len(range(st, sp, step))
                starts.append(st)
                limits.append(st + (m - 1) * step + 1 if m else st)
                strides.append(step)
            out_shape.append(m)
        else:
            raise NotImplementedError(f"index of type {type(i).__name__}")
        ax += 1
    flip_axes = [k for k, i in enumerate(a for a in idx if a is not None) if isinstance(i, slice) and i.indices(shape[k])[2] < 0]
    if flip_axes:
        x = S.rev(x, tuple(flip_axes))
    y = S.slice(x, starts, limits, strides)
    return S.reshape(y, tuple(out_shape))
