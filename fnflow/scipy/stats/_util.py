"""Shared helpers for the distributions: float promotion and loc/scale standardisation."""

from __future__ import annotations

import numpy as np

from fnflow.core.abstract import float_, get_aval, is_float
from fnflow.ops._util import asvalue, promote


def floats(*args, name):
    """Promote to one real float dtype (integers to the default float); complex raises."""
    args = promote(*args)
    dt = get_aval(args[0]).dtype
    if dt.kind == "c":
        raise TypeError(f"{name} is not defined for complex input, got {dt.name}")
    if not is_float(dt):
        args = [asvalue(a, float_) for a in args]
    return args


def const(x, v):
    return asvalue(v, get_aval(x).dtype)


NEG_INF = -np.inf
