"""Config keys newer Keras 3 releases write that fnflow_keras classes do not take, dropped at their defaults.

Keras 3.15 writes ``ragged``/``optional`` for InputLayer, ``quantization_config``
for Dense-like layers and ``input_axes``/``output_axes`` for the variance-scaling
initializers, ``renorm*`` for BatchNormalization. A key is dropped only when it holds the default value (the feature
is unused) and the fnflow class does not name it in its constructor, so a model
that really uses the feature still fails loudly in the constructor.
"""

from __future__ import annotations

import functools
import inspect

_DEFAULTS = {"ragged": False, "optional": False, "quantization_config": None, "input_axes": None,
             "output_axes": None, "renorm": False, "renorm_clipping": None, "renorm_momentum": 0.99}


@functools.lru_cache(maxsize=None)
def _named_params(class_name):
    from fnflow_keras import initializers, layers

    for module in (layers, initializers):
        cls = getattr(module, class_name, None)
        if isinstance(cls, type):
            return frozenset(inspect.signature(cls.__init__).parameters)
    return None


def strip_keras_defaults(config):
    """A copy of a serialized config without the unused newer-Keras keys the fnflow classes do not take."""
    if isinstance(config, list):
        return [strip_keras_defaults(c) for c in config]
    if not isinstance(config, dict):
        return config
    out = {k: strip_keras_defaults(v) for k, v in config.items()}
    inner = out.get("config")
    if isinstance(out.get("class_name"), str) and isinstance(inner, dict):
        params = _named_params(out["class_name"])
        if params is not None:
            out["config"] = {k: v for k, v in inner.items()
                             if not (k in _DEFAULTS and v == _DEFAULTS[k] and k not in params)}
    return out
