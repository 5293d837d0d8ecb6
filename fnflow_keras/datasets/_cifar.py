"""Shared by CIFAR-10 and CIFAR-100: finding the extracted batches in the Keras cache and reading them.

Keras 3 extracts ``cifar-10-python.tar.gz`` into ``datasets/cifar-10-batches-py-target/cifar-10-batches-py/``
(the archive is kept as ``cifar-10-batches-py-target_archive``); older Keras versions used
``datasets/cifar-10-batches-py/`` and ``cifar-10-batches-py.tar.gz``. Both layouts are read; downloads use
the new one. Each batch is a Python 2 pickle of a dict of NumPy arrays and lists, read with the
restricted unpickler of :mod:`fnflow_keras.datasets._safe_pickle` (arrays and plain data only).
"""

from __future__ import annotations

import os

import numpy as np

from fnflow_keras import backend
from fnflow_keras.datasets._files import cache_dirs, download, extract_tar, find_cached, write_dir
from fnflow_keras.datasets._safe_pickle import restricted_load


def load_batch(fpath: str, label_key: str = "labels"):
    """``(data uint8 (N, 3, 32, 32), labels list)`` from one CIFAR batch pickle."""
    with open(fpath, "rb") as f:
        d = restricted_load(f, encoding="bytes")
    if not isinstance(d, dict):
        raise ValueError(f"{fpath}: expected a pickled dict, found {type(d).__name__}")
    d = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in d.items()}
    data = np.asarray(d["data"])
    return data.reshape(data.shape[0], 3, 32, 32), d[label_key]


def batches_folder(*, dataset: str, target: str, inner: str, legacy: str, url: str, file_hash: str,
                   files: tuple[str, ...]) -> str:
    """The folder holding the extracted batch files, extracting or downloading the archive if needed.

    ``target`` is Keras 3's extraction folder (with ``inner`` inside), ``legacy`` the older folder name.
    """
    for folder in (os.path.join(target, inner), legacy):
        found = find_cached(folder)
        if found and all(os.path.exists(os.path.join(found, f)) for f in files):
            return found
    archive = find_cached(target + "_archive", legacy + ".tar.gz")
    if archive is None:
        home = cache_dirs()[0]
        archive = download(
            url, os.path.join(write_dir(), target + "_archive"), file_hash, dataset=dataset,
            hint=(f"the extracted folder {inner}/ (holding {', '.join(files)}) at {os.path.join(home, target, inner)}"
                  f", or the archive {url.rsplit('/', 1)[-1]} at {os.path.join(home, target + '_archive')}"))
    folder = extract_tar(archive, os.path.join(os.path.dirname(archive), target))
    folder = os.path.join(folder, inner)
    missing = [f for f in files if not os.path.exists(os.path.join(folder, f))]
    if missing:
        raise ValueError(f"{dataset}: the archive {archive} does not hold {inner}/{missing[0]}")
    return folder


def to_data_format(x: np.ndarray) -> np.ndarray:
    """Channels-first CIFAR images in the global image data format (channels last by default)."""
    return x.transpose(0, 2, 3, 1) if backend.image_data_format() == "channels_last" else x
