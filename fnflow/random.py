"""fnflow.random: splittable, counter-based pseudo-random numbers with explicit keys.

A key is a ``uint32[2]`` array; ``key(seed)`` makes one, ``split`` and
``fold_in`` derive new independent keys, and every sampler is a pure function
of its key (no global state). Bits come from the Threefry-2x32 cipher
(20 rounds) applied to a counter, with the same key/counter layout as JAX's
default ``threefry2x32`` implementation, so the raw bits of ``key``, ``split``,
``fold_in`` and ``bits`` match JAX's for the same seed. Samplers work eagerly,
under ``jit``, ``vmap`` (over keys) and ``grad`` (samples are constants).
Samples of gamma-based distributions (gamma, beta, dirichlet, chisquare, t)
are differentiable w.r.t. their parameters by implicit differentiation, to
first order (as JAX's); binomial samples are not (that raises).
"""

from __future__ import annotations

import math

import numpy as np

import fnflow.numpy as fnp
from fnflow.core.abstract import canonical_dtype, float_, get_aval, int_
from fnflow.core.trace import Tracer
from fnflow.lax import while_loop
from fnflow.ops import elementwise as E
from fnflow.ops import reduce as R
from fnflow.ops import shape as S
from fnflow.ops import special
from fnflow.ops._util import asvalue
from fnflow.ops.no_grad import no_grad
from fnflow.ops.random_bits import bitcast_convert_type, threefry2x32
from fnflow.transforms.ad import Zero, custom_jvp

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


# ------------------------------------------------------ more distributions
#
# Parameters broadcast against ``shape`` as in JAX: with ``shape=None`` the
# output has the parameters' broadcast shape, otherwise ``shape`` must contain
# that shape (aligned on the right). Rejection samplers run one vectorised
# ``lax.while_loop`` over the whole array: every round draws fresh numbers for
# every element (from ``fold_in(key, round)``) and keeps the first accepted
# candidate of each element, until all are accepted. Invalid parameters (e.g.
# ``a <= 0`` for gamma) give NaN (-1 for poisson), as in JAX.


def _work_dtype(dt):
    """Compute in at least float32 (half-precision samples are rounded at the end)."""
    return np.dtype(np.float32) if dt.itemsize < 4 else dt


def _real_param(x, dt, fn, name):
    v = asvalue(x)
    a = get_aval(v)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"random.{fn}: `{name}` must be real numbers, got {a.str_short()}")
    return v if a.dtype == dt else E.convert_element_type(v, dt)


def _out_shape(fn, shape, params):
    """The sample shape for ``shape`` and the parameters ``{name: shape}`` (JAX's broadcasting rule)."""
    try:
        pshape = np.broadcast_shapes(*params.values())
    except ValueError:
        desc = ", ".join(f"{k}: {v}" for k, v in params.items())
        raise ValueError(f"random.{fn}: parameter shapes do not broadcast together ({desc})") from None
    if shape is None:
        return tuple(pshape)
    shape = _shape(shape)
    try:
        ok = np.broadcast_shapes(shape, pshape) == shape
    except ValueError:
        ok = False
    if not ok:
        desc = ", ".join(f"{k}: {v}" for k, v in params.items())
        raise ValueError(f"random.{fn}: shape={shape} must contain the parameter shapes, broadcast from the "
                         f"right ({desc}); pass shape=None to use their broadcast shape")
    return shape


def _no_grad(x, fn, name, why):
    msg = (f"random.{fn}: the samples are not differentiable with respect to `{name}` ({why}); wrap `{name}` "
           f"in fnflow.stop_gradient if you do not need that derivative")
    return no_grad(x, msg)


def _first_accepted(key, shape, init, propose):
    """Vectorised rejection sampling: call ``propose(key, shape) -> (accept, candidate)`` with a fresh key
    each round, keep each element's first accepted candidate, stop when all are accepted.

    ``init = (done0, value0)``: elements marked done from the start keep ``value0``.
    """
    done0, value0 = init

    def body(carry):
        i, done, value = carry
        accept, cand = propose(fold_in(key, i), shape)
        value = fnp.where(accept & ~done, cand, value)
        return i + 1, done | accept, value

    _, _, value = while_loop(lambda c: ~fnp.all(c[1]), body, (np.array(0, np.int32), done0, value0))
    return value


def _log_gamma_samples(key, a):
    """log of Gamma(a, 1) samples for an array ``a`` (the sample shape), differentiable in ``a``.

    The derivative is the implicit one (as JAX's): a sample ``x`` is held at its
    quantile, ``P(a, x) = u`` fixed, so ``dx/da = -(dP/da) / (dP/dx)`` with ``P``
    the regularised lower incomplete gamma function; in log space, with
    ``x dP/dx = exp(a log x - x - lgamma(a))``. Where ``x`` underflows (tiny
    ``a``) ``P ~ x**a / Gamma(a + 1)`` gives ``d log x / da = -(log x - digamma(a + 1)) / a``.
    """
    return _log_gamma_reparam(key, a)


def _log_gamma_tangent(a, log_x):
    x = fnp.exp(log_x)
    tiny = x < np.finfo(get_aval(x).dtype).tiny * 1e20
    safe_x = fnp.where(tiny, 1.0, x)
    ratio = special.igamma_grad_a(a, safe_x) / fnp.exp(a * fnp.log(safe_x) - safe_x - special.lgamma(a))
    small = -(log_x - special.digamma(a + 1.0)) / a
    return fnp.where(tiny, small, -ratio)


def _log_gamma_jvp(primals, tangents):
    key, a = primals
    ta = tangents[1]
    # the sampler itself, not this wrapper: the samples are computed once, at the level of these primals
    log_x = _log_gamma_sampler(key, a)
    if isinstance(ta, Zero):
        return log_x, fnp.zeros_like(log_x)
    return log_x, _log_gamma_tangent(a, log_x) * ta


def _log_gamma_sampler(key, a):
    """The Marsaglia–Tsang sampler behind :func:`_log_gamma_samples`.

    For a < 1 it samples Gamma(a + 1) and multiplies by U**(1/a), in log space
    so that tiny ``a`` do not underflow.
    """
    dt = get_aval(a).dtype
    shape = get_aval(a).shape
    k_loop, k_boost = _two(key, "gamma")
    valid = (a > 0) & fnp.isfinite(a)
    boost = a < 1
    alpha = fnp.where(valid, fnp.where(boost, a + 1.0, a), 1.0)
    d = alpha - 1.0 / 3.0
    c = 1.0 / fnp.sqrt(9.0 * d)
    log_d = fnp.log(d)

    def propose(k, shape):
        kn, ku = _two(k, "gamma")
        z = normal(kn, shape, dt)
        log_u = fnp.log1p(-uniform(ku, shape, dt))  # log of a uniform in (0, 1]
        v = 1.0 + c * z
        ok = v > 0
        v3 = fnp.where(ok, v * v * v, 1.0)
        log_v = fnp.log(v3)
        accept = ok & (log_u < 0.5 * z * z + d - d * v3 + d * log_v)
        return accept, log_d + log_v

    out = _first_accepted(k_loop, shape, (~valid, fnp.zeros(shape, dt)), propose)
    log_u = fnp.log1p(-uniform(k_boost, shape, dt))
    out = out + fnp.where(boost & valid, log_u / fnp.where(valid, a, 1.0), 0.0)
    out = fnp.where(valid, out, np.nan)
    return fnp.where(a == np.inf, np.inf, out)


_log_gamma_reparam = custom_jvp(_log_gamma_sampler)
_log_gamma_reparam.defjvp(_log_gamma_jvp)


def _prepare(fn, key, dtype, shape, params):
    """Check the key and dtype, convert and broadcast the parameters: ``(key, dt, work dtype, shape, values)``."""
    key = _check_key(key, fn)
    dt = _float_dtype(dtype, fn)
    wd = _work_dtype(dt)
    vals = {k: _real_param(v, wd, fn, k) for k, v in params.items()}
    shape = _out_shape(fn, shape, {k: get_aval(v).shape for k, v in vals.items()})
    return key, dt, wd, shape, vals


def _cast(x, dt):
    return x if get_aval(x).dtype == dt else E.convert_element_type(x, dt)


def gamma(key, a, shape=None, dtype=None):
    """Gamma(a, 1) samples (Marsaglia–Tsang; ``a < 1`` via ``Gamma(a + 1) * U**(1/a)``).

    Not differentiable w.r.t. ``a`` (raises; use ``stop_gradient``).
    """
    key, dt, _, shape, p = _prepare("gamma", key, dtype, shape, {"a": a})
    a = fnp.broadcast_to(p["a"], shape)
    return _cast(fnp.exp(_log_gamma_samples(key, a)), dt)


def loggamma(key, a, shape=None, dtype=None):
    """log of Gamma(a, 1) samples, accurate for tiny ``a`` where ``gamma`` underflows to 0."""
    key, dt, _, shape, p = _prepare("loggamma", key, dtype, shape, {"a": a})
    a = fnp.broadcast_to(p["a"], shape)
    return _cast(_log_gamma_samples(key, a), dt)


def beta(key, a, b, shape=None, dtype=None):
    """Beta(a, b) samples: ``X / (X + Y)`` with X ~ Gamma(a), Y ~ Gamma(b) (computed in log space)."""
    key, dt, _, shape, p = _prepare("beta", key, dtype, shape, {"a": a, "b": b})
    a = fnp.broadcast_to(p["a"], shape)
    b = fnp.broadcast_to(p["b"], shape)
    ka, kb = _two(key, "beta")
    la, lb = _log_gamma_samples(ka, a), _log_gamma_samples(kb, b)
    m = fnp.maximum(la, lb)
    ea, eb = fnp.exp(la - m), fnp.exp(lb - m)
    return _cast(ea / (ea + eb), dt)


def dirichlet(key, alpha, shape=None, dtype=None):
    """Dirichlet(alpha) samples over the last axis of ``alpha``: shape ``shape + alpha.shape[-1:]``."""
    key = _check_key(key, "dirichlet")
    dt = _float_dtype(dtype, "dirichlet")
    alpha = _real_param(alpha, _work_dtype(dt), "dirichlet", "alpha")
    ashape = get_aval(alpha).shape
    if len(ashape) < 1:
        raise ValueError(f"random.dirichlet: `alpha` must have at least one axis (the categories), got shape "
                         f"{ashape}")
    shape = _out_shape("dirichlet", shape, {"alpha[..., 0]": ashape[:-1]})
    alpha = fnp.broadcast_to(alpha, shape + ashape[-1:])
    lg = _log_gamma_samples(key, alpha)
    e = fnp.exp(lg - fnp.max(lg, axis=-1, keepdims=True))
    return _cast(e / fnp.sum(e, axis=-1, keepdims=True), dt)


def chisquare(key, df, shape=None, dtype=None):
    """Chi-square(df) samples: ``2 * Gamma(df / 2)``."""
    key, dt, _, shape, p = _prepare("chisquare", key, dtype, shape, {"df": df})
    df = fnp.broadcast_to(p["df"], shape)
    return _cast(2.0 * fnp.exp(_log_gamma_samples(key, df / 2.0)), dt)


def t(key, df, shape=None, dtype=None):
    """Student's t(df) samples: ``N(0, 1) * sqrt((df / 2) / Gamma(df / 2))``."""
    key, dt, wd, shape, p = _prepare("t", key, dtype, shape, {"df": df})
    half = fnp.broadcast_to(p["df"], shape) / 2.0
    kn, kg = _two(key, "t")
    z = normal(kn, shape, wd)
    return _cast(z * fnp.exp(0.5 * (fnp.log(half) - _log_gamma_samples(kg, half))), dt)


def _poisson_knuth(key, lam):
    """Knuth: the number of uniforms multiplied before the product drops below exp(-lam) (small lam)."""
    shape, dt = get_aval(lam).shape, get_aval(lam).dtype

    def body(carry):
        i, k, log_prod, done = carry
        log_prod = log_prod + fnp.log1p(-uniform(fold_in(key, i), shape, dt))
        stop = log_prod < -lam
        return i + 1, fnp.where(done | stop, k, k + 1.0), log_prod, done | stop

    init = (np.array(0, np.int32), fnp.zeros(shape, dt), fnp.zeros(shape, dt), fnp.zeros(shape, np.bool_))
    return while_loop(lambda c: ~fnp.all(c[3]), body, init)[1]


def _poisson_ptrs(key, lam):
    """Hörmann's transformed rejection with squeeze (PTRS), for lam >= 10."""
    shape, dt = get_aval(lam).shape, get_aval(lam).dtype
    log_lam = fnp.log(lam)
    b = 0.931 + 2.53 * fnp.sqrt(lam)
    a = -0.059 + 0.02483 * b
    log_inv_alpha = fnp.log(1.1239 + 1.1328 / (b - 3.4))
    vr = 0.9277 - 3.6224 / (b - 2.0)

    def propose(k, shape):
        ku, kv = _two(k, "poisson")
        u = uniform(ku, shape, dt) - 0.5
        v = 1.0 - uniform(kv, shape, dt)  # in (0, 1]
        us = fnp.maximum(0.5 - fnp.abs(u), 1e-12)
        kk = fnp.floor((2.0 * a / us + b) * u + lam + 0.43)
        fast = (us >= 0.07) & (v <= vr)
        reject = (kk < 0) | ((us < 0.013) & (v > us))
        ks = fnp.maximum(kk, 0.0)
        lhs = fnp.log(v) + log_inv_alpha - fnp.log(a / (us * us) + b)
        rhs = -lam + ks * log_lam - special.lgamma(ks + 1.0)
        return fast | (~reject & (lhs <= rhs)), ks

    return _first_accepted(key, shape, (fnp.zeros(shape, np.bool_), fnp.zeros(shape, dt)), propose)


def poisson(key, lam, shape=None, dtype=None):
    """Poisson(lam) counts (int32 by default): Knuth's product method for lam < 10, PTRS above.

    Integer samples: no derivative. ``lam < 0`` or NaN gives -1.
    """
    from fnflow.transforms.ad import stop_gradient

    key = _check_key(key, "poisson")
    dt = int_ if dtype is None else canonical_dtype(dtype)
    if dt.kind not in "iu":
        raise TypeError(f"random.poisson: dtype must be an integer dtype, got {dt}")
    lam = stop_gradient(_real_param(lam, np.dtype(np.float64), "poisson", "lam"))
    shape = _out_shape("poisson", shape, {"lam": get_aval(lam).shape})
    lam = fnp.broadcast_to(lam, shape)
    valid = (lam >= 0) & fnp.isfinite(lam)
    small = lam < 10
    k_small, k_large = _two(key, "poisson")
    concrete = not isinstance(lam, Tracer)
    need_small = not concrete or bool(np.any(np.asarray(small & valid)))
    need_large = not concrete or bool(np.any(np.asarray(~small & valid)))
    out = fnp.zeros(shape, np.float64)
    if need_small:
        out = fnp.where(small, _poisson_knuth(k_small, fnp.where(small & valid, lam, 0.0)), out)
    if need_large:
        out = fnp.where(small, out, _poisson_ptrs(k_large, fnp.where(small | ~valid, 10.0, lam)))
    out = fnp.where(valid, out, -1.0)
    return E.convert_element_type(out, dt)


def _binomial_inversion(key, n, q):
    """Successes in n trials as the number of geometric waiting times that fit in n (small n * q)."""
    shape, dt = get_aval(n).shape, get_aval(n).dtype
    log1m_q = fnp.log1p(-fnp.where(q > 0, q, 0.5))

    def body(carry):
        i, count, total, done = carry
        log_u = fnp.log1p(-uniform(fold_in(key, i), shape, dt))  # log of a uniform in (0, 1]
        total = total + fnp.maximum(fnp.ceil(log_u / log1m_q), 1.0)
        stop = total > n
        return i + 1, fnp.where(done | stop, count, count + 1.0), total, done | stop

    done0 = q <= 0
    init = (np.array(0, np.int32), fnp.zeros(shape, dt), fnp.zeros(shape, dt), done0)
    return while_loop(lambda c: ~fnp.all(c[3]), body, init)[1]


def _binomial_btrs(key, n, q):
    """Hörmann's transformed rejection (BTRS) for n * q >= 10 (q <= 1/2)."""
    shape, dt = get_aval(n).shape, get_aval(n).dtype
    spq = fnp.sqrt(n * q * (1.0 - q))
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * q
    c = n * q + 0.5
    vr = 0.92 - 4.2 / b
    log_alpha = fnp.log((2.83 + 5.1 / b) * spq)
    lpq = fnp.log(q / (1.0 - q))
    m = fnp.floor((n + 1.0) * q)
    h = special.lgamma(m + 1.0) + special.lgamma(n - m + 1.0)

    def propose(k, shape):
        ku, kv = _two(k, "binomial")
        u = uniform(ku, shape, dt) - 0.5
        v = 1.0 - uniform(kv, shape, dt)  # in (0, 1]
        us = fnp.maximum(0.5 - fnp.abs(u), 1e-12)
        kk = fnp.floor((2.0 * a / us + b) * u + c)
        fast = (us >= 0.07) & (v <= vr)
        reject = (kk < 0) | (kk > n)
        ks = fnp.clip(kk, 0.0, n)
        lhs = fnp.log(v) + log_alpha - fnp.log(a / (us * us) + b)
        rhs = h - special.lgamma(ks + 1.0) - special.lgamma(n - ks + 1.0) + (ks - m) * lpq
        return fast | (~reject & (lhs <= rhs)), ks

    return _first_accepted(key, shape, (fnp.zeros(shape, np.bool_), fnp.zeros(shape, dt)), propose)


def binomial(key, n, p, shape=None, dtype=None):
    """Binomial(n, p) counts as floats: inversion by geometric waiting times for n*min(p, 1-p) < 10, BTRS above.

    Not differentiable (raises for ``n`` and ``p``). Invalid ``n`` or ``p`` give NaN.
    """
    key = _check_key(key, "binomial")
    dt = _float_dtype(dtype, "binomial")
    f64 = np.dtype(np.float64)  # the rejection test compares lgamma values of size n log n
    n, p = _real_param(n, f64, "binomial", "n"), _real_param(p, f64, "binomial", "p")
    shape = _out_shape("binomial", shape, {"n": get_aval(n).shape, "p": get_aval(p).shape})
    why = "the counts are piecewise constant in the parameters"
    n = fnp.broadcast_to(_no_grad(n, "binomial", "n", why), shape)
    p = fnp.broadcast_to(_no_grad(p, "binomial", "p", why), shape)
    valid = (n >= 0) & fnp.isfinite(n) & (p >= 0) & (p <= 1)
    n = fnp.where(valid, fnp.floor(n), 0.0)
    flip = p > 0.5
    q = fnp.where(valid, fnp.where(flip, 1.0 - p, p), 0.0)
    small = n * q < 10
    k_small, k_large = _two(key, "binomial")
    concrete = not isinstance(small, Tracer)
    out = fnp.zeros(shape, f64)
    if not concrete or bool(np.any(np.asarray(small))):
        out = fnp.where(small, _binomial_inversion(k_small, fnp.where(small, n, 0.0), q), out)
    if not concrete or bool(np.any(np.asarray(~small))):
        out = fnp.where(small, out, _binomial_btrs(k_large, fnp.where(small, 100.0, n),
                                                   fnp.where(small, 0.5, q)))
    out = fnp.where(flip, n - out, out)
    return _cast(fnp.where(valid, out, np.nan), dt)


def laplace(key, shape=(), dtype=None):
    """Standard Laplace samples (density exp(-|x|) / 2), by inverting the CDF."""
    dt = _float_dtype(dtype, "laplace")
    u = uniform(key, shape, dt, minval=-1.0 + np.finfo(dt).epsneg, maxval=1.0)
    return E.neg(E.mul(E.sign(u), E.log1p(E.neg(E.abs(u)))))


def logistic(key, shape=(), dtype=None):
    """Standard logistic samples: ``log(u) - log(1 - u)``."""
    dt = _float_dtype(dtype, "logistic")
    u = uniform(key, shape, dt, minval=np.finfo(dt).tiny, maxval=1.0)
    return E.sub(E.log(u), E.log1p(E.neg(u)))


def cauchy(key, shape=(), dtype=None):
    """Standard Cauchy samples: ``tan(pi * (u - 1/2))``."""
    dt = _float_dtype(dtype, "cauchy")
    u = uniform(key, shape, dt, minval=np.finfo(dt).eps, maxval=1.0)
    return E.tan(E.mul(math.pi, E.sub(u, 0.5)))


def rademacher(key, shape=(), dtype=None):
    """-1 or +1 with equal probability (int32 by default)."""
    dt = int_ if dtype is None else canonical_dtype(dtype)
    b = E.convert_element_type(bernoulli(key, 0.5, _shape(shape)), dt)
    return E.sub(E.mul(b, np.asarray(2, dt)), np.asarray(1, dt))


def generalized_normal(key, p, shape=(), dtype=None):
    """Samples with density proportional to ``exp(-|x|**p)``: ``±Gamma(1/p)**(1/p)``."""
    dt = _float_dtype(dtype, "generalized_normal")
    shape = _shape(shape)
    p = float(p)
    if not p > 0:
        raise ValueError(f"random.generalized_normal: p must be positive, got {p}")
    kg, ks = _two(key, "generalized_normal")
    g = fnp.exp(_log_gamma_samples(kg, fnp.full(shape, 1.0 / p, _work_dtype(dt))) / p)
    return _cast(g * rademacher(ks, shape, _work_dtype(dt)), dt)


def ball(key, d, p=2, shape=(), dtype=None):
    """Points uniform in the unit ``p``-norm ball of dimension ``d``: shape ``shape + (d,)``."""
    dt = _float_dtype(dtype, "ball")
    if not isinstance(d, (int, np.integer)) or d < 1:
        raise ValueError(f"random.ball: d must be a positive int, got {d!r}")
    p = float(p)
    if not p > 0:
        raise ValueError(f"random.ball: p must be positive, got {p}")
    shape = _shape(shape)
    kg, ke = _two(key, "ball")
    # coordinates with density ~ exp(-|x|**p): N(0, 1/2) for p = 2
    if p == 2:
        g = normal(kg, shape + (int(d),), dt) * math.sqrt(0.5)
    else:
        g = generalized_normal(kg, p, shape + (int(d),), dt)
    e = exponential(ke, shape, dt)
    r = (fnp.sum(fnp.abs(g) ** p, axis=-1) + e) ** (1.0 / p)
    return g / r[..., None]


def multivariate_normal(key, mean, cov, shape=None, dtype=None, method="cholesky"):
    """Samples of N(mean, cov): ``mean + factor @ z`` with ``factor @ factor.T == cov``.

    ``mean``: ``(..., n)``, ``cov``: ``(..., n, n)``; output ``shape + (n,)``, where
    ``shape`` defaults to the broadcast of their batch shapes. ``method``:
    ``"cholesky"`` (cov must be positive definite), ``"eigh"`` or ``"svd"``
    (positive semi-definite). Differentiable w.r.t. ``mean`` and ``cov``.
    """
    if method not in ("cholesky", "eigh", "svd"):
        raise ValueError(f"random.multivariate_normal: method must be 'cholesky', 'eigh' or 'svd', got {method!r}")
    key = _check_key(key, "multivariate_normal")
    dt = _float_dtype(dtype, "multivariate_normal")
    wd = _work_dtype(dt)
    mean = _real_param(mean, wd, "multivariate_normal", "mean")
    cov = _real_param(cov, wd, "multivariate_normal", "cov")
    ms, cs = get_aval(mean).shape, get_aval(cov).shape
    if len(ms) < 1 or len(cs) < 2 or cs[-2:] != (ms[-1], ms[-1]):
        raise ValueError(f"random.multivariate_normal: expected mean of shape (..., n) and cov of shape "
                         f"(..., n, n), got mean {ms} and cov {cs}")
    n = ms[-1]
    shape = _out_shape("multivariate_normal", shape, {"mean[..., 0]": ms[:-1], "cov[..., 0, 0]": cs[:-2]})
    if method == "cholesky":
        factor = fnp.linalg.cholesky(cov)
    elif method == "eigh":
        w, v = fnp.linalg.eigh(cov)
        factor = v * fnp.sqrt(fnp.maximum(w, 0.0))[..., None, :]
    else:
        u, s, _ = fnp.linalg.svd(cov, full_matrices=False)
        factor = u * fnp.sqrt(s)[..., None, :]
    z = normal(key, shape + (n,), wd)
    return _cast(mean + fnp.matmul(factor, z[..., None])[..., 0], dt)


def orthogonal(key, n, shape=(), dtype=None, m=None):
    """Haar-random matrices with orthonormal columns (or rows, if ``n < m``): shape ``shape + (n, m)``.

    The orthogonal polar factor ``U @ Vh`` of a Gaussian matrix (uniform on the
    orthogonal group / Stiefel manifold, like JAX's sign-fixed QR).
    """
    dt = _float_dtype(dtype, "orthogonal")
    m = n if m is None else m
    for name, v in (("n", n), ("m", m)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"random.orthogonal: {name} must be a positive int, got {v!r}")
    z = normal(key, _shape(shape) + (int(n), int(m)), _work_dtype(dt))
    u, _, vh = fnp.linalg.svd(z, full_matrices=False)
    return _cast(fnp.matmul(u, vh), dt)


__all__ = ["key", "PRNGKey", "split", "fold_in", "bits", "uniform", "normal", "truncated_normal", "bernoulli",
           "randint", "categorical", "gumbel", "exponential", "permutation", "choice", "shuffle", "dropout_mask",
           "gamma", "loggamma", "beta", "dirichlet", "chisquare", "t", "poisson", "binomial", "laplace",
           "logistic", "cauchy", "rademacher", "generalized_normal", "ball", "multivariate_normal", "orthogonal"]
