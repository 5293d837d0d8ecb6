"""Low-level ops under their ``jax.lax`` names and signatures (thin wrappers over ``fnflow.ops``)."""

from __future__ import annotations

import builtins

import numpy as np

from fnflow.core.abstract import canonical_dtype, get_aval, int_
from fnflow.ops import cumulative as _cum
from fnflow.ops import reduce as _red
from fnflow.ops import shape as _shape
from fnflow.ops._util import asvalue
from fnflow.ops.elementwise import (  # noqa: F401
    abs,
    add,
    ceil,
    convert_element_type,
    cos,
    div,
    eq,
    erf,
    exp,
    expm1,
    floor,
    ge,
    gt,
    le,
    log,
    log1p,
    logistic,
    lt,
    max,
    min,
    mul,
    ne,
    neg,
    pow,
    select,
    sign,
    sin,
    sqrt,
    square,
    sub,
    tanh,
)
from fnflow.ops.linalg import dot_general as _dot_general
from fnflow.transforms.ad import stop_gradient  # noqa: F401

broadcast_in_dim = _shape.broadcast_in_dim
rev = _shape.rev
reduce_sum = _red.reduce_sum
reduce_max = _red.reduce_max
reduce_min = _red.reduce_min
reduce_prod = _red.reduce_prod


def rsqrt(x):
    """Elementwise 1 / sqrt(x)."""
    return div(1.0, sqrt(x))


def integer_pow(x, y: int):
    """``x ** y`` for a static Python int ``y``, by repeated multiplication (exact for integer x)."""
    x = asvalue(x)
    y = int(y)
    if y == 0:
        return add(mul(x, 0), 1)
    acc, base, n = None, x, builtins.abs(y)
    while n:
        if n & 1:
            acc = base if acc is None else mul(acc, base)
        n >>= 1
        if n:
            base = mul(base, base)
    return div(1.0, acc) if y < 0 else acc


def transpose(operand, permutation):
    """Permute the axes of ``operand``."""
    return _shape.transpose(operand, tuple(permutation))


def reshape(operand, new_sizes, dimensions=None):
    """Reshape (after transposing by ``dimensions`` when given, as lax.reshape)."""
    if dimensions is not None:
        operand = _shape.transpose(operand, tuple(dimensions))
    return _shape.reshape(operand, tuple(new_sizes))


def squeeze(array, dimensions):
    """Remove the listed axes of size 1."""
    return _shape.squeeze(array, tuple(dimensions))


def concatenate(operands, dimension):
    """Join arrays along ``dimension``."""
    return _shape.concatenate(list(operands), dimension)


def pad(operand, padding_value, padding_config):
    """Pad with ``(low, high, interior)`` per axis; negative low/high crop; interior inserts values between elements."""
    x = asvalue(operand)
    pv = asvalue(padding_value, get_aval(x).dtype)
    config = [tuple(int(v) for v in c) for c in padding_config]
    if len(config) != get_aval(x).ndim:
        raise ValueError(f"pad: {len(config)} padding triples for an array of rank {get_aval(x).ndim}")
    for axis, (_, _, interior) in enumerate(config):
        if interior < 0:
            raise ValueError(f"pad: interior padding must be >= 0, got {interior} for axis {axis}")
        if interior:
            x = _interior_pad(x, pv, axis, interior)
    lo_hi = [(lo, hi) for lo, hi, _ in config]
    if all(lo == 0 and hi == 0 for lo, hi in lo_hi):
        return x
    return _shape.pad_p.bind(x, pv, config=tuple(lo_hi))


def _interior_pad(x, pv, axis, k):
    """Insert ``k`` copies of ``pv`` between consecutive elements along ``axis``."""
    shape = get_aval(x).shape
    n = shape[axis]
    if n <= 1:
        return x
    ex = shape[:axis + 1] + (1,) + shape[axis + 1:]
    fill = broadcast_in_dim(pv, shape[:axis + 1] + (k,) + shape[axis + 1:], ())
    both = _shape.concatenate([_shape.reshape(x, ex), fill], axis + 1)
    flat = _shape.reshape(both, shape[:axis] + (n * (k + 1),) + shape[axis + 1:])
    return _shape.slice_in_dim(flat, 0, n + (n - 1) * k, 1, axis)


def slice(operand, start_indices, limit_indices, strides=None):  # noqa: A001
    """The static slice ``operand[start:limit:stride, ...]``."""
    return _shape.slice(operand, start_indices, limit_indices, strides)


def slice_in_dim(operand, start_index, limit_index, stride=1, axis=0):
    """``operand`` sliced along one axis (None and negative indices as in Python)."""
    x = asvalue(operand)
    n = get_aval(x).shape[axis]
    start, limit, _ = builtins.slice(start_index, limit_index).indices(n)
    return _shape.slice_in_dim(x, start, builtins.max(start, limit), stride, axis)


def dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    """General contraction ``((lhs_contract, rhs_contract), (lhs_batch, rhs_batch))``."""
    out = _dot_general(lhs, rhs, dimension_numbers)
    if preferred_element_type is not None:
        out = convert_element_type(out, canonical_dtype(preferred_element_type))
    return out


def dot(lhs, rhs, precision=None, preferred_element_type=None):
    """Vector/matrix product contracting the last axis of ``lhs`` with the first of ``rhs``."""
    lhs, rhs = asvalue(lhs), asvalue(rhs)
    dn = (((get_aval(lhs).ndim - 1,), (0,)), ((), ()))
    return dot_general(lhs, rhs, dn, preferred_element_type=preferred_element_type)


def argmax(operand, axis, index_dtype=int_):
    """Index of the first maximum along ``axis``."""
    return convert_element_type(_red.argmax(operand, axis), canonical_dtype(index_dtype))


def argmin(operand, axis, index_dtype=int_):
    """Index of the first minimum along ``axis``."""
    return convert_element_type(_red.argmin(operand, axis), canonical_dtype(index_dtype))


def cumsum(operand, axis=0, reverse=False):
    """Cumulative sum along ``axis``."""
    return _cum.cumsum(operand, axis, reverse)


def cumprod(operand, axis=0, reverse=False):
    """Cumulative product along ``axis``."""
    return _cum.cumprod(operand, axis, reverse)


def cummax(operand, axis=0, reverse=False):
    """Running maximum along ``axis``."""
    return _cum.cummax(operand, axis, reverse)


def cummin(operand, axis=0, reverse=False):
    """Running minimum along ``axis``."""
    return _cum.cummin(operand, axis, reverse)


def iota(dtype, size):
    """``[0, 1, ..., size - 1]`` of ``dtype``."""
    from fnflow.core.array import as_output

    return as_output(np.arange(int(size), dtype=canonical_dtype(dtype)))
