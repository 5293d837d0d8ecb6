"""float32 ``exp``, ``tanh`` and ``logistic`` that LLVM can vectorize inside generated kernels.

numba calls libm's ``expf``/``tanhf`` once per element (no vector math library
here), which kept the LSTM's gate kernel at ~15 ns per transcendental. These
versions are branch-free float32 arithmetic (selects, ``floor``, one bit cast),
so a loop over them becomes AVX2 code, 8 lanes at a time.

- ``exp``: ``x = n ln2 + r`` with ``|r| <= ln2 / 2`` (``ln2`` split in two
  parts so ``n ln2`` is exact), ``exp(r) = 1 + r + r^2 P(r)`` with ``P`` of
  degree 4, and ``2^n`` built from its exponent bits, in two halves so the
  result rounds correctly into denormals and overflows to ``inf`` like libm.
- ``tanh``: an odd polynomial ``x + x^3 Q(x^2)`` for ``|x| < 0.625``, else
  ``1 - 2 / (exp(2|x|) + 1)`` with the sign of ``x`` (no cancellation there:
  the result is above 0.55).
- ``logistic``: ``1 / (1 + e)`` for ``x >= 0``, ``e / (1 + e)`` below, with ``e = exp(-|x|)``
  (no overflow, accurate down into denormals).

``P`` and ``Q`` were fitted by iteratively reweighted least squares (toward
minimax relative error) in float64 on Chebyshev points: ``P`` to 3e-9, ``Q`` to
4e-9. Measured against NumPy's float32 functions over every float32 in
``[-104, 89]`` sampled densely: within 2 ulp (see ``tests/backends``). NaN
propagates; ``exp(-inf) = 0``, ``exp(inf) = inf``, ``tanh(+-inf) = +-1``.

Generated kernels call these as ``vm.exp_f32(x)``; numba inlines them.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

# bump when the math changes: it is part of every kernel's cache key
VERSION = 1

_F = np.float32
_LOG2E = _F(1.4426950408889634)
_LN2_HI = _F(0.693359375)  # 9 significant bits: n * _LN2_HI is exact for |n| <= 2^15
_LN2_LO = _F(-2.12194440e-4)  # ln 2 - _LN2_HI
_P0, _P1, _P2, _P3, _P4 = (_F(0.4999999403953552), _F(0.1666652113199234), _F(0.04166838899254799),
                           _F(0.008368710055947304), _F(0.001381461275741458))
_Q0, _Q1, _Q2, _Q3, _Q4 = (_F(-0.3333328068256378), _F(0.13331441581249237), _F(-0.05373971536755562),
                           _F(0.0206390842795372), _F(-0.005704984068870544))
_LO, _HI = _F(-104.0), _F(89.0)  # exp is 0 below, inf above (float32)


@intrinsic
def _pow2(typingctx, n):
    """``2.0 ** n`` as float32 for an integral float32 ``n`` in [-126, 127]: the exponent bits, bit cast."""
    if n != types.float32:
        return None

    def codegen(context, builder, sig, args):
        i32 = ir.IntType(32)
        k = builder.fptosi(args[0], i32)
        bits = builder.shl(builder.add(k, ir.Constant(i32, 127)), ir.Constant(i32, 23))
        return builder.bitcast(bits, ir.FloatType())

    return types.float32(types.float32), codegen


@njit(inline="always")
def exp_f32(x):
    xc = x if x > _LO else _LO
    xc = xc if xc < _HI else _HI
    n = np.floor(xc * _LOG2E + _F(0.5))
    r = (xc - n * _LN2_HI) - n * _LN2_LO
    p = _F(1) + (r + r * r * (_P0 + r * (_P1 + r * (_P2 + r * (_P3 + r * _P4)))))
    h = np.floor(n * _F(0.5))
    y = p * _pow2(h) * _pow2(n - h)
    return y if x == x else x


@njit(inline="always")
def tanh_f32(x):
    a = x if x >= _F(0) else -x
    a2 = a * a
    small = a + a * a2 * (_Q0 + a2 * (_Q1 + a2 * (_Q2 + a2 * (_Q3 + a2 * _Q4))))
    large = _F(1) - _F(2) / (exp_f32(a + a) + _F(1))
    t = small if a < _F(0.625) else large
    t = t if x >= _F(0) else -t
    return t if x == x else x


@njit(inline="always")
def logistic_f32(x):
    a = x if x >= _F(0) else -x
    e = exp_f32(-a)  # in (0, 1]: no overflow
    r = _F(1) / (_F(1) + e)
    return r if x >= _F(0) else e * r  # e / (1 + e) for x < 0: exact down into denormals
