"""Elementwise primitives: math, arithmetic, comparisons, logic, select, dtype conversion.

Operands of an n-ary op share one dtype (the wrappers promote) and broadcast as
in NumPy; a rule that sends a cotangent back to a broadcast operand sums it
over the broadcast axes (``unbroadcast``).
"""

from __future__ import annotations

import math

import numpy as np

from fnflow.core.abstract import ShapedArray, get_aval, is_float, is_int
from fnflow.core.primitive import Primitive, is_undefined
from fnflow.core.trace import Tracer, bind
from fnflow.ops._util import asvalue, elementwise_abstract, promote, unbroadcast
from fnflow.transforms.ad import Zero, defbilinear, defjvp, deflinear, defzero
from fnflow.transforms.batching import defbroadcasting, defvectorized

# ------------------------------------------------------------------ helpers


def _unary(name, np_fn, float_only=True):
    p = Primitive(name)
    p.def_impl(np_fn)

    def abstract(x):
        if float_only and not is_float(x.dtype):
            raise TypeError(f"{name} requires a floating-point operand, got {x.str_short()}")
        return x

    p.def_abstract_eval(abstract)
    defvectorized(p)
    return p


def _nary(name, np_fn, out_dtype=None):
    p = Primitive(name)
    p.def_impl(np_fn)

    def abstract(*avals):
        a = elementwise_abstract(name, *avals)
        return a if out_dtype is None else a.update(dtype=out_dtype)

    p.def_abstract_eval(abstract)
    defbroadcasting(p)
    return p


def _float_arg(x, name):
    """Promote integer/bool inputs of float functions (``exp(int)``) to the default float."""
    x = asvalue(x)
    if not is_float(get_aval(x).dtype):
        from fnflow.core.abstract import float_

        x = asvalue(x, float_)
    return x


def _wrap_unary(p, doc, float_only=True):
    def f(x):
        return bind(p, _float_arg(x, p.name) if float_only else asvalue(x))

    f.__name__ = p.name
    f.__doc__ = doc
    return f


# ---------------------------------------------------------------- unary math

neg_p = _unary("neg", np.negative, float_only=False)
deflinear(neg_p, lambda ct, x: [neg(ct)])
sign_p = _unary("sign", np.sign, float_only=False)
defzero(sign_p)
floor_p = _unary("floor", np.floor)
defzero(floor_p)
ceil_p = _unary("ceil", np.ceil)
defzero(ceil_p)
round_p = _unary("round", np.round)  # half to even, as NumPy
defzero(round_p)
exp_p = _unary("exp", np.exp)
defjvp(exp_p, lambda t, ans, x: mul(t, ans))
log_p = _unary("log", np.log)
defjvp(log_p, lambda t, ans, x: div(t, x))
log1p_p = _unary("log1p", np.log1p)
defjvp(log1p_p, lambda t, ans, x: div(t, add(x, 1)))
expm1_p = _unary("expm1", np.expm1)
defjvp(expm1_p, lambda t, ans, x: mul(t, add(ans, 1)))
sqrt_p = _unary("sqrt", np.sqrt)
defjvp(sqrt_p, lambda t, ans, x: div(t, mul(ans, 2)))
cbrt_p = _unary("cbrt", np.cbrt)
defjvp(cbrt_p, lambda t, ans, x: div(t, mul(square(ans), 3)))
sin_p = _unary("sin", np.sin)
defjvp(sin_p, lambda t, ans, x: mul(t, cos(x)))
cos_p = _unary("cos", np.cos)
defjvp(cos_p, lambda t, ans, x: neg(mul(t, sin(x))))
tan_p = _unary("tan", np.tan)
defjvp(tan_p, lambda t, ans, x: mul(t, add(square(ans), 1)))
asin_p = _unary("asin", np.arcsin)
defjvp(asin_p, lambda t, ans, x: div(t, sqrt(sub(1, square(x)))))
acos_p = _unary("acos", np.arccos)
defjvp(acos_p, lambda t, ans, x: neg(div(t, sqrt(sub(1, square(x))))))
atan_p = _unary("atan", np.arctan)
defjvp(atan_p, lambda t, ans, x: div(t, add(square(x), 1)))
sinh_p = _unary("sinh", np.sinh)
defjvp(sinh_p, lambda t, ans, x: mul(t, cosh(x)))
cosh_p = _unary("cosh", np.cosh)
defjvp(cosh_p, lambda t, ans, x: mul(t, sinh(x)))
tanh_p = _unary("tanh", np.tanh)
defjvp(tanh_p, lambda t, ans, x: mul(t, sub(1, square(ans))))
asinh_p = _unary("asinh", np.arcsinh)
defjvp(asinh_p, lambda t, ans, x: div(t, sqrt(add(square(x), 1))))
acosh_p = _unary("acosh", np.arccosh)
defjvp(acosh_p, lambda t, ans, x: div(t, mul(sqrt(sub(x, 1)), sqrt(add(x, 1)))))
atanh_p = _unary("atanh", np.arctanh)
defjvp(atanh_p, lambda t, ans, x: div(t, sub(1, square(x))))
abs_p = _unary("abs", np.abs, float_only=False)
defjvp(abs_p, lambda t, ans, x: mul(t, sign(x)))


def _logistic_impl(x):
    # numerically stable for large |x|
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1 / (1 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1 + e)
    return out


logistic_p = _unary("logistic", _logistic_impl)
defjvp(logistic_p, lambda t, ans, x: mul(t, mul(ans, sub(1, ans))))

_erf_vec = np.frompyfunc(math.erf, 1, 1)
erf_p = _unary("erf", lambda x: np.asarray(_erf_vec(x), dtype=x.dtype))
defjvp(erf_p, lambda t, ans, x: mul(t, mul(2 / math.sqrt(math.pi), exp(neg(square(x))))))

neg = _wrap_unary(neg_p, "Elementwise negation.", float_only=False)
sign = _wrap_unary(sign_p, "Elementwise sign (-1, 0, 1).", float_only=False)
floor = _wrap_unary(floor_p, "Elementwise floor.")
ceil = _wrap_unary(ceil_p, "Elementwise ceiling.")
exp = _wrap_unary(exp_p, "Elementwise e**x.")
log = _wrap_unary(log_p, "Elementwise natural logarithm.")
log1p = _wrap_unary(log1p_p, "Elementwise log(1 + x), accurate for small x.")
expm1 = _wrap_unary(expm1_p, "Elementwise exp(x) - 1, accurate for small x.")
sqrt = _wrap_unary(sqrt_p, "Elementwise square root.")
cbrt = _wrap_unary(cbrt_p, "Elementwise cube root.")
sin = _wrap_unary(sin_p, "Elementwise sine.")
cos = _wrap_unary(cos_p, "Elementwise cosine.")
tan = _wrap_unary(tan_p, "Elementwise tangent.")
asin = _wrap_unary(asin_p, "Elementwise inverse sine.")
acos = _wrap_unary(acos_p, "Elementwise inverse cosine.")
atan = _wrap_unary(atan_p, "Elementwise inverse tangent.")
sinh = _wrap_unary(sinh_p, "Elementwise hyperbolic sine.")
cosh = _wrap_unary(cosh_p, "Elementwise hyperbolic cosine.")
tanh = _wrap_unary(tanh_p, "Elementwise hyperbolic tangent.")
asinh = _wrap_unary(asinh_p, "Elementwise inverse hyperbolic sine.")
acosh = _wrap_unary(acosh_p, "Elementwise inverse hyperbolic cosine.")
atanh = _wrap_unary(atanh_p, "Elementwise inverse hyperbolic tangent.")
logistic = _wrap_unary(logistic_p, "Elementwise 1 / (1 + exp(-x)).")
erf = _wrap_unary(erf_p, "Elementwise error function.")


def abs(x):  # noqa: A001
    """Elementwise absolute value."""
    return bind(abs_p, asvalue(x))


def round(x, decimals=0):  # noqa: A001
    """Round half to even (NumPy's rule); ``decimals`` scales by 10**decimals."""
    x = _float_arg(x, "round")
    if decimals == 0:
        return bind(round_p, x)
    s = 10.0 ** decimals
    return div(bind(round_p, mul(x, s)), s)


def square(x):
    """Elementwise x * x."""
    x = asvalue(x)
    return mul(x, x)


# ---------------------------------------------------------------- binary math

add_p = _nary("add", np.add)
sub_p = _nary("sub", np.subtract)
mul_p = _nary("mul", np.multiply)
div_p = _nary("div", lambda x, y: np.true_divide(x, y) if is_float(x.dtype) else _int_div(x, y))
pow_p = _nary("pow", np.power)
max_p = _nary("max", np.maximum)
min_p = _nary("min", np.minimum)
atan2_p = _nary("atan2", np.arctan2)
rem_p = _nary("rem", np.fmod)  # C-style remainder: sign of the dividend (lax.rem)


def _int_div(x, y):
    # integer division rounding toward zero, as lax.div does for integers
    q = np.floor_divide(x, y)
    return np.where((np.remainder(x, y) != 0) & ((x < 0) ^ (y < 0)), q + 1, q)


def _transpose_add(ct, x, y):
    return [unbroadcast(ct, x.aval.shape) if is_undefined(x) else None,
            unbroadcast(ct, y.aval.shape) if is_undefined(y) else None]


def _transpose_sub(ct, x, y):
    return [unbroadcast(ct, x.aval.shape) if is_undefined(x) else None,
            unbroadcast(neg(ct), y.aval.shape) if is_undefined(y) else None]


def _broadcast_tangent(t, shape):
    from fnflow.ops.shape import broadcast_to

    return broadcast_to(t, shape) if get_aval(t).shape != tuple(shape) else t


def _lin_jvp(prim, combine):
    def jvp(primals, tangents):
        ans = bind(prim, *primals)
        shape = get_aval(ans).shape
        tx, ty = tangents
        if isinstance(tx, Zero) and isinstance(ty, Zero):
            return ans, Zero(get_aval(ans))
        return ans, _broadcast_tangent(combine(tx, ty), shape)

    return jvp


add_p.def_jvp(_lin_jvp(add_p, lambda tx, ty: ty if isinstance(tx, Zero) else tx if isinstance(ty, Zero)
                       else add(tx, ty)))
add_p.def_transpose(_transpose_add)
sub_p.def_jvp(_lin_jvp(sub_p, lambda tx, ty: neg(ty) if isinstance(tx, Zero) else tx if isinstance(ty, Zero)
                       else sub(tx, ty)))
sub_p.def_transpose(_transpose_sub)
defbilinear(mul_p,
            lambda ct, y, xa: unbroadcast(mul(ct, y), xa.shape),
            lambda ct, x, ya: unbroadcast(mul(x, ct), ya.shape))


def _div_jvp(primals, tangents):
    x, y = primals
    tx, ty = tangents
    ans = div(x, y)
    out = Zero(get_aval(ans))
    if not isinstance(tx, Zero):
        out = _broadcast_tangent(div(tx, y), get_aval(ans).shape)
    if not isinstance(ty, Zero):
        c = _broadcast_tangent(neg(mul(ty, div(ans, y))), get_aval(ans).shape)
        out = c if isinstance(out, Zero) else add(out, c)
    return ans, out


def _div_transpose(ct, x, y):
    if is_undefined(y):
        raise ValueError("div: transpose with respect to the divisor (not linear)")
    return [unbroadcast(div(ct, y), x.aval.shape), None]


div_p.def_jvp(_div_jvp)
div_p.def_transpose(_div_transpose)


def _pow_jvp_x(t, ans, x, y):
    # d/dx x**y = y * x**(y-1); written so that y == 0 gives 0, not nan
    if not isinstance(y, Tracer) and np.all(np.asarray(y) != 0):  # constant exponent: no select needed
        return mul(t, mul(y, pow(x, sub(y, 1))))
    safe = pow(x, select(eq(y, 0), 1, sub(y, 1)))
    return mul(t, select(eq(y, 0), 0, mul(y, safe)))


def _pow_jvp_y(t, ans, x, y):
    # d/dy x**y = log(x) * x**y, taken as 0 where x == 0 (as JAX does)
    logx = log(select(eq(x, 0), 1, x))
    return mul(t, mul(ans, logx))


defjvp(pow_p, _pow_jvp_x, _pow_jvp_y)


def _minmax_jvp(pick_x):
    # ties share the tangent equally, as JAX does
    def weights(ans, x, y, first):
        one, zero, half = (np.asarray(v, get_aval(ans).dtype) for v in (1, 0, 0.5))
        picked = select(pick_x(x, y), one, zero) if first else select(pick_x(x, y), zero, one)
        return select(eq(x, y), half, picked)

    def rule_x(t, ans, x, y):
        return mul(t, weights(ans, x, y, True))

    def rule_y(t, ans, x, y):
        return mul(t, weights(ans, x, y, False))

    return rule_x, rule_y


defjvp(max_p, *_minmax_jvp(lambda x, y: gt(x, y)))
defjvp(min_p, *_minmax_jvp(lambda x, y: lt(x, y)))
defjvp(atan2_p,
       lambda t, ans, y, x: mul(t, div(x, add(square(x), square(y)))),
       lambda t, ans, y, x: mul(t, div(neg(y), add(square(x), square(y)))))
defjvp(rem_p,
       lambda t, ans, x, y: t,
       lambda t, ans, x, y: mul(neg(t), _trunc(div(x, y))))


def _trunc(x):
    return select(lt(x, 0), ceil(x), floor(x))


def _binary(p, doc):
    def f(x, y):
        x, y = promote(x, y)
        return bind(p, x, y)

    f.__name__ = p.name
    f.__doc__ = doc
    return f


add = _binary(add_p, "Elementwise x + y (broadcasting).")
sub = _binary(sub_p, "Elementwise x - y (broadcasting).")
mul = _binary(mul_p, "Elementwise x * y (broadcasting).")
max = _binary(max_p, "Elementwise maximum.")  # noqa: A001
min = _binary(min_p, "Elementwise minimum.")  # noqa: A001
rem = _binary(rem_p, "Elementwise remainder with the sign of x (C fmod).")


def div(x, y):
    """Elementwise x / y; integer operands give the default float dtype (true division)."""
    x, y = promote(x, y)
    if not is_float(get_aval(x).dtype):
        from fnflow.core.abstract import float_

        x, y = asvalue(x, float_), asvalue(y, float_)
    return bind(div_p, x, y)


def int_div(x, y):
    """Integer division rounding toward zero (lax.div on integers)."""
    x, y = promote(x, y)
    return bind(div_p, x, y)


def pow(x, y):  # noqa: A001
    """Elementwise x ** y."""
    x, y = promote(x, y)
    return bind(pow_p, x, y)


def atan2(y, x):
    """Elementwise arctan(y / x) in the right quadrant."""
    y, x = promote(y, x)
    if not is_float(get_aval(x).dtype):
        from fnflow.core.abstract import float_

        y, x = asvalue(y, float_), asvalue(x, float_)
    return bind(atan2_p, y, x)


# ------------------------------------------------------ comparisons and logic

_CMP = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
        "gt": np.greater, "ge": np.greater_equal}
_cmp_prims = {}
for _n, _f in _CMP.items():
    _cmp_prims[_n] = _nary(_n, _f, out_dtype=np.bool_)
    defzero(_cmp_prims[_n])
eq_p, ne_p, lt_p, le_p, gt_p, ge_p = (_cmp_prims[n] for n in ("eq", "ne", "lt", "le", "gt", "ge"))
eq = _binary(eq_p, "Elementwise x == y.")
ne = _binary(ne_p, "Elementwise x != y.")
lt = _binary(lt_p, "Elementwise x < y.")
le = _binary(le_p, "Elementwise x <= y.")
gt = _binary(gt_p, "Elementwise x > y.")
ge = _binary(ge_p, "Elementwise x >= y.")


def _int_or_bool_abstract(name):
    def abstract(*avals):
        a = elementwise_abstract(name, *avals)
        if is_float(a.dtype):
            raise TypeError(f"{name} requires integer or boolean operands, got {a.str_short()}")
        return a

    return abstract


_BITS = {"and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor,
         "shift_left": np.left_shift, "shift_right": np.right_shift}
_bit_prims = {}
for _n, _f in _BITS.items():
    _bit_prims[_n] = _nary(_n, _f)
    _bit_prims[_n].def_abstract_eval(_int_or_bool_abstract(_n))
    defzero(_bit_prims[_n])
and_p, or_p, xor_p = _bit_prims["and"], _bit_prims["or"], _bit_prims["xor"]
shift_left_p, shift_right_p = _bit_prims["shift_left"], _bit_prims["shift_right"]
not_p = _unary("not", np.invert, float_only=False)
not_p.def_abstract_eval(_int_or_bool_abstract("not"))
defzero(not_p)

bitwise_and = _binary(and_p, "Elementwise bitwise/logical and.")
bitwise_or = _binary(or_p, "Elementwise bitwise/logical or.")
bitwise_xor = _binary(xor_p, "Elementwise bitwise/logical xor.")
shift_left = _binary(shift_left_p, "Elementwise x << y.")
shift_right = _binary(shift_right_p, "Elementwise x >> y (arithmetic for signed integers).")


def bitwise_not(x):
    """Elementwise bitwise/logical not."""
    return bind(not_p, asvalue(x))


# ------------------------------------------------------------------ select

select_p = Primitive("select")
select_p.def_impl(np.where)


@select_p.def_abstract_eval
def _select_abstract(pred, on_true, on_false):
    if pred.dtype != np.bool_:
        raise TypeError(f"select: the predicate must be boolean, got {pred.str_short()}")
    a = elementwise_abstract("select", on_true, on_false)
    return ShapedArray(elementwise_abstract("select", pred.update(dtype=a.dtype), a).shape, a.dtype)


def _select_jvp(primals, tangents):
    pred, x, y = primals
    _, tx, ty = tangents
    ans = bind(select_p, pred, x, y)
    if isinstance(tx, Zero) and isinstance(ty, Zero):
        return ans, Zero(get_aval(ans))
    tx = zeros_like(x) if isinstance(tx, Zero) else tx
    ty = zeros_like(y) if isinstance(ty, Zero) else ty
    return ans, _broadcast_tangent(bind(select_p, pred, tx, ty), get_aval(ans).shape)


def _select_transpose(ct, pred, x, y):
    if is_undefined(pred):
        raise ValueError("select: the predicate is not differentiable")
    z = np.zeros((), get_aval(ct).dtype)
    return [None,
            unbroadcast(bind(select_p, pred, ct, z), x.aval.shape) if is_undefined(x) else None,
            unbroadcast(bind(select_p, pred, z, ct), y.aval.shape) if is_undefined(y) else None]


select_p.def_jvp(_select_jvp)
select_p.def_transpose(_select_transpose)
defbroadcasting(select_p)


def select(pred, on_true, on_false):
    """``on_true`` where ``pred`` else ``on_false`` (broadcasting, as numpy.where)."""
    on_true, on_false = promote(on_true, on_false)
    pred = asvalue(pred)
    if get_aval(pred).dtype != np.bool_:
        pred = ne(pred, 0)
    return bind(select_p, pred, on_true, on_false)


# -------------------------------------------------------- dtype conversion

convert_element_type_p = Primitive("convert_element_type")


def _convert_impl(x, new_dtype):
    if is_int(new_dtype) and is_float(x.dtype):
        # NumPy's float->int cast of nan/inf is undefined; truncation toward zero otherwise
        return x.astype(new_dtype)
    return x.astype(new_dtype)


convert_element_type_p.def_impl(_convert_impl)
convert_element_type_p.def_abstract_eval(lambda x, new_dtype: x.update(dtype=new_dtype))


def _convert_jvp(primals, tangents, new_dtype):
    (x,), (t,) = primals, tangents
    ans = bind(convert_element_type_p, x, new_dtype=new_dtype)
    if isinstance(t, Zero) or not is_float(new_dtype) or not is_float(get_aval(x).dtype):
        return ans, Zero(get_aval(ans))
    return ans, bind(convert_element_type_p, t, new_dtype=new_dtype)


def _convert_transpose(ct, x, new_dtype):
    if isinstance(ct, Zero):
        return [None]
    return [bind(convert_element_type_p, ct, new_dtype=x.aval.dtype)]


convert_element_type_p.def_jvp(_convert_jvp)
convert_element_type_p.def_transpose(_convert_transpose)
defvectorized(convert_element_type_p)


def convert_element_type(x, dtype):
    """``x`` cast to ``dtype`` (float -> int truncates toward zero)."""
    from fnflow.core.abstract import canonical_dtype

    dtype = canonical_dtype(dtype)
    x = asvalue(x)
    if get_aval(x).dtype == dtype:
        return x
    if not hasattr(x, "_trace"):
        from fnflow.core.array import as_output

        return as_output(np.asarray(x).astype(dtype))
    return bind(convert_element_type_p, x, new_dtype=dtype)


# ----------------------------------------------------------- small helpers


def zeros_like(x):
    """Concrete zeros of the shape and dtype of ``x``."""
    a = get_aval(x)
    return np.zeros(a.shape, a.dtype)


def ones_like(x):
    a = get_aval(x)
    return np.ones(a.shape, a.dtype)


def full_like(x, v):
    a = get_aval(x)
    return np.full(a.shape, v, a.dtype)
