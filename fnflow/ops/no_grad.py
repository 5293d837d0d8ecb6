"""``no_grad``: the identity, for a value whose derivative fnflow cannot compute.

Its JVP raises (eagerly, under ``jit`` and inside ``grad`` of ``jit``) with the
message the caller gives, so a derivative is never silently zero or wrong
(e.g. a binomial sample with respect to its ``n`` and ``p``). A value without a
tangent never reaches the rule, so evaluation and differentiation with respect
to other inputs work. Compare ``stop_gradient``, which makes the derivative
zero on purpose.
"""

from __future__ import annotations

from fnflow.core.primitive import Primitive
from fnflow.core.trace import bind

no_grad_p = Primitive("no_grad")
no_grad_p.def_impl(lambda x, *, msg: x)
no_grad_p.def_abstract_eval(lambda a, *, msg: a)


def _no_grad_jvp(primals, tangents, *, msg):
    raise NotImplementedError(msg)


no_grad_p.def_jvp(_no_grad_jvp)
no_grad_p.def_batch(lambda args, dims, *, msg: (bind(no_grad_p, args[0], msg=msg), dims[0]))


def no_grad(x, msg):
    """``x``, whose differentiation raises ``NotImplementedError(msg)``."""
    return bind(no_grad_p, x, msg=msg)
