"""Global switches, as ``jax.config``: ``fnflow.config.update("debug_nans", True)``.

- ``log_compiles``: log (logger ``"fnflow"``, level WARNING) each time a jitted
  function is traced and compiled, and why: which part of the cache key changed.
- ``debug_nans``: when a jitted function returns a NaN that its inputs did not
  have, re-run it op by op and raise ``FloatingPointError`` naming the first op
  that produced a NaN; eager ops check their results too.
- ``disable_jit``: run jitted functions as plain Python (for debugging).

Each also reads an environment variable at import: ``FNFLOW_LOG_COMPILES``,
``FNFLOW_DEBUG_NANS``, ``FNFLOW_DISABLE_JIT`` (``1``/``true``).
"""

from __future__ import annotations

import contextlib
import os

_NAMES = ("log_compiles", "debug_nans", "disable_jit")


def _env(name):
    return os.environ.get("FNFLOW_" + name.upper(), "").lower() in ("1", "true", "yes", "on")


class Config:
    """The switches; read them as attributes, set them with :meth:`update` or assignment."""

    def __init__(self):
        for n in _NAMES:
            object.__setattr__(self, n, _env(n))

    def __setattr__(self, name, value):
        if name not in _NAMES:
            raise AttributeError(f"fnflow.config has no option {name!r} (options: {', '.join(_NAMES)})")
        object.__setattr__(self, name, bool(value))

    def update(self, name, value):
        """Set option ``name`` to ``value``."""
        setattr(self, name, value)

    @contextlib.contextmanager
    def override(self, **options):
        """Temporarily set options: ``with fnflow.config.override(disable_jit=True): ...``."""
        old = {k: getattr(self, k) for k in options}
        for k, v in options.items():
            setattr(self, k, v)
        try:
            yield self
        finally:
            for k, v in old.items():
                setattr(self, k, v)

    def __repr__(self):
        return "fnflow.config(" + ", ".join(f"{n}={getattr(self, n)}" for n in _NAMES) + ")"


config = Config()
