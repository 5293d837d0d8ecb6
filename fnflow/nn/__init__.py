"""fnflow.nn: neural-network building blocks.

Activations (``fnflow.nn.relu``, ``softmax``, ``gelu`` ...) are re-exported from
:mod:`fnflow.nn.activations`; see its ``__all__``.
"""

from fnflow.nn import activations  # noqa: F401
from fnflow.nn.activations import *  # noqa: F401,F403
