"""Automatic unique names (``dense``, ``dense_1`` ...) and the name scopes that give variables their paths."""

from __future__ import annotations

import collections
import contextlib
import re
import threading

_counts: collections.Counter = collections.Counter()
_local = threading.local()


def to_snake_case(name: str) -> str:
    """Keras's snake case of a class name: ``Conv2D -> conv2d``, ``PReLU -> p_re_lu``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def auto_name(prefix: str) -> str:
    """``prefix`` the first time, then ``prefix_1``, ``prefix_2`` ... (reset by ``clear_session``)."""
    n = _counts[prefix]
    _counts[prefix] += 1
    return prefix if n == 0 else f"{prefix}_{n}"


def reset_names() -> None:
    _counts.clear()


def _stack():
    if not hasattr(_local, "scopes"):
        _local.scopes = []
    return _local.scopes


@contextlib.contextmanager
def name_scope(name: str):
    """Variables created inside get paths prefixed by the enclosing scope names (``sequential/dense/kernel``)."""
    stack = _stack()
    stack.append(name)
    try:
        yield
    finally:
        stack.pop()


def current_path() -> str:
    return "/".join(_stack())
