"""Shared plumbing of the savers: the lazy h5py import, atomic writes, Keras-style variable stores."""

from __future__ import annotations

import contextlib
import os
import tempfile

import numpy as np


def require_h5py():
    """Import h5py, or raise an ImportError that names the ``fnflow[h5]`` extra."""
    try:
        import h5py
    except ImportError:
        raise ImportError("Saving and loading Keras files (.keras, .h5, .weights.h5) needs h5py: "
                          "install it with `pip install fnflow[h5]` (or `pip install h5py`).") from None
    return h5py


@contextlib.contextmanager
def atomic_path(filepath):
    """Yield a temporary path beside ``filepath``; on success it replaces ``filepath`` in one ``os.replace``.

    A crash while writing leaves the previous file untouched and no partial file behind.
    """
    filepath = os.fspath(filepath)
    folder = os.path.dirname(os.path.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(filepath) + ".", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, filepath)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def check_readable(filepath):
    """A clear error for a missing file (before h5py/zipfile give a less helpful one)."""
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"No such file: {filepath!r}")
    if os.path.isdir(filepath):
        raise IsADirectoryError(f"Expected a file, got the folder {filepath!r}")
    return filepath


class WriteStore:
    """The dict-like ``store`` handed to ``save_own_variables``: ``store["0"] = value`` writes a dataset.

    Like Keras's H5IOStore, the ``<path>/vars`` group is created with a ``name`` attribute when the owner has
    a name, else lazily on the first write (no empty groups).
    """

    def __init__(self, h5root, path, name=None):
        self._root, self._path, self._group = h5root, path, None
        if name is not None:
            self._make()
            self._group.attrs["name"] = name

    def _make(self):
        if self._group is None:
            self._group = self._root.create_group(f"{self._path}/vars" if self._path else "vars")
        return self._group

    def __setitem__(self, key, value):
        value = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
        self._make()[str(key)] = value

    def keys(self):
        return [] if self._group is None else list(self._group.keys())

    def __len__(self):
        return len(self.keys())

    def __contains__(self, key):
        return str(key) in self.keys()


class ReadStore:
    """The read side: ``store["0"]`` is a NumPy array; a missing group reads as an empty store."""

    def __init__(self, h5root, path):
        h5py = require_h5py()
        target = f"{path}/vars" if path else "vars"
        group = h5root.get(target) if target in h5root else None
        self._group = group if isinstance(group, h5py.Group) else None

    def keys(self):
        return [] if self._group is None else [k for k in self._group.keys()]

    def __len__(self):
        return len(self.keys())

    def __contains__(self, key):
        return str(key) in self.keys()

    def __getitem__(self, key):
        h5py = require_h5py()
        if self._group is None or str(key) not in self._group:
            raise KeyError(key)
        ds = self._group.get(str(key), getlink=True)
        if isinstance(ds, (h5py.ExternalLink, h5py.SoftLink)):
            raise ValueError(f"Not allowed: H5 file with {type(ds).__name__}")
        ds = self._group[str(key)]
        if not isinstance(ds, h5py.Dataset) or ds.external or ds.is_virtual:
            raise ValueError(f"Invalid H5 file: {ds.name} is not a plain dataset")
        return np.asarray(ds)
