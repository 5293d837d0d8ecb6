"""Reading the pickles inside Keras's dataset files without running arbitrary code.

The CIFAR batches are Python pickles of dicts of NumPy arrays and lists, and ``imdb.npz`` stores its
ragged sequences as NumPy object arrays (a pickle inside the ``.npy`` member). A pickle can name any
importable callable, so a tampered cache file could run code when loaded with plain ``pickle``. The
unpickler here resolves only the few globals that rebuild NumPy arrays, dtypes and scalars, plus plain
container and number types; every other name is refused with :class:`pickle.UnpicklingError` before
anything is called.
"""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np

_NUMPY_GLOBALS = {
    (mod, name)
    for pkg in ("numpy.core", "numpy._core")
    for mod, name in ((f"{pkg}.multiarray", "_reconstruct"), (f"{pkg}.multiarray", "scalar"),
                      (f"{pkg}.numeric", "_frombuffer"))
} | {("numpy", "ndarray"), ("numpy", "dtype")}

# plain data types only (no eval/exec/getattr/__import__/open...)
_BUILTINS = {"list", "dict", "tuple", "set", "frozenset", "bytes", "bytearray", "str", "int", "float", "complex",
             "bool", "slice", "range"}

ALLOWED_GLOBALS = frozenset(
    _NUMPY_GLOBALS
    | {(mod, n) for mod in ("builtins", "__builtin__") for n in _BUILTINS}
    | {("_codecs", "encode")}  # how Python 3 writes bytes at pickle protocol 2
)


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds NumPy arrays and plain Python data, and refuses every other global."""

    def find_class(self, module, name):
        if (module, name) in ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refusing to load {module}.{name}: Keras dataset files hold only NumPy arrays and plain Python data, "
            "so this file is damaged or was tampered with. Delete it and load the data set again.")


def restricted_load(fileobj, encoding: str = "ASCII"):
    """``pickle.load`` through :class:`RestrictedUnpickler` (``encoding="bytes"`` for Python 2 pickles)."""
    return RestrictedUnpickler(fileobj, encoding=encoding).load()


def _read_npy(fp) -> np.ndarray:
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
    else:  # 2.0 and 3.0 share the header layout (3.0 only changes its text encoding)
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
    if dtype.hasobject:
        arr = restricted_load(fp, encoding="latin1")
        if not isinstance(arr, np.ndarray):
            raise ValueError("a .npy member declared an object array but holds something else")
        return arr
    fp.seek(0)
    return np.lib.format.read_array(fp, allow_pickle=False)


def load_npz(path: str) -> dict:
    """The arrays of an ``.npz`` file as a dict; object arrays are read with the restricted unpickler."""
    out = {}
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.endswith(".npy"):
                out[name[:-4]] = _read_npy(io.BytesIO(zf.read(name)))
    return out
