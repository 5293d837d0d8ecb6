"""keras.initializers: Keras's initializer classes (``init(shape, dtype=None)``) over :mod:`fnflow.nn.initializers`.

A random initializer built without a seed draws one from Python's global
``random`` when it is constructed, so ``keras.utils.set_random_seed(s)`` before
building a model gives identical weights. With an int seed every call returns
the same values (as Keras).
"""

from __future__ import annotations

import numpy as np

import fnflow.nn.initializers as fi
import fnflow.numpy as fnp
from fnflow_keras import backend
from fnflow_keras import random as krandom


class Initializer:
    """Base class: ``__call__(shape, dtype=None)`` returns an array; ``get_config``/``from_config``."""

    def __call__(self, shape, dtype=None):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def clone(self):
        return type(self).from_config(self.get_config())


class _Wrapped(Initializer):
    _fn = None  # the fnflow initializer class
    _args = ()  # constructor arguments besides seed, with defaults
    _random = True

    _fan_axes = False  # the variance-scaling family also takes Keras 3.15's input_axes / output_axes

    def __init__(self, *args, seed=None, input_axes=None, output_axes=None, **kwargs):
        if not self._fan_axes and (input_axes is not None or output_axes is not None):
            raise TypeError(f"{type(self).__name__}: unexpected argument 'input_axes'/'output_axes'")
        self.input_axes = None if input_axes is None else [int(a) for a in input_axes]
        self.output_axes = None if output_axes is None else [int(a) for a in output_axes]
        names = [a for a, _ in self._args]
        values = dict(self._args)
        for a, v in zip(names, args):
            values[a] = v
        for k, v in kwargs.items():
            if k not in values:
                raise TypeError(f"{type(self).__name__}: unexpected argument {k!r}")
            values[k] = v
        self._values = values
        self._init_seed = seed
        if self._random:
            self.seed = krandom.make_default_seed() if seed is None else seed
        for k, v in values.items():
            setattr(self, k, v)

    def _key(self):
        seed = getattr(self, "seed", 0)
        return krandom.draw_key(seed)

    def __call__(self, shape, dtype=None):
        dtype = backend.standardize_dtype(dtype)
        shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
        fn = self._fn(**self._values)
        if self._fan_axes and self.input_axes is not None and self.output_axes is not None:
            fn = self._with_axes_fans(fn, shape)
        return fn(self._key() if self._random else None, shape, dtype)

    def _with_axes_fans(self, fn, shape):
        """The same draw with the fans taken over ``input_axes``/``output_axes`` (Keras's ``compute_fans``): a
        VarianceScaling whose scale turns the default fan into the requested one."""
        fan_in = int(np.prod([shape[a] for a in self.input_axes]))
        fan_out = int(np.prod([shape[a] for a in self.output_axes]))
        default_in, default_out = fi.compute_fans(shape)

        def pick(a, b):
            return {"fan_in": a, "fan_out": b, "fan_avg": (a + b) / 2.0}[fn.mode]

        scale = fn.scale * max(1.0, pick(default_in, default_out)) / max(1.0, pick(fan_in, fan_out))
        return fi.VarianceScaling(scale=scale, mode=fn.mode, distribution=fn.distribution)

    def get_config(self):
        config = dict(self._values)
        if self._random:
            config["seed"] = self._init_seed
        if self._fan_axes:
            config["input_axes"], config["output_axes"] = self.input_axes, self.output_axes
        return config


def _make(name, fn, args=(), random=True, doc=None):
    fan_axes = isinstance(fn, type) and issubclass(fn, fi.VarianceScaling)
    cls = type(name, (_Wrapped,), {"_fn": staticmethod(fn), "_args": tuple(args), "_random": random,
                                   "_fan_axes": fan_axes,
                                   "__doc__": doc or f"Keras's ``{name}`` initializer.", "__module__": __name__})
    return cls


Zeros = _make("Zeros", fi.Zeros, random=False, doc="All zeros.")
Ones = _make("Ones", fi.Ones, random=False, doc="All ones.")
Constant = _make("Constant", fi.Constant, [("value", 0.0)], random=False, doc="A constant value.")
RandomUniform = _make("RandomUniform", fi.RandomUniform, [("minval", -0.05), ("maxval", 0.05)])
RandomNormal = _make("RandomNormal", fi.RandomNormal, [("mean", 0.0), ("stddev", 0.05)])
TruncatedNormal = _make("TruncatedNormal", fi.TruncatedNormal, [("mean", 0.0), ("stddev", 0.05)])
VarianceScaling = _make("VarianceScaling", fi.VarianceScaling,
                        [("scale", 1.0), ("mode", "fan_in"), ("distribution", "truncated_normal")])
GlorotUniform = _make("GlorotUniform", fi.GlorotUniform)
GlorotNormal = _make("GlorotNormal", fi.GlorotNormal)
HeUniform = _make("HeUniform", fi.HeUniform)
HeNormal = _make("HeNormal", fi.HeNormal)
LecunUniform = _make("LecunUniform", fi.LecunUniform)
LecunNormal = _make("LecunNormal", fi.LecunNormal)
Orthogonal = _make("Orthogonal", fi.Orthogonal, [("gain", 1.0)])
Identity = _make("Identity", fi.Identity, [("gain", 1.0)], random=False)
IdentityInitializer = Identity
OrthogonalInitializer = Orthogonal

# Keras's snake_case names: the classes (a fresh instance, with a fresh seed, per get()).
zeros, ones, constant = Zeros, Ones, Constant
random_uniform, random_normal, truncated_normal = RandomUniform, RandomNormal, TruncatedNormal
variance_scaling = VarianceScaling
glorot_uniform, glorot_normal = GlorotUniform, GlorotNormal
he_uniform, he_normal = HeUniform, HeNormal
lecun_uniform, lecun_normal = LecunUniform, LecunNormal
orthogonal, identity = Orthogonal, Identity

_ALL = {c.__name__: c for c in (Zeros, Ones, Constant, RandomUniform, RandomNormal, TruncatedNormal,
                                VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform,
                                LecunNormal, Orthogonal, Identity)}
_ALIASES = {"zeros": "Zeros", "zero": "Zeros", "ones": "Ones", "one": "Ones", "constant": "Constant",
            "uniform": "RandomUniform", "random_uniform": "RandomUniform", "normal": "RandomNormal",
            "random_normal": "RandomNormal", "truncated_normal": "TruncatedNormal",
            "variance_scaling": "VarianceScaling", "glorot_uniform": "GlorotUniform",
            "glorot_normal": "GlorotNormal", "he_uniform": "HeUniform", "he_normal": "HeNormal",
            "lecun_uniform": "LecunUniform", "lecun_normal": "LecunNormal", "orthogonal": "Orthogonal",
            "identity": "Identity", "IdentityInitializer": "Identity", "OrthogonalInitializer": "Orthogonal"}


def get(identifier):
    """An initializer from a name, a config dict, an instance or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str):
        name = _ALIASES.get(identifier, identifier)
        if name not in _ALL:
            raise ValueError(f"Could not interpret initializer identifier: {identifier!r}")
        return _ALL[name]()
    if isinstance(identifier, dict):
        from fnflow_keras.utils.serialization_lib import deserialize_keras_object

        return deserialize_keras_object(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r}")


def serialize(initializer):
    from fnflow_keras.utils.serialization_lib import serialize_keras_object

    return serialize_keras_object(initializer)


def deserialize(config, custom_objects=None):
    from fnflow_keras.utils.serialization_lib import deserialize_keras_object

    return deserialize_keras_object(config, custom_objects)


__all__ = ["Initializer", *_ALL, "IdentityInitializer", "OrthogonalInitializer", "get", "serialize",
           "deserialize"]
_ = fnp
