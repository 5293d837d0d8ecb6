"""fnflow: pure functions over immutable arrays, with composable grad / vmap / jit."""

from fnflow import (
    checkpoint,  # noqa: F401  (callable module: checkpoint(f) is remat(f))
    data,  # noqa: F401
    debug,  # noqa: F401
    lax,  # noqa: F401
    losses,  # noqa: F401
    metrics,  # noqa: F401
    nn,  # noqa: F401
    numpy,  # noqa: F401  (registers array methods)
    optim,  # noqa: F401
    random,  # noqa: F401
    scipy,  # noqa: F401
    tree,  # noqa: F401
    tree_util,
)
from fnflow._api import hessian, jacfwd, jacrev, make_graph
from fnflow.config import config
from fnflow.core.array import Array
from fnflow.core.graph import Graph
from fnflow.transforms.ad import (
    ShapeDtypeStruct,
    custom_jvp,
    custom_vjp,
    eval_shape,
    grad,
    jvp,
    linearize,
    remat,
    stop_gradient,
    value_and_grad,
    vjp,
)
from fnflow.transforms.batching import vmap
from fnflow.transforms.jit import jit

__version__ = "0.1.0"

__all__ = ["Array", "Graph", "ShapeDtypeStruct", "checkpoint", "config", "custom_jvp", "custom_vjp", "debug",
           "eval_shape", "grad", "hessian", "jacfwd", "jacrev", "jit", "jvp", "linearize", "make_graph", "remat",
           "stop_gradient", "tree_util", "value_and_grad", "vjp", "vmap"]
