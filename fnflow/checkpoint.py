"""Saving and loading pytrees of arrays: ``.npz`` files keyed by key path, written atomically.

``save(path, tree)`` stores every array leaf under its key path (``['w'][0].b``)
plus the tree's structure as JSON text, in a NumPy ``.npz`` archive. Loading
never unpickles (``allow_pickle=False``), so a file cannot run code.
``load(path, like=tree)`` checks the stored structure, shapes and dtypes
against ``like`` and rebuilds that exact pytree (attrs modules, namedtuples and
all) with the stored values; without ``like`` it returns a flat dict from
key-path strings (``"['w'][0]"``) to arrays.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import types

import numpy as np

from fnflow.core import tree as tu
from fnflow.core.array import as_output

_FORMAT = "fnflow-checkpoint-1"


def _leaf_array(path, leaf):
    if leaf is None:
        return None
    try:
        arr = np.asarray(leaf)
    except TypeError:
        raise TypeError(f"checkpoint.save: leaf at {tu.keystr(path) or '<root>'} is a "
                        f"{type(leaf).__name__}, not an array") from None
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"checkpoint.save: leaf at {tu.keystr(path) or '<root>'} is not a numeric array")
    return arr


def save(path, tree, overwrite=True):
    """Write the array leaves of ``tree`` to ``path`` (``.npz``) atomically.

    The file is written to a temporary file in the same folder and renamed
    over ``path``, so a crash never leaves a partial file and an existing
    checkpoint survives until the new one is complete.
    """
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"checkpoint.save: {path} exists (pass overwrite=True to replace it)")
    pairs, treedef = tu.tree_flatten_with_path(tree)
    arrays, keys = {}, []
    for i, (p, leaf) in enumerate(pairs):
        k = tu.keystr(p) or "<root>"
        keys.append(k)
        arr = _leaf_array(p, leaf)
        if arr is not None:
            arrays[f"leaf_{i}"] = arr
    meta = {"format": _FORMAT, "keys": keys, "structure": repr(treedef),
            "shapes": [list(np.shape(arrays[f"leaf_{i}"])) if f"leaf_{i}" in arrays else None
                       for i in range(len(keys))],
            "dtypes": [arrays[f"leaf_{i}"].dtype.str if f"leaf_{i}" in arrays else None
                       for i in range(len(keys))]}
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _read(path):
    path = os.fspath(path)
    if not os.path.exists(path) and os.path.exists(path + ".npz"):
        path += ".npz"
    with np.load(path, allow_pickle=False) as z:
        if "__meta__" not in z:
            raise ValueError(f"checkpoint.load: {path} is not an fnflow checkpoint (no metadata)")
        meta = json.loads(bytes(z["__meta__"]).decode())
        if meta.get("format") != _FORMAT:
            raise ValueError(f"checkpoint.load: {path} has unknown format {meta.get('format')!r}")
        leaves = [as_output(z[f"leaf_{i}"]) if f"leaf_{i}" in z else None for i in range(len(meta["keys"]))]
    return meta, leaves


def load(path, like=None):
    """Read a checkpoint; with ``like``, return a pytree of the same structure.

    Raises ``ValueError`` naming the key path when the file's structure,
    a shape or a dtype differs from ``like``.
    """
    meta, leaves = _read(path)
    keys = meta["keys"]
    if like is None:
        return _nested(keys, leaves)
    pairs, treedef = tu.tree_flatten_with_path(like)
    want = [tu.keystr(p) or "<root>" for p, _ in pairs]
    if want != keys:
        missing = [k for k in want if k not in keys]
        extra = [k for k in keys if k not in want]
        raise ValueError(f"checkpoint.load: the structure in {path} does not match `like`:\n"
                         f"  missing from the file: {missing}\n  only in the file: {extra}\n"
                         f"  file structure: {meta['structure']}\n  expected: {treedef}")
    for (p, ref), k, val in zip(pairs, keys, leaves):
        if ref is None or val is None:
            if (ref is None) != (val is None):
                raise ValueError(f"checkpoint.load: leaf {k} is None in one tree and an array in the other")
            continue
        ref_shape, ref_dtype = np.shape(ref), np.asarray(ref).dtype if not hasattr(ref, "dtype") else ref.dtype
        if tuple(ref_shape) != val.shape or np.dtype(ref_dtype) != val.dtype:
            raise ValueError(f"checkpoint.load: leaf {k} is {val.dtype}{list(val.shape)} in the file but "
                             f"{np.dtype(ref_dtype)}{list(ref_shape)} in `like`")
    return treedef.unflatten(leaves)


def _nested(keys, leaves):
    if keys == ["<root>"]:
        return leaves[0]
    return {k: v for k, v in zip(keys, leaves)}


__all__ = ["save", "load"]


class _CheckpointModule(types.ModuleType):
    """``fnflow.checkpoint`` is this module and also JAX's ``checkpoint`` transform:
    ``fnflow.checkpoint(f)`` is ``fnflow.remat(f)`` (recompute in the backward pass),
    ``fnflow.checkpoint.save/load`` store pytrees."""

    def __call__(self, fun, **kwargs):
        from fnflow.transforms.ad import remat

        return remat(fun, **kwargs)


sys.modules[__name__].__class__ = _CheckpointModule
