"""Weight initializers with Keras's names, defaults and formulas.

An initializer is a callable ``init(key, shape, dtype=float32) -> array``; the
key is an :mod:`fnflow.random` key, so the same key always gives the same
weights. Each Keras initializer exists twice: as a class with Keras's
CamelCase name and constructor arguments (``RandomUniform(minval=-1.0)``,
``VarianceScaling(2.0, "fan_out", "uniform")``) and as a snake_case default
instance (``glorot_uniform``, ``he_normal``, ``zeros`` ...). ``constant`` and
``variance_scaling`` need arguments, so they are the classes themselves.
Initializer objects are frozen attrs records: hashable, comparable, and usable
as static configuration.

Fans follow Keras: a 2-D shape ``(in, out)`` has ``fan_in = in`` and
``fan_out = out``; a convolution kernel ``(*window, in, out)`` multiplies both
by the receptive-field size ``prod(window)``.

>>> import fnflow.random as fr
>>> w = glorot_uniform(fr.key(0), (784, 128))
>>> get("GlorotUniform") == glorot_uniform
True
"""

from __future__ import annotations

import math

import attrs
import numpy as np

import fnflow.numpy as fnp
import fnflow.random as fr
from fnflow.core.abstract import canonical_dtype
from fnflow.core.trace import Tracer

__all__ = ["Initializer", "Zeros", "Ones", "Constant", "RandomUniform", "RandomNormal", "TruncatedNormal",
           "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform",
           "LecunNormal", "Orthogonal", "Identity", "zeros", "ones", "constant", "random_uniform",
           "random_normal", "truncated_normal", "variance_scaling", "glorot_uniform", "glorot_normal",
           "he_uniform", "he_normal", "lecun_uniform", "lecun_normal", "orthogonal", "identity",
           "compute_fans", "get"]

# std of a standard normal truncated to [-2, 2] (scipy.stats.truncnorm.std(-2, 2)), as Keras uses
_TRUNC_STD = 0.87962566103423978


def _shape(shape):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def _dtype(dtype, name):
    dt = canonical_dtype(np.float32 if dtype is None else dtype)
    if dt.kind != "f":
        raise TypeError(f"initializers.{name}: dtype must be a float dtype, got {dt}")
    return dt


def compute_fans(shape):
    """``(fan_in, fan_out)`` of a weight shape, as Keras computes them."""
    shape = _shape(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base of the initializer classes: ``init(key, shape, dtype=float32)``."""

    def __call__(self, key, shape, dtype=np.float32):  # pragma: no cover - abstract
        raise NotImplementedError


@attrs.frozen
class Zeros(Initializer):
    """All zeros."""

    def __call__(self, key, shape, dtype=np.float32):
        return fnp.zeros(_shape(shape), _dtype(dtype, "zeros"))


@attrs.frozen
class Ones(Initializer):
    """All ones."""

    def __call__(self, key, shape, dtype=np.float32):
        return fnp.ones(_shape(shape), _dtype(dtype, "ones"))


@attrs.frozen
class Constant(Initializer):
    """Every entry equal to ``value`` (Keras default 0.0)."""

    value: float = 0.0

    def __call__(self, key, shape, dtype=np.float32):
        return fnp.full(_shape(shape), self.value, _dtype(dtype, "constant"))


@attrs.frozen
class RandomUniform(Initializer):
    """Uniform in ``[minval, maxval)`` (Keras defaults -0.05, 0.05)."""

    minval: float = -0.05
    maxval: float = 0.05

    def __call__(self, key, shape, dtype=np.float32):
        return fr.uniform(key, _shape(shape), _dtype(dtype, "random_uniform"), self.minval, self.maxval)


@attrs.frozen
class RandomNormal(Initializer):
    """Normal with ``mean`` and ``stddev`` (Keras defaults 0.0, 0.05)."""

    mean: float = 0.0
    stddev: float = 0.05

    def __call__(self, key, shape, dtype=np.float32):
        dt = _dtype(dtype, "random_normal")
        return fnp.add(fnp.multiply(fr.normal(key, _shape(shape), dt), np.asarray(self.stddev, dt)),
                       np.asarray(self.mean, dt))


@attrs.frozen
class TruncatedNormal(Initializer):
    """Normal with ``mean`` and ``stddev`` (0.0, 0.05) with samples beyond two stddevs redrawn."""

    mean: float = 0.0
    stddev: float = 0.05

    def __call__(self, key, shape, dtype=np.float32):
        dt = _dtype(dtype, "truncated_normal")
        z = fr.truncated_normal(key, -2.0, 2.0, _shape(shape), dt)
        return fnp.add(fnp.multiply(z, np.asarray(self.stddev, dt)), np.asarray(self.mean, dt))


_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform", "normal")


@attrs.frozen
class VarianceScaling(Initializer):
    """Samples with variance ``scale / n``, ``n`` the fan chosen by ``mode``.

    ``distribution``: ``"truncated_normal"`` (stddev ``sqrt(scale/n) / 0.8796...``
    before truncation at two stddevs, so the truncated samples have variance
    ``scale/n``), ``"untruncated_normal"`` (or ``"normal"``; stddev ``sqrt(scale/n)``)
    or ``"uniform"`` (limit ``sqrt(3 * scale / n)``). Keras defaults: 1.0,
    ``"fan_in"``, ``"truncated_normal"``.
    """

    scale: float = 1.0
    mode: str = attrs.field(default="fan_in")
    distribution: str = attrs.field(default="truncated_normal")

    def __attrs_post_init__(self):
        if self.scale <= 0:
            raise ValueError(f"VarianceScaling: scale must be positive, got {self.scale}")
        if self.mode not in _MODES:
            raise ValueError(f"VarianceScaling: mode must be one of {_MODES}, got {self.mode!r}")
        if self.distribution not in _DISTRIBUTIONS:
            raise ValueError(f"VarianceScaling: distribution must be one of {_DISTRIBUTIONS}, "
                             f"got {self.distribution!r}")

    def __call__(self, key, shape, dtype=np.float32):
        shape = _shape(shape)
        dt = _dtype(dtype, "variance_scaling")
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        if self.distribution == "truncated_normal":
            z = fr.truncated_normal(key, -2.0, 2.0, shape, dt)
            return fnp.multiply(z, np.asarray(math.sqrt(scale) / _TRUNC_STD, dt))
        if self.distribution in ("untruncated_normal", "normal"):
            return fnp.multiply(fr.normal(key, shape, dt), np.asarray(math.sqrt(scale), dt))
        limit = math.sqrt(3.0 * scale)
        return fr.uniform(key, shape, dt, -limit, limit)


def _preset(name, scale_, mode_, distribution_, doc):
    @attrs.frozen
    class Preset(VarianceScaling):
        __doc__ = doc

        scale: float = attrs.field(default=scale_, init=False)
        mode: str = attrs.field(default=mode_, init=False)
        distribution: str = attrs.field(default=distribution_, init=False)

    Preset.__name__ = Preset.__qualname__ = name
    return Preset


GlorotUniform = _preset("GlorotUniform", 1.0, "fan_avg", "uniform",
                        "Glorot (Xavier) uniform: limit ``sqrt(6 / (fan_in + fan_out))``.")
GlorotNormal = _preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                       "Glorot (Xavier) normal: truncated, variance ``2 / (fan_in + fan_out)``.")
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform", "He uniform: limit ``sqrt(6 / fan_in)``.")
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal", "He normal: truncated, variance ``2 / fan_in``.")
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform", "LeCun uniform: limit ``sqrt(3 / fan_in)``.")
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal",
                      "LeCun normal: truncated, variance ``1 / fan_in``.")


def _qr_q(a):
    """The Q of a tall matrix's QR with R's diagonal made positive (Q's columns orthonormal)."""
    if not isinstance(a, Tracer):
        q, r = np.linalg.qr(np.asarray(a, np.float64))
        q = q * np.where(np.diagonal(r) < 0, -1.0, 1.0)
        return q
    # traced key (jit/vmap of an init): Gram-Schmidt twice, which is also the positive-diagonal Q
    cols = []
    for j in range(a.shape[1]):
        v = a[:, j]
        for _ in range(2):
            for q in cols:
                v = v - fnp.sum(q * v) * q
        cols.append(v / fnp.sqrt(fnp.sum(v * v)))
    return fnp.stack(cols, axis=1)


@attrs.frozen
class Orthogonal(Initializer):
    """An orthogonal matrix (times ``gain``), from the QR decomposition of a normal sample.

    A shape ``(*lead, n)`` is treated as the matrix ``(prod(lead), n)``; its rows
    (or its columns, whichever are fewer) are orthonormal. Keras's default gain 1.0.
    """

    gain: float = 1.0

    def __call__(self, key, shape, dtype=np.float32):
        shape = _shape(shape)
        dt = _dtype(dtype, "orthogonal")
        if len(shape) < 2:
            raise ValueError(f"initializers.orthogonal: needs a shape of rank >= 2, got {shape}")
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        a = fr.normal(key, (max(rows, cols), min(rows, cols)), np.float64 if dt == np.float64 else np.float32)
        q = _qr_q(a)
        if rows < cols:
            q = fnp.transpose(q)
        return fnp.asarray(fnp.reshape(fnp.multiply(q, self.gain), shape), dt)


@attrs.frozen
class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes only; rectangular allowed)."""

    gain: float = 1.0

    def __call__(self, key, shape, dtype=np.float32):
        shape = _shape(shape)
        dt = _dtype(dtype, "identity")
        if len(shape) != 2:
            raise ValueError(f"initializers.identity: needs a 2-D shape, got {shape}")
        return fnp.multiply(fnp.eye(shape[0], shape[1], dtype=dt), np.asarray(self.gain, dt))


zeros = Zeros()
ones = Ones()
constant = Constant
random_uniform = RandomUniform()
random_normal = RandomNormal()
truncated_normal = TruncatedNormal()
variance_scaling = VarianceScaling
glorot_uniform = GlorotUniform()
glorot_normal = GlorotNormal()
he_uniform = HeUniform()
he_normal = HeNormal()
lecun_uniform = LecunUniform()
lecun_normal = LecunNormal()
orthogonal = Orthogonal()
identity = Identity()

_CLASSES = {c.__name__: c for c in (Zeros, Ones, Constant, RandomUniform, RandomNormal, TruncatedNormal,
                                    VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal,
                                    LecunUniform, LecunNormal, Orthogonal, Identity)}
# Keras's string aliases; every class is also known by its snake_case name
_ALIASES = {"zero": "Zeros", "one": "Ones", "uniform": "RandomUniform", "normal": "RandomNormal",
            "IdentityInitializer": "Identity", "OrthogonalInitializer": "Orthogonal"}


def _snake(name):
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


_BY_NAME = {**{k: k for k in _CLASSES}, **{_snake(k): k for k in _CLASSES}, **_ALIASES}


def get(identifier):
    """An initializer from a name (``"glorot_uniform"``, ``"GlorotUniform"``, ``"uniform"`` ...),
    a Keras config dict (``{"class_name": "RandomNormal", "config": {"stddev": 1.0}}``), or a callable
    (returned as is)."""
    if callable(identifier) and not isinstance(identifier, type):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, dict):
        cls = _CLASSES.get(_BY_NAME.get(identifier.get("class_name"), ""))
        if cls is None:
            raise ValueError(f"initializers.get: unknown initializer class {identifier.get('class_name')!r}")
        config = {k: v for k, v in (identifier.get("config") or {}).items() if k != "seed"}
        return cls(**config)
    if isinstance(identifier, str):
        name = _BY_NAME.get(identifier)
        if name is None:
            raise ValueError(f"initializers.get: unknown initializer {identifier!r}; known: "
                             f"{sorted(set(_BY_NAME))}")
        return _CLASSES[name]()
    raise TypeError(f"initializers.get: expected a name, a config dict or a callable, got "
                    f"{type(identifier).__name__}")
