"""Primitive: one operation and the table of everything the system knows about it.

Rules registered beside each op in ``fnflow/ops``:

- ``impl(*arrays, **params)``: eager evaluation with NumPy on concrete arrays;
- ``abstract_eval(*avals, **params)``: output shapes/dtypes, raising a clear
  error that names the op and the shapes when the inputs do not fit;
- ``jvp(primals, tangents, **params) -> (primals_out, tangents_out)``;
- ``transpose(cts, *args, **params)`` for ops linear in the args marked
  :class:`UndefinedPrimal`, returning one cotangent per argument;
- ``batch(args, dims, **params) -> (outs, out_dims)`` for ``vmap``;
- ``lowerings[backend]``: how each compiler backend emits the op.
"""

from __future__ import annotations


class Primitive:
    """A named operation; ``bind`` is the one door through which it runs."""

    def __init__(self, name: str, multiple_results: bool = False):
        self.name = name
        self.multiple_results = multiple_results
        self.impl = None
        self.abstract_eval = None
        self.jvp = None
        self.transpose = None
        self.batch = None
        self.lowerings = {}

    def __repr__(self):
        return self.name

    def bind(self, *args, **params):
        from fnflow.core.trace import bind

        return bind(self, *args, **params)

    # decorators, so a rule can be written right under the op
    def def_impl(self, f):
        self.impl = f
        return f

    def def_abstract_eval(self, f):
        self.abstract_eval = f
        return f

    def def_jvp(self, f):
        self.jvp = f
        return f

    def def_transpose(self, f):
        self.transpose = f
        return f

    def def_batch(self, f):
        self.batch = f
        return f

    def def_lowering(self, backend):
        def register(f):
            self.lowerings[backend] = f
            return f

        return register


class UndefinedPrimal:
    """Marks a linear input of an op during transposition (its value is unknown)."""

    __slots__ = ("aval",)

    def __init__(self, aval):
        self.aval = aval

    def __repr__(self):
        return f"UndefinedPrimal({self.aval})"


def is_undefined(x) -> bool:
    return isinstance(x, UndefinedPrimal)
