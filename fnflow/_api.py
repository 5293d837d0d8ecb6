"""Public entry points assembled from the transforms."""

from fnflow.transforms.jacobian import hessian, jacfwd, jacrev  # noqa: F401
from fnflow.transforms.staging import make_graph  # noqa: F401
