"""Keras's dataset cache: where files live, checked downloads, atomic writes, safe archive extraction.

Files are looked up exactly where Keras 3 keeps them: ``$KERAS_HOME/datasets/<name>`` (``KERAS_HOME``
defaults to ``~/.keras``; when that folder is not writable Keras falls back to ``/tmp/.keras``, and so do
we). ``KERAS_HOME`` is read at every call, not at import, so it can be changed at run time.

A file already in the cache is used as it is (you may have put it there yourself). A download is
streamed to a temporary file in the target folder, checked against Keras's SHA-256 (or MD5) when Keras
has one, and only then renamed into place, so an interrupted or corrupted download never leaves a
half-written file under the final name. Archives are extracted into a temporary folder that is renamed
into place the same way.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request

KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


class DatasetNotAvailableError(OSError):
    """A dataset file is missing from the Keras cache and could not be downloaded."""


def keras_home() -> str:
    """``$KERAS_HOME`` if set, else ``~/.keras`` (expanded)."""
    return os.path.expanduser(os.environ.get("KERAS_HOME") or os.path.join("~", ".keras"))


def _fallback_home() -> str:
    return os.path.join("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(), ".keras")


def cache_dirs(subdir: str = "datasets") -> list[str]:
    """The folders searched for cached files, in order: the Keras home's ``datasets`` folder, then
    ``/tmp/.keras/datasets`` when the home is not writable (Keras's own fallback)."""
    home = keras_home()
    dirs = [os.path.join(home, subdir)]
    if not _writable(home):
        dirs.append(os.path.join(_fallback_home(), subdir))
    return dirs


def write_dir(subdir: str = "datasets") -> str:
    """The folder downloads go to (created if needed)."""
    home = keras_home()
    if not _writable(home):
        home = _fallback_home()
    path = os.path.join(home, subdir)
    os.makedirs(path, exist_ok=True)
    return path


def _writable(path: str) -> bool:
    # a home that does not exist yet is fine if we can create it
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            return False
        path = parent
    return os.access(path, os.W_OK)


def find_cached(*relpaths: str) -> str | None:
    """The first existing ``<cache dir>/<relpath>`` over the cache dirs and the candidate names, or None."""
    for d in cache_dirs():
        for rel in relpaths:
            p = os.path.join(d, rel)
            if os.path.exists(p):
                return p
    return None


def file_digest(path: str, algorithm: str) -> str:
    """Hex digest of a file (``"sha256"`` or ``"md5"``), read in chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _algorithm(file_hash: str) -> str:
    # Keras's convention: a 64-character hash is SHA-256, anything else MD5
    return "sha256" if len(file_hash) == 64 else "md5"


def _open_url(url: str):
    """Open ``url`` for reading (the one place that touches the network; tests replace it)."""
    return urllib.request.urlopen(url, timeout=60)


def download(url: str, dest: str, file_hash: str | None = None, *, dataset: str, hint: str = "") -> str:
    """Download ``url`` to ``dest`` atomically, checking ``file_hash`` when given; returns ``dest``.

    Network failures become :class:`DatasetNotAvailableError` naming the file and where to put it.
    """
    folder = os.path.dirname(dest)
    os.makedirs(folder, exist_ok=True)
    print(f"Downloading data from {url}", file=sys.stderr)
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(dest) + ".", suffix=".part", dir=folder)
    try:
        hasher = hashlib.new(_algorithm(file_hash)) if file_hash else None
        try:
            with os.fdopen(fd, "wb") as out, _open_url(url) as resp:
                for chunk in iter(lambda: resp.read(1 << 20), b""):
                    out.write(chunk)
                    if hasher is not None:
                        hasher.update(chunk)
        except (urllib.error.URLError, OSError, TimeoutError) as err:
            reason = getattr(err, "reason", None) or err
            where = hint or f"the file {os.path.basename(dest)} at {dest}"
            raise DatasetNotAvailableError(
                f"{dataset}: the data is not in the Keras cache and downloading {url} failed ({reason}). "
                f"If this machine is offline, fetch that URL elsewhere and put {where} "
                f"(set KERAS_HOME to use another folder than {keras_home()}).") from err
        if hasher is not None and hasher.hexdigest() != file_hash:
            raise DatasetNotAvailableError(
                f"{dataset}: the download of {url} is corrupted: its {_algorithm(file_hash)} is "
                f"{hasher.hexdigest()}, expected {file_hash}. Nothing was written; try again.")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return dest


def get_file(fname: str, origin: str, file_hash: str | None = None, *, dataset: str, cache_subdir: str = "",
             hint: str = "") -> str:
    """The cached file ``datasets/<cache_subdir>/<fname>``, downloaded from ``origin`` if missing."""
    rel = os.path.join(cache_subdir, fname) if cache_subdir else fname
    found = find_cached(rel)
    if found is not None:
        return found
    dest = os.path.join(write_dir(), rel)
    return download(origin, dest, file_hash, dataset=dataset,
                    hint=hint or f"the file {fname} at {os.path.join(cache_dirs()[0], rel)}")


def _safe_members(tar: tarfile.TarFile, dest: str):
    """The archive's regular files and folders, refusing links, devices and paths leaving ``dest``."""
    root = os.path.realpath(dest)
    for m in tar.getmembers():
        target = os.path.realpath(os.path.join(dest, m.name))
        if os.path.isabs(m.name) or not (target == root or target.startswith(root + os.sep)):
            raise ValueError(f"refusing to extract {m.name!r}: it points outside the extraction folder")
        if not (m.isfile() or m.isdir()):
            raise ValueError(f"refusing to extract {m.name!r}: only regular files and folders are allowed")
        yield m


def extract_tar(archive: str, dest: str) -> str:
    """Extract the tar(.gz) ``archive`` into the folder ``dest`` atomically; returns ``dest``.

    The archive is unpacked into a temporary sibling folder which is renamed to ``dest`` at the end.
    """
    parent = os.path.dirname(dest)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=os.path.basename(dest) + ".", suffix=".part", dir=parent)
    try:
        with tarfile.open(archive) as tar:
            for m in _safe_members(tar, tmp):
                if m.isdir():
                    os.makedirs(os.path.join(tmp, m.name), exist_ok=True)
                    continue
                out_path = os.path.join(tmp, m.name)
                os.makedirs(os.path.dirname(out_path), exist_ok=True)
                src = tar.extractfile(m)
                with src, open(out_path, "wb") as out:
                    shutil.copyfileobj(src, out)
        try:
            os.replace(tmp, dest)
        except OSError:
            if not os.path.isdir(dest):  # another process may have finished first
                raise
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return dest
