"""fnflow.random: splittable, counter-based pseudo-random numbers with explicit keys.

A key is a ``uint32[2]`` array; ``key(seed)`` makes one, ``split`` and
``fold_in`` derive new independent keys, and every sampler is a pure function
of its key (no global state). Bits come from the Threefry-2x32 cipher
(20 rounds) applied to a counter, with the same key/counter layout as JAX's
default ``threefry2x32`` implementation, so the raw bits of ``key``, ``split``,
``fold_in`` and ``bits`` match JAX's for the same seed. Samplers work eagerly,
under ``jit``, ``vmap`` (over keys) and ``grad`` (samples are constants).
"""

from __future__ import annotations

import math

import numpy as np

from fnflow.core.abstract import canonical_dtype, float_, get_aval, int_
from fnflow.core.trace import Tracer
from fnflow.ops import elementwise as E
from fnflow.ops import reduce as R
from fnflow.ops import shape as S
from fnflow.ops._util import asvalue
from fnflow.ops.random_bits import bitcast_convert_type, threefry2x32

# ----------------------------------------------------------------- keys


def _check_key(key, fn):
    a = get_aval(asvalue(key))
    if a.shape[-1:] != (2,) or a.dtype != np.uint32:
        raise TypeError(f"random.{fn}: expected a key (a uint32[2] array from fnflow.random.key), got "
                        f"{a.str_short()}")
    if a.ndim != 1:
        raise TypeError(f"random.{fn}: expected a single key of shape (2,), got shape {a.shape}; use "
                        f"fnflow.vmap to map over a batch of keys")
    return asvalue(key)


def key(seed) -> np.ndarray:
    """A key from an integer seed (``PRNGKey`` is an alias)."""
    if isinstance(seed, Tracer):
        s = E.convert_element_type(seed, np.uint32)
        return S.concatenate([np.zeros((1,), np.uint32), S.reshape(s, (1,))], 0)
    seed = int(seed)
    if not -(2 ** 63) <= seed < 2 ** 64:
        raise ValueError(f"random.key: seed {seed} does not fit in 64 bits")
    seed %= 2 ** 64
    from fnflow.core.array import as_output

    return as_output(np.array([seed >> 32, seed & 0xFFFFFFFF], np.uint32))


PRNGKey = key


def _hash(k, counts):
    """Threefry of a flat uint32 counter array: its two halves are the two words (JAX's layout)."""
    n = get_aval(counts).shape[0]
    odd = n % 2
    if odd:
        counts = S.concatenate([counts, np.zeros((1,), np.uint32)], 0)
    h = (n + odd) // 2
    x0, x1 = S.slice_in_dim(counts, 0, h), S.slice_in_dim(counts, h, 2 * h)
    k0, k1 = S.reshape(S.slice_in_dim(k, 0, 1), ()), S.reshape(S.slice_in_dim(k, 1, 2), ())
    y0, y1 = threefry2x32(k0, k1, x0, x1)
    out = S.concatenate([y0, y1], 0)
    return S.slice_in_dim(out, 0, n) if odd else out


def split(key, num: int = 2):
    """``num`` new independent keys, shape ``(num, 2)``."""
    key = _check_key(key, "split")
    counts = np.arange(2 * int(num), dtype=np.uint32)
    return S.reshape(_hash(key, counts), (int(num), 2))


def fold_in(key, data):
    """A new key from ``key`` and an integer (e.g. a step number)."""
    key = _check_key(key, "fold_in")
    d = asvalue(data)
    d = E.convert_element_type(d, np.uint32) if get_aval(d).dtype != np.uint32 else d
    counts = S.concatenate([np.zeros((1,), np.uint32), S.reshape(d, (1,))], 0)
    return _hash(key, counts)


def bits(key, shape=(), dtype=np.uint32):
    """Random unsigned integers (uint32, or uint64 from two words) of ``shape``."""
    key = _check_key(key, "bits")
    shape = _shape(shape)
    dtype = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64))
    if dtype == np.uint32:
        return S.reshape(_hash(key, np.arange(n, dtype=np.uint32)), shape) if n else np.zeros(shape, np.uint32)
    if dtype == np.uint64:
        words = _hash(key, np.arange(2 * n, dtype=np.uint32))
        hi = E.convert_element_type(S.slice_in_dim(words, 0, n), np.uint64)
        lo = E.convert_element_type(S.slice_in_dim(words, n, 2 * n), np.uint64)
        return S.reshape(E.bitwise_or(E.shift_left(hi, np.uint64(32)), lo), shape)
    raise TypeError(f"random.bits: dtype must be uint32 or uint64, got {dtype}")


def _shape(shape):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def _float_dtype(dtype, fn):
    dt = float_ if dtype is None else canonical_dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"random.{fn}: dtype must be a float dtype, got {dt}")
    return dt


# ------------------------------------------------------------ samplers


def uniform(key, shape=(), dtype=None, minval=0.0, maxval=1.0):
    """Uniform floats in ``[minval, maxval)``."""
    dt = _float_dtype(dtype, "uniform")
    shape = _shape(shape)
    if dt == np.float64:
        b = bits(key, shape, np.uint64)
        mant = E.bitwise_or(E.shift_right(b, np.uint64(12)), np.uint64(0x3FF0000000000000))
        u = E.sub(bitcast_convert_type(mant, np.float64), 1.0)
    else:
        b = bits(key, shape)
        mant = E.bitwise_or(E.shift_right(b, np.uint32(9)), np.uint32(0x3F800000))
        u = E.sub(bitcast_convert_type(mant, np.float32), np.float32(1.0))
        if dt != np.float32:
            u = E.convert_element_type(u, dt)
    lo, hi = asvalue(minval, dt), asvalue(maxval, dt)
    out = E.add(E.mul(u, E.sub(hi, lo)), lo)
    # rounding can reach maxval for narrow dtypes: keep the interval half-open
    return E.max(lo, E.min(out, _prev_float(hi, dt))) if dt != np.float64 else out


def _prev_float(x, dt):
    if isinstance(x, Tracer):
        return x
    return np.nextafter(np.asarray(x, dt), np.asarray(-np.inf, dt))


def _next_float(x, dt):
    if isinstance(x, Tracer):
        return x
    return np.nextafter(np.asarray(x, dt), np.asarray(np.inf, dt))


def normal(key, shape=(), dtype=None):
    """Standard normal samples (Box–Muller on two uniforms)."""
    dt = _float_dtype(dtype, "normal")
    shape = _shape(shape)
    k1, k2 = _two(key, "normal")
    u1 = E.sub(1.0, uniform(k1, shape, dt))  # in (0, 1]
    u2 = uniform(k2, shape, dt)
    r = E.sqrt(E.mul(-2.0, E.log(u1)))
    return E.mul(r, E.cos(E.mul(2 * math.pi, u2)))


def _two(key, fn):
    ks = split(_check_key(key, fn), 2)
    return ks[0], ks[1]


def _erfinv(y):
    # Giles (2010) single-precision approximation, refined by two Newton steps on erf.
    y = asvalue(y)
    w = E.neg(E.log(E.mul(E.sub(1.0, y), E.add(1.0, y))))
    small = E.lt(w, 5.0)
    w1 = E.sub(w, 2.5)
    p1 = 2.81022636e-08
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
              -0.00417768164, 0.246640727, 1.50140941):
        p1 = E.add(E.mul(p1, w1), c)
    w2 = E.sub(E.sqrt(w), 3.0)
    p2 = -0.000200214257
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
              0.00943887047, 1.00167406, 2.83297682):
        p2 = E.add(E.mul(p2, w2), c)
    x = E.mul(E.select(small, p1, p2), y)
    two_over_sqrt_pi = 2.0 / math.sqrt(math.pi)
    for _ in range(2):
        err = E.sub(E.erf(x), y)
        x = E.sub(x, E.div(err, E.mul(two_over_sqrt_pi, E.exp(E.neg(E.square(x))))))
    return x


def truncated_normal(key, lower=-2.0, upper=2.0, shape=(), dtype=None):
    """Standard normal samples conditioned on ``lower < x < upper`` (inverse CDF)."""
    dt = _float_dtype(dtype, "truncated_normal")
    shape = _shape(shape)
    sqrt2 = math.sqrt(2.0)
    lo = E.erf(E.div(asvalue(lower, dt), sqrt2))
    hi = E.erf(E.div(asvalue(upper, dt), sqrt2))
    u = uniform(key, shape, dt, minval=0.0, maxval=1.0)
    y = E.add(lo, E.mul(u, E.sub(hi, lo)))
    tiny = np.finfo(dt).eps
    y = E.max(E.min(y, 1.0 - tiny), -1.0 + tiny)
    x = E.mul(sqrt2, _erfinv(y))
    return E.max(E.min(x, _prev_float(asvalue(upper, dt), dt)), _next_float(asvalue(lower, dt), dt))


def bernoulli(key, p=0.5, shape=None):
    """Booleans that are True with probability ``p`` (broadcast to ``shape``)."""
    p = asvalue(p)
    if get_aval(p).dtype.kind != "f":
        p = E.convert_element_type(p, float_)
    shape = get_aval(p).shape if shape is None else _shape(shape)
    return E.lt(uniform(key, shape, get_aval(p).dtype), p)


def randint(key, shape, minval, maxval, dtype=None):
    """Integers uniform in ``[minval, maxval)`` (unbiased to 2**-32)."""
    dt = int_ if dtype is None else canonical_dtype(dtype)
    shape = _shape(shape)
    lo = asvalue(minval, np.int64)
    hi = asvalue(maxval, np.int64)
    span = E.convert_element_type(E.max(E.sub(hi, lo), 1), np.uint64)
    b = E.convert_element_type(bits(key, shape), np.uint64)
    off = E.shift_right(E.mul(b, span), np.uint64(32))  # floor(u * span) with u = b / 2**32
    return E.convert_element_type(E.add(E.convert_element_type(off, np.int64), lo), dt)


def categorical(key, logits, axis=-1, shape=None):
    """Indices sampled with probabilities ``softmax(logits)`` along ``axis`` (Gumbel-max)."""
    logits = asvalue(logits)
    a = get_aval(logits)
    axis = axis % a.ndim
    batch = a.shape[:axis] + a.shape[axis + 1:]
    shape = batch if shape is None else _shape(shape)
    full = shape[:len(shape) - len(batch)] + a.shape[:axis] + (a.shape[axis],) + a.shape[axis + 1:]
    g = gumbel(key, full, a.dtype if a.dtype.kind == "f" else float_)
    lead = len(full) - a.ndim
    return R.argmax(E.add(g, logits), lead + axis)


def gumbel(key, shape=(), dtype=None):
    """Standard Gumbel samples."""
    dt = _float_dtype(dtype, "gumbel")
    u = uniform(key, shape, dt, minval=np.finfo(dt).tiny, maxval=1.0)
    return E.neg(E.log(E.neg(E.log(u))))


def exponential(key, shape=(), dtype=None):
    """Standard exponential samples."""
    dt = _float_dtype(dtype, "exponential")
    return E.neg(E.log1p(E.neg(uniform(key, shape, dt))))


def permutation(key, x, axis=0, independent=False):
    """A random permutation of ``range(x)`` (int x) or of ``x`` along ``axis``."""
    from fnflow.numpy import argsort, take

    key = _check_key(key, "permutation")
    if isinstance(x, (int, np.integer)):
        return argsort(bits(key, (int(x),)))
    x = asvalue(x)
    n = get_aval(x).shape[axis]
    return take(x, argsort(bits(key, (n,))), axis=axis)


def choice(key, a, shape=(), replace=True, p=None, axis=0):
    """Random samples from ``a`` (an int n means ``arange(n)``), optionally weighted by ``p``."""
    from fnflow.numpy import arange, cumsum, searchsorted, take

    shape = _shape(shape)
    pool = arange(int(a)) if isinstance(a, (int, np.integer)) else asvalue(a)
    n = get_aval(pool).shape[axis]
    m = int(np.prod(shape, dtype=np.int64))
    if not replace and m > n:
        raise ValueError(f"random.choice: cannot take {m} samples from {n} without replacement")
    if p is None:
        idx = randint(key, (m,), 0, n) if replace else S.slice_in_dim(permutation(key, n), 0, m)
    else:
        p = asvalue(p)
        if replace:
            c = cumsum(p)
            u = uniform(key, (m,), get_aval(p).dtype, maxval=1.0)
            idx = searchsorted(c, E.mul(u, c[-1]), side="right")
            idx = E.min(idx, n - 1)
        else:  # Gumbel top-k: the m largest of log p + Gumbel noise
            from fnflow.numpy import argsort

            g = E.add(E.log(p), gumbel(key, (n,), get_aval(p).dtype))
            idx = S.slice_in_dim(argsort(E.neg(g)), 0, m)
    out = take(pool, idx, axis=axis)
    ps = get_aval(pool).shape
    return S.reshape(out, ps[:axis] + shape + ps[axis + 1:])


def shuffle(key, x, axis=0):
    """``x`` permuted along ``axis`` (same as ``permutation(key, x, axis)``)."""
    return permutation(key, x, axis)


def dropout_mask(key, rate, shape):
    """Boolean keep-mask for dropout: True with probability ``1 - rate``."""
    if not 0.0 <= float(rate) < 1.0:
        raise ValueError(f"random.dropout_mask: rate must be in [0, 1), got {rate}")
    return bernoulli(key, 1.0 - float(rate), shape)


__all__ = ["key", "PRNGKey", "split", "fold_in", "bits", "uniform", "normal", "truncated_normal", "bernoulli",
           "randint", "categorical", "gumbel", "exponential", "permutation", "choice", "shuffle", "dropout_mask"]
