"""The IDX format of the (Fashion-)MNIST ``*-ubyte.gz`` files: a magic number, big-endian sizes, raw data."""

from __future__ import annotations

import gzip

import numpy as np

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx_gz(path: str) -> np.ndarray:
    """The array stored in a gzipped IDX file (uint8 for the image and label files)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {data[:4]!r})")
    ndim = data[3]
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    offset = 4 + 4 * ndim
    count = int(np.prod(shape)) if shape else 1
    if len(data) - offset < count * dtype.itemsize:
        raise ValueError(f"{path} is truncated: header says shape {shape}, file holds "
                         f"{(len(data) - offset) // dtype.itemsize} values")
    return np.frombuffer(data, dtype, count=count, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))
