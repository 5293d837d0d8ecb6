"""Errors a user can act on, and hiding fnflow's own frames from tracebacks.

Set ``FNFLOW_TRACEBACK_FILTERING=off`` to see the full tracebacks.
"""

from __future__ import annotations

import functools
import os
import sys
import types

_PKG_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # .../fnflow


class FnflowError(Exception):
    """Base class of fnflow's own errors."""


class ConcretizationError(FnflowError, TypeError):
    """A traced value was used where a concrete Python value is needed."""

    def __init__(self, tracer, why):
        trace = tracer._trace
        describe = getattr(trace, "describe_tracer", None)
        origin = describe(tracer) if describe else ""
        name = trace.main.name or type(trace).__name__
        msg = (f"{why or 'This use'} needs a concrete value, but got a traced value "
               f"{tracer.aval.str_short()} under the {name} transform{origin}. ")
        msg += getattr(trace, "concretization_hint", "")
        super().__init__(msg)


class LeakedTracerError(FnflowError):
    """A tracer was used outside the transform that made it."""


def _in_package(filename: str) -> bool:
    return filename.startswith(_PKG_ROOT + os.sep) and not filename.startswith(
        os.path.join(_PKG_ROOT, "tests"))


def user_frame() -> str:
    """``file:line (function)`` of the innermost frame outside fnflow."""
    f = sys._getframe(1)
    while f is not None and _in_package(f.f_code.co_filename):
        f = f.f_back
    if f is None:
        return "<unknown>"
    return f"{f.f_code.co_filename}:{f.f_lineno} ({f.f_code.co_name})"


def filtering_enabled() -> bool:
    return os.environ.get("FNFLOW_TRACEBACK_FILTERING", "on").lower() not in ("off", "0", "false", "no")


def _filter_tb(tb):
    frames = []
    while tb is not None:
        if not _in_package(tb.tb_frame.f_code.co_filename):
            frames.append(tb)
        tb = tb.tb_next
    new = None
    for t in reversed(frames):
        new = types.TracebackType(new, t.tb_frame, t.tb_lasti, t.tb_lineno)
    return new


def api_boundary(fun):
    """Decorate a public entry point so that errors show the user's frames only."""

    @functools.wraps(fun)
    def wrapper(*args, **kwargs):
        try:
            return fun(*args, **kwargs)
        except Exception as e:
            if not filtering_enabled():
                raise
            tb = _filter_tb(e.__traceback__)
            raise e.with_traceback(tb) from e.__cause__

    return wrapper
