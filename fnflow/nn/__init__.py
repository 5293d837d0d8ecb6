"""fnflow.nn: neural-network building blocks.

* Activations (``fnflow.nn.relu``, ``softmax``, ``gelu`` ...) are re-exported
  from :mod:`fnflow.nn.activations`; see its ``__all__``.
* Modules: :class:`Module`, :func:`tree_at` (:mod:`fnflow.nn.module`) and the
  layers (:mod:`fnflow.nn.layers`): ``Linear``/``Dense``, ``Conv1D``, ``Conv2D``,
  pooling, ``Flatten``, ``Reshape``, ``Dropout``, ``BatchNorm``, ``LayerNorm``,
  ``Embedding``, ``SimpleRNN``, ``LSTM``, ``GRU``, ``MultiHeadAttention``,
  ``Sequential``.
* Initializers with Keras's names: :mod:`fnflow.nn.initializers`.
* Pure convolution/pooling functions (``conv2d``, ``max_pool2d`` ...):
  :mod:`fnflow.nn.functional`, re-exported here when present.
"""

import importlib.util as _importlib_util

from fnflow.nn import activations, initializers  # noqa: F401
from fnflow.nn.activations import *  # noqa: F401,F403
from fnflow.nn.layers import *  # noqa: F401,F403
from fnflow.nn.module import Module, get_activation, static_field, tree_at  # noqa: F401

if _importlib_util.find_spec("fnflow.nn.functional") is not None:
    from fnflow.nn import functional  # noqa: F401
    from fnflow.nn.functional import *  # noqa: F401,F403
