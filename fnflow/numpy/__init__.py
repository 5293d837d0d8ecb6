"""fnflow.numpy: a NumPy-compatible API whose functions are differentiable,
batchable and traceable. Import it as ``import fnflow.numpy as fnp``.
"""
# ruff: noqa: I001  (import order matters: _methods must come last)

from fnflow.numpy._creation import *  # noqa: F401,F403
from fnflow.numpy._elementwise import *  # noqa: F401,F403
from fnflow.numpy._reductions import *  # noqa: F401,F403
from fnflow.numpy._shape import *  # noqa: F401,F403
from fnflow.numpy._products import *  # noqa: F401,F403
from fnflow.numpy._indexing import *  # noqa: F401,F403
from fnflow.numpy._sorting import *  # noqa: F401,F403
from fnflow.numpy._einsum import *  # noqa: F401,F403
from fnflow.numpy._extras import *  # noqa: F401,F403
from fnflow.numpy import _indexing, linalg  # noqa: F401
from fnflow.numpy import _methods  # noqa: F401  (registers tracer methods; keep last)
