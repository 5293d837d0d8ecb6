"""Activation functions and friends, written with ``fnflow.numpy``.

Every function is elementwise unless it takes an ``axis``, works on any float
dtype, and is differentiable to any order, batchable and traceable. At a kink
the derivative follows JAX's conventions: ``relu'(0) = 0``, ``relu6'(6) = 0``,
``leaky_relu'(0) = 1``, ``elu'(0) = alpha``. Functions that could overflow
(``softplus``, ``log_sigmoid``, ``softmax``, ``log_softmax``) are computed in a
form that does not, and so are their gradients (no NaN for large inputs).

Defaults follow JAX (``jax.nn``) except where noted: ``gelu`` is exact (erf)
by default, as in Keras, while JAX's default is ``approximate=True``.
"""

from __future__ import annotations

import math

import numpy as np

import fnflow.numpy as fnp
from fnflow.core.abstract import float_, get_aval, is_float
from fnflow.numpy import add, divide, multiply, subtract, where
from fnflow.ops import elementwise as E
from fnflow.ops._util import asvalue, normalize_axes
from fnflow.transforms.ad import custom_jvp, stop_gradient

logsumexp = fnp.logsumexp

__all__ = ["relu", "relu6", "sigmoid", "log_sigmoid", "softplus", "soft_sign", "silu", "swish", "gelu", "elu",
           "selu", "celu", "leaky_relu", "hard_sigmoid", "hard_tanh", "hard_silu", "hard_swish", "mish", "tanh",
           "glu", "softmax", "log_softmax", "logsumexp", "one_hot", "standardize", "normalize"]


def _float(x):
    if isinstance(x, np.generic):  # a NumPy scalar keeps its dtype (np.float64 is not a weak Python float)
        x = np.asarray(x)
    x = asvalue(x)
    return x if is_float(get_aval(x).dtype) else E.convert_element_type(x, float_)


def _const(x, v):
    """``v`` as a 0-d array of ``x``'s dtype (keeps float32 inputs float32)."""
    return np.asarray(v, get_aval(x).dtype)


# ----------------------------------------------------------- rectifiers


def relu(x):
    """max(x, 0), with derivative 0 at x = 0."""
    x = _float(x)
    return where(fnp.greater(x, 0), x, _const(x, 0))


def relu6(x):
    """min(max(x, 0), 6), with derivative 0 at both kinks (0 and 6)."""
    x = _float(x)
    return where(fnp.greater(x, 0), where(fnp.less(x, 6), x, _const(x, 6)), _const(x, 0))


def leaky_relu(x, negative_slope=0.01):
    """x for x >= 0, ``negative_slope * x`` below (derivative 1 at 0).

    The default slope 0.01 is JAX's (and PyTorch's); Keras's ``LeakyReLU`` layer
    defaults to 0.3 (``keras.activations.leaky_relu`` to 0.2).
    """
    x = _float(x)
    return where(fnp.greater_equal(x, 0), x, multiply(x, _const(x, negative_slope)))


def elu(x, alpha=1.0):
    """x for x > 0, ``alpha * (exp(x) - 1)`` below (derivative ``alpha`` at 0)."""
    x = _float(x)
    pos = fnp.greater(x, 0)
    safe = where(pos, _const(x, 0), x)  # keeps exp from overflowing in the unused branch
    return where(pos, x, multiply(_const(x, alpha), fnp.expm1(safe)))


def selu(x):
    """Scaled ELU with the self-normalising constants (alpha ~ 1.6733, scale ~ 1.0507)."""
    alpha = 1.6732632423543772848170429916717
    scale = 1.0507009873554804934193349852946
    x = _float(x)
    return multiply(_const(x, scale), elu(x, alpha))


def celu(x, alpha=1.0):
    """Continuously differentiable ELU: x for x > 0, ``alpha * (exp(x / alpha) - 1)`` below."""
    x = _float(x)
    pos = fnp.greater(x, 0)
    safe = where(pos, _const(x, 0), x)
    return where(pos, x, multiply(_const(x, alpha), fnp.expm1(divide(safe, _const(x, alpha)))))


# ------------------------------------------------------------- sigmoids


def sigmoid(x):
    """The logistic function 1 / (1 + exp(-x)), stable for large |x|."""
    return E.logistic(_float(x))


@custom_jvp
def _softplus(x):
    # log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): never overflows
    return add(relu(x), fnp.log1p(fnp.exp(fnp.negative(fnp.abs(x)))))


@_softplus.defjvp
def _softplus_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _softplus(x), multiply(t, sigmoid(x))


def softplus(x):
    """log(1 + exp(x)), computed without overflow (softplus(1000) = 1000); its derivative is sigmoid(x)."""
    return _softplus(_float(x))


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), finite for very negative x (log_sigmoid(-1000) = -1000)."""
    return fnp.negative(softplus(fnp.negative(_float(x))))


def soft_sign(x):
    """x / (|x| + 1)."""
    x = _float(x)
    return divide(x, add(fnp.abs(x), _const(x, 1)))


def silu(x):
    """x * sigmoid(x) (also called swish)."""
    x = _float(x)
    return multiply(x, sigmoid(x))


swish = silu


def gelu(x, approximate=False):
    """Gaussian error linear unit ``x * Phi(x)``.

    ``approximate=False`` (the default here, as in Keras and PyTorch) uses the
    exact form ``0.5 * x * (1 + erf(x / sqrt(2)))``; ``approximate=True`` the
    tanh form ``0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))``, which is
    JAX's default.
    """
    x = _float(x)
    if approximate:
        cube = multiply(_const(x, 0.044715), multiply(x, fnp.square(x)))
        inner = multiply(_const(x, math.sqrt(2 / math.pi)), add(x, cube))
        phi = add(_const(x, 1), fnp.tanh(inner))
    else:
        phi = add(_const(x, 1), E.erf(multiply(x, _const(x, 1 / math.sqrt(2)))))
    return multiply(multiply(_const(x, 0.5), x), phi)


def mish(x):
    """x * tanh(softplus(x))."""
    x = _float(x)
    return multiply(x, fnp.tanh(softplus(x)))


def tanh(x):
    """Hyperbolic tangent."""
    return fnp.tanh(_float(x))


def hard_sigmoid(x):
    """relu6(x + 3) / 6: a piecewise-linear sigmoid (JAX's and Keras 3's definition)."""
    x = _float(x)
    return divide(relu6(add(x, _const(x, 3))), _const(x, 6))


def hard_silu(x):
    """x * hard_sigmoid(x) (also called hard_swish)."""
    x = _float(x)
    return multiply(x, hard_sigmoid(x))


hard_swish = hard_silu


def hard_tanh(x):
    """x clipped to [-1, 1] (derivative 1 at the kinks, as JAX)."""
    x = _float(x)
    return where(fnp.greater(x, 1), _const(x, 1), where(fnp.less(x, -1), _const(x, -1), x))


def glu(x, axis=-1):
    """Gated linear unit: split ``x`` in two halves along ``axis``, ``a * sigmoid(b)``."""
    x = _float(x)
    n = get_aval(x).shape[normalize_axes(axis, get_aval(x).ndim, "glu")[0]]
    if n % 2:
        raise ValueError(f"glu: the size of axis {axis} must be even, got {n}")
    a, b = fnp.split(x, 2, axis=axis)
    return multiply(a, sigmoid(b))


# ------------------------------------------------------------- softmax


def _shifted(x, axis):
    # x - max(x): exp of it never overflows. The max is a constant for differentiation (it
    # cancels mathematically); an infinite max (a row of -inf) is replaced by 0.
    m = fnp.max(x, axis=axis, keepdims=True)
    m = stop_gradient(where(fnp.isfinite(m), m, _const(x, 0)))
    return subtract(x, m)


def _softmax_value(x, axis):
    e = fnp.exp(_shifted(x, axis))
    return divide(e, fnp.sum(e, axis=axis, keepdims=True))


_softmax = custom_jvp(_softmax_value, nondiff_argnums=(1,))


@_softmax.defjvp
def _softmax_jvp(axis, primals, tangents):
    (x,), (t,) = primals, tangents
    y = _softmax(x, axis)
    return y, multiply(y, subtract(t, fnp.sum(multiply(y, t), axis=axis, keepdims=True)))


def _axes(x, axis, name):
    return normalize_axes(axis, get_aval(x).ndim, name)


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) over ``axis`` (an int, a tuple, or None for all), stable for large logits.

    Its JVP is ``y * (t - sum(y * t))`` (a custom rule, as in JAX), so
    gradients stay finite where ``exp`` would overflow or underflow.
    """
    x = _float(x)
    return _softmax(x, _axes(x, axis, "softmax"))


def log_softmax(x, axis=-1):
    """x - logsumexp(x) over ``axis``, computed without overflow."""
    x = _float(x)
    axes = _axes(x, axis, "log_softmax")
    s = _shifted(x, axes)
    return subtract(s, fnp.log(fnp.sum(fnp.exp(s), axis=axes, keepdims=True)))


# ------------------------------------------------------------------ misc


def one_hot(x, num_classes, dtype=float_, axis=-1):
    """One-hot encoding of integer ``x``: a new axis of size ``num_classes`` (at ``axis``).

    Entries outside ``[0, num_classes)`` encode as all zeros, as in JAX.
    """
    x = asvalue(x)
    num_classes = int(num_classes)
    nd = get_aval(x).ndim + 1
    ax = normalize_axes(axis, nd, "one_hot")[0]
    classes = np.arange(num_classes).reshape((num_classes,) + (1,) * (nd - 1 - ax))
    x = fnp.expand_dims(x, ax)
    return fnp.astype(fnp.equal(x, classes.astype(get_aval(x).dtype)), dtype)


def standardize(x, axis=-1, mean=None, variance=None, epsilon=1e-5):
    """``(x - mean) / sqrt(variance + epsilon)`` over ``axis``; mean and variance are computed when not given."""
    x = _float(x)
    if mean is None:
        mean = fnp.mean(x, axis=axis, keepdims=True)
    if variance is None:
        variance = fnp.var(x, axis=axis, keepdims=True)
    return divide(subtract(x, mean), fnp.sqrt(add(variance, _const(x, epsilon))))


normalize = standardize
