"""keras.ops: backend-agnostic tensor functions, here backed by ``fnflow.numpy`` / ``fnflow.nn`` / ``fnflow.lax``.

NumPy-named functions (``ops.matmul``, ``ops.sum``, ``ops.reshape`` ...) are
``fnflow.numpy``'s; neural-network functions (``relu``, ``softmax``,
``one_hot`` ...) are ``fnflow.nn``'s with Keras's signatures; plus
``convert_to_tensor``, ``convert_to_numpy``, ``stop_gradient``, ``cond``,
``scan``, ``while_loop``, ``fori_loop``, ``cast``, ``shape``.
"""

from __future__ import annotations

import numpy as np

import fnflow
import fnflow.lax as _lax
import fnflow.nn as _nn
import fnflow.numpy as _fnp
from fnflow_keras import activations as _act
from fnflow_keras import backend as _backend


def convert_to_tensor(x, dtype=None, sparse=None):
    """An fnflow array (or tracer) for ``x``; Python/NumPy floats stay their dtype unless ``dtype`` is given."""
    if hasattr(x, "__fnflow_array__"):
        x = x.__fnflow_array__()
    return _fnp.asarray(x, dtype=dtype) if dtype is not None else _fnp.asarray(x)


def convert_to_numpy(x):
    """A NumPy array of ``x``'s value."""
    return np.asarray(x)


def cast(x, dtype):
    return convert_to_tensor(x).astype(_backend.standardize_dtype(dtype))


def shape(x):
    return tuple(x.shape)


def stop_gradient(x):
    return fnflow.stop_gradient(convert_to_tensor(x))


def cond(pred, true_fn, false_fn):
    """``true_fn()`` if ``pred`` else ``false_fn()`` (traced with ``fnflow.lax.cond`` under jit)."""
    return _lax.cond(pred, lambda _: true_fn(), lambda _: false_fn(), 0)


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    return _lax.scan(f, init, xs, length=length, reverse=reverse, unroll=unroll)


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Keras's while_loop: ``cond(*loop_vars)`` / ``body(*loop_vars)`` on a tuple of loop variables."""
    single = not isinstance(loop_vars, (list, tuple))
    lv = (loop_vars,) if single else tuple(loop_vars)

    def c(v):
        return cond(*v)

    def b(v):
        out = body(*v)
        return (out,) if single else tuple(out)

    out = _lax.while_loop(c, b, lv)
    return out[0] if single else out


def fori_loop(lower, upper, body_fun, init_val):
    return _lax.fori_loop(lower, upper, body_fun, init_val)


def relu(x):
    return _nn.relu(convert_to_tensor(x))


def relu6(x):
    return _nn.relu6(convert_to_tensor(x))


def sigmoid(x):
    return _nn.sigmoid(convert_to_tensor(x))


def softplus(x):
    return _nn.softplus(convert_to_tensor(x))


def silu(x):
    return _nn.silu(convert_to_tensor(x))


swish = silu


def gelu(x, approximate=True):
    return _nn.gelu(convert_to_tensor(x), approximate=approximate)


def elu(x, alpha=1.0):
    return _nn.elu(convert_to_tensor(x), alpha)


def selu(x):
    return _nn.selu(convert_to_tensor(x))


def leaky_relu(x, negative_slope=0.2):
    return _nn.leaky_relu(convert_to_tensor(x), negative_slope)


def softmax(x, axis=-1):
    return _nn.softmax(convert_to_tensor(x), axis=axis)


def log_softmax(x, axis=-1):
    return _nn.log_softmax(convert_to_tensor(x), axis=axis)


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    return _nn.one_hot(convert_to_tensor(x), num_classes, dtype=_backend.standardize_dtype(dtype), axis=axis)


def logsumexp(x, axis=None, keepdims=False):
    x = convert_to_tensor(x)
    m = fnflow.stop_gradient(_fnp.max(x, axis=axis, keepdims=True))
    out = _fnp.log(_fnp.sum(_fnp.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else _fnp.squeeze(out, axis=axis) if axis is not None else _fnp.reshape(out, ())


def top_k(x, k, sorted=True):  # noqa: A002
    import fnflow.lax as lax

    return lax.top_k(convert_to_tensor(x), k) if hasattr(lax, "top_k") else _fnp.sort(x)[..., ::-1][..., :k]


def moments(x, axes, keepdims=False):
    mean = _fnp.mean(x, axis=axes, keepdims=True)
    var = _fnp.mean(_fnp.square(x - mean), axis=axes, keepdims=True)
    if not keepdims:
        mean, var = _fnp.squeeze(mean, axis=axes), _fnp.squeeze(var, axis=axes)
    return mean, var


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    output = convert_to_tensor(output)
    if from_logits:
        return -_fnp.sum(target * _nn.log_softmax(output, axis=axis), axis=axis)
    output = output / _fnp.sum(output, axis=axis, keepdims=True)
    eps = _backend.epsilon()
    return -_fnp.sum(target * _fnp.log(_fnp.clip(output, eps, 1 - eps)), axis=axis)


def binary_crossentropy(target, output, from_logits=False):
    output = convert_to_tensor(output)
    if from_logits:
        return _nn.relu(output) - output * target + _fnp.log1p(_fnp.exp(-_fnp.abs(output)))
    eps = _backend.epsilon()
    output = _fnp.clip(output, eps, 1 - eps)
    return -(target * _fnp.log(output) + (1 - target) * _fnp.log(1 - output))




def __getattr__(name):
    if hasattr(_fnp, name):
        return getattr(_fnp, name)
    if hasattr(_act, name):
        return getattr(_act, name)
    raise AttributeError(f"module 'fnflow_keras.ops' has no attribute {name!r}")
