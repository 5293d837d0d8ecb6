"""Elementwise functions under NumPy's names."""

from __future__ import annotations

import numpy as np

from fnflow.core.abstract import get_aval, is_float
from fnflow.ops import elementwise as E
from fnflow.ops._util import asvalue, promote

negative = E.neg
sign = E.sign
floor = E.floor
ceil = E.ceil
exp = E.exp
log = E.log
log1p = E.log1p
expm1 = E.expm1
sqrt = E.sqrt
cbrt = E.cbrt
sin, cos, tan = E.sin, E.cos, E.tan
arcsin, arccos, arctan = E.asin, E.acos, E.atan
sinh, cosh, tanh = E.sinh, E.cosh, E.tanh
arcsinh, arccosh, arctanh = E.asinh, E.acosh, E.atanh
asin, acos, atan, asinh, acosh, atanh = arcsin, arccos, arctan, arcsinh, arccosh, arctanh
absolute = abs = E.abs
square = E.square
round = around = E.round
add = E.add
subtract = E.sub
multiply = E.mul
maximum = E.max
minimum = E.min


def power(x, y):
    """Elementwise x ** y; small constant integer exponents become multiplications (exact, cheap gradients)."""
    if isinstance(y, (int, np.integer)) and not isinstance(y, bool) and 1 <= y <= 4:
        x = asvalue(x)
        out = x
        for _ in range(int(y) - 1):
            out = multiply(out, x)
        return out
    return E.pow(x, y)


pow = power
arctan2 = atan2 = E.atan2
true_divide = divide = E.div
equal, not_equal = E.eq, E.ne
less, less_equal, greater, greater_equal = E.lt, E.le, E.gt, E.ge
where_ = E.select
bitwise_and, bitwise_or, bitwise_xor = E.bitwise_and, E.bitwise_or, E.bitwise_xor
bitwise_not = invert = E.bitwise_not
left_shift, right_shift = E.shift_left, E.shift_right


def positive(x):
    """``+x``."""
    return asvalue(x)


def reciprocal(x):
    """Elementwise 1 / x."""
    return divide(1, x)


def exp2(x):
    """Elementwise 2 ** x."""
    return power(2.0, E._float_arg(x, "exp2"))


def log2(x):
    """Elementwise base-2 logarithm."""
    x = E._float_arg(x, "log2")
    return divide(log(x), np.asarray(np.log(2), get_aval(x).dtype))


def log10(x):
    """Elementwise base-10 logarithm."""
    x = E._float_arg(x, "log10")
    return divide(log(x), np.asarray(np.log(10), get_aval(x).dtype))


def trunc(x):
    """Round toward zero."""
    x = E._float_arg(x, "trunc")
    return where(less(x, 0), ceil(x), floor(x))


fix = trunc


def rint(x):
    """Round to the nearest integer (half to even)."""
    return E.round(x)


def floor_divide(x, y):
    """Elementwise floor(x / y) (NumPy's ``//``)."""
    x, y = promote(x, y)
    if is_float(get_aval(x).dtype):
        return floor(divide(x, y))
    q = E.int_div(x, y)
    # int_div rounds toward zero; step down where the signs differ and there is a remainder
    r = subtract(x, multiply(q, y))
    fix_ = logical_and(not_equal(r, 0), not_equal(less(r, 0), less(y, 0)))
    return subtract(q, E.convert_element_type(fix_, get_aval(q).dtype))


def remainder(x, y):
    """Elementwise remainder with the sign of y (NumPy's ``%``)."""
    x, y = promote(x, y)
    r = E.rem(x, y)
    fix_ = logical_and(not_equal(r, 0), not_equal(less(r, 0), less(y, 0)))
    return where(fix_, add(r, y), r)


mod = remainder


def fmod(x, y):
    """Elementwise remainder with the sign of x (C's fmod)."""
    return E.rem(x, y)


def divmod(x, y):  # noqa: A001
    """``(floor_divide(x, y), remainder(x, y))``."""
    return floor_divide(x, y), remainder(x, y)


def logaddexp(x, y):
    """log(exp(x) + exp(y)) without overflow."""
    x, y = promote(E._float_arg(x, "logaddexp"), E._float_arg(y, "logaddexp"))
    m = maximum(x, y)
    from fnflow.transforms.ad import stop_gradient

    m = stop_gradient(where(isfinite(m), m, 0))
    return add(m, log(add(exp(subtract(x, m)), exp(subtract(y, m)))))


def logaddexp2(x, y):
    """log2(2**x + 2**y) without overflow."""
    ln2 = float(np.log(2))  # a weak Python float keeps the inputs' dtype
    return divide(logaddexp(multiply(x, ln2), multiply(y, ln2)), ln2)


def hypot(x, y):
    """Elementwise sqrt(x**2 + y**2)."""
    return sqrt(add(square(x), square(y)))


def deg2rad(x):
    """Degrees to radians."""
    return multiply(E._float_arg(x, "deg2rad"), np.pi / 180)


def rad2deg(x):
    """Radians to degrees."""
    return multiply(E._float_arg(x, "rad2deg"), 180 / np.pi)


radians, degrees = deg2rad, rad2deg


def sinc(x):
    """sin(pi x) / (pi x), 1 at 0.

    Near 0 (|x| < 0.1) it is its Maclaurin series to degree 8, so every
    derivative at and around 0 is right (the plain quotient's are not).
    """
    x = E._float_arg(x, "sinc")
    small = less(abs(x), 0.1)
    safe = where(small, 1.0, x)  # keeps the quotient branch finite where it is not selected
    px = multiply(safe, np.pi)
    z = square(multiply(where(small, x, 0.0), np.pi))
    series = 1.0
    for k in (9 * 8, 7 * 6, 5 * 4, 3 * 2):  # Horner form of 1 - z/3! + z^2/5! - z^3/7! + z^4/9!
        series = subtract(1.0, multiply(divide(z, float(k)), series))
    return where(small, series, divide(sin(px), px))


def clip(a, a_min=None, a_max=None):
    """Limit values to ``[a_min, a_max]`` (either may be None)."""
    a = asvalue(a)
    if a_min is not None:
        a = maximum(a, a_min)
    if a_max is not None:
        a = minimum(a, a_max)
    return a


def where(condition, x=None, y=None):
    """``x`` where ``condition`` else ``y`` (broadcasting). The one-argument form needs a concrete value."""
    if x is None and y is None:
        from fnflow.numpy._indexing import nonzero

        return nonzero(condition)
    if x is None or y is None:
        raise ValueError("where: give both x and y, or neither")
    return E.select(condition, x, y)


def _as_bool(x):
    x = asvalue(x)
    return x if get_aval(x).dtype == np.bool_ else not_equal(x, 0)


def logical_and(x, y):
    """Elementwise truth of x and y."""
    return bitwise_and(_as_bool(x), _as_bool(y))


def logical_or(x, y):
    """Elementwise truth of x or y."""
    return bitwise_or(_as_bool(x), _as_bool(y))


def logical_xor(x, y):
    """Elementwise truth of x xor y."""
    return bitwise_xor(_as_bool(x), _as_bool(y))


def logical_not(x):
    """Elementwise negation of truth."""
    return bitwise_not(_as_bool(x))


def isnan(x):
    """Elementwise x != x."""
    x = asvalue(x)
    if not is_float(get_aval(x).dtype):
        return np.zeros(get_aval(x).shape, bool)
    return not_equal(x, x)


def isinf(x):
    """Elementwise |x| == inf."""
    x = asvalue(x)
    if not is_float(get_aval(x).dtype):
        return np.zeros(get_aval(x).shape, bool)
    return equal(abs(x), np.inf)


def isfinite(x):
    """Neither inf nor nan."""
    x = asvalue(x)
    if not is_float(get_aval(x).dtype):
        return np.ones(get_aval(x).shape, bool)
    return less(abs(x), np.inf)


def isposinf(x):
    return equal(x, np.inf)


def isneginf(x):
    return equal(x, -np.inf)


def signbit(x):
    """True where x < 0 (and for -0.0 only in eager NumPy; traced -0.0 counts as positive)."""
    return less(x, 0)


def copysign(x, y):
    """|x| with the sign of y."""
    return where(less(y, 0), negative(abs(x)), abs(x))


def heaviside(x, h0):
    """0 for x < 0, h0 at 0, 1 for x > 0."""
    x = asvalue(x)
    zero, one = np.zeros((), get_aval(x).dtype), np.ones((), get_aval(x).dtype)
    return where(less(x, 0), zero, where(equal(x, 0), h0, one))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """Replace nan and infinities by finite numbers."""
    x = asvalue(x)
    dt = get_aval(x).dtype
    if not is_float(dt):
        return x
    info = np.finfo(dt)
    posinf = info.max if posinf is None else posinf
    neginf = info.min if neginf is None else neginf
    x = where(isnan(x), np.asarray(nan, dt), x)
    x = where(equal(x, np.inf), np.asarray(posinf, dt), x)
    return where(equal(x, -np.inf), np.asarray(neginf, dt), x)


def float_power(x, y):
    """x ** y in float."""
    return power(E._float_arg(x, "float_power"), y)


def conjugate(x):
    """Complex conjugate (the identity for real arrays)."""
    x = asvalue(x)
    if np.issubdtype(get_aval(x).dtype, np.complexfloating):
        raise NotImplementedError("complex conjugate is not supported: fnflow's ops are real-valued")
    return x


conj = conjugate


def real(x):
    """Real part (the identity for real arrays)."""
    return conjugate(x)


def imag(x):
    """Imaginary part (zeros for real arrays)."""
    x = conjugate(x)
    return E.zeros_like(x)


__all__ = [n for n in dir() if not n.startswith("_") and n not in ("np", "annotations", "E", "asvalue",
                                                                     "promote", "get_aval", "is_float",
                                                                     "where_")]
