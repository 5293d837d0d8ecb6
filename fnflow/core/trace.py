"""Tracers, the interpreter stack and ``bind``.

Every transform (jvp, vmap, the graph tracer) is an interpreter: a ``Trace``
subclass whose tracers wrap values. Interpreters are stacked; each active one
has a ``MainTrace`` with a level. ``bind(prim, *args)`` hands the op to the
interpreter with the highest level among its arguments (the innermost
transform), which processes it and binds whatever it computes on the level
below. With no tracer among the arguments the op is evaluated eagerly.
"""

from __future__ import annotations

import threading

import numpy as np

from fnflow.core.abstract import ShapedArray, get_aval, is_scalar
from fnflow.core.array import Array, array_methods, as_output
from fnflow.core.errors import ConcretizationError, LeakedTracerError, user_frame


class MainTrace:
    """One active interpreter: its level, trace class and global data."""

    __slots__ = ("level", "trace_type", "global_data", "name", "where", "alive")

    def __init__(self, level, trace_type, global_data=None, name=""):
        self.level = level
        self.trace_type = trace_type
        self.global_data = global_data
        self.name = name
        self.where = user_frame()
        self.alive = True

    def __repr__(self):
        return f"MainTrace({self.level}, {self.trace_type.__name__}, {self.name})"


class _Stack(threading.local):
    def __init__(self):
        self.stack = [MainTrace(0, EvalTrace, name="eval")]


_state = None  # set after EvalTrace is defined


class new_main:
    """Context manager that pushes a new interpreter on the stack."""

    def __init__(self, trace_type, global_data=None, name=""):
        self.trace_type, self.global_data, self.name = trace_type, global_data, name

    def __enter__(self):
        stack = _state.stack
        self.main = MainTrace(len(stack), self.trace_type, self.global_data, self.name)
        stack.append(self.main)
        return self.main

    def __exit__(self, *exc):
        _state.stack.pop()
        self.main.alive = False
        return False


def current_levels():
    return len(_state.stack)


class Trace:
    """An interpreter at one level. Subclasses define ``pure``, ``lift`` and ``process_primitive``."""

    __slots__ = ("main",)

    def __init__(self, main):
        self.main = main

    def full_raise(self, val):
        if not isinstance(val, Tracer):
            return self.pure(val)
        main = val._trace.main
        if main is self.main:
            return val
        if not main.alive:
            raise leaked(val)
        if main.level < self.main.level:
            return self.lift(val)
        raise leaked(val)

    def pure(self, val):
        raise NotImplementedError

    def lift(self, tracer):
        return self.pure(tracer)

    def process_primitive(self, prim, tracers, params):
        raise NotImplementedError

    def process_custom_jvp_call(self, fun, jvp, tracers, symbolic_zeros=False):
        return fun(*tracers)

    def process_custom_vjp_call(self, fun, fwd, bwd, tracers, out_tree_thunk=None):
        return fun(*tracers)


class EvalTrace(Trace):
    """Eager evaluation with NumPy; results are read-only arrays."""

    def pure(self, val):
        return val

    lift = pure

    def process_primitive(self, prim, args, params):
        return eval_primitive(prim, args, params)


_state = _Stack()
_EVAL = EvalTrace(_state.stack[0])


def _to_numpy(x):
    if type(x) is np.ndarray:
        return x
    if isinstance(x, np.ndarray):
        return x.view(np.ndarray)
    return np.asarray(x)


def eval_primitive(prim, args, params):
    vals = [_to_numpy(a) for a in args]
    try:
        out = prim.impl(*vals, **params)
    except Exception as numpy_error:
        # NumPy's message may not name the op: let abstract_eval say what is wrong.
        if prim.abstract_eval is None:
            raise
        try:
            prim.abstract_eval(*[ShapedArray(v.shape, v.dtype) for v in vals], **params)
        except Exception as named:
            raise named.with_traceback(None) from None
        raise numpy_error
    if prim.multiple_results:
        return [as_output(o) for o in out]
    return [as_output(out)]


def find_top_trace(args):
    top = None
    level = 0
    for a in args:
        if isinstance(a, Tracer):
            main = a._trace.main
            if main.level >= level:
                if not main.alive:
                    raise leaked(a)
                top, level = a._trace, main.level
    if top is None:
        return _EVAL
    if _state.stack[level] is not top.main:
        raise leaked(next(a for a in args if isinstance(a, Tracer) and a._trace is top))
    return top


def bind(prim, *args, **params):
    """Run ``prim`` on ``args`` in the innermost interpreter that owns one of them."""
    trace = find_top_trace(args)
    tracers = [trace.full_raise(a) for a in args]
    outs = trace.process_primitive(prim, tracers, params)
    return outs if prim.multiple_results else outs[0]


def leaked(tracer):
    main = tracer._trace.main
    return LeakedTracerError(
        f"A tracer of the {main.name or main.trace_type.__name__} transform escaped it: the value "
        f"{tracer.aval.str_short()} was created inside a transform started at {main.where} and is "
        f"used after that transform returned (or under another transform that does not own it). "
        f"Return values from the transformed function instead of storing them in globals, "
        f"closures or attributes.")


# ------------------------------------------------------------------ tracers


def _method(name):
    def op(self, *args, **kwargs):
        return array_methods[name](self, *args, **kwargs)

    op.__name__ = name
    return op


class Tracer:
    """A traced value that behaves like an array.

    Operators and methods are provided by ``fnflow.numpy`` (through
    ``array_methods``); each interpreter's tracer adds ``aval`` and how it
    becomes concrete (if it can).
    """

    __slots__ = ("_trace", "__weakref__")
    __array_priority__ = 1000

    aval: ShapedArray

    shape = property(lambda self: self.aval.shape)
    dtype = property(lambda self: self.aval.dtype)
    ndim = property(lambda self: self.aval.ndim)
    size = property(lambda self: self.aval.size)

    def __len__(self):
        if not self.aval.shape:
            raise TypeError("len() of a 0-d traced array")
        return self.aval.shape[0]

    def __iter__(self):
        if not self.aval.shape:
            raise TypeError("iteration over a 0-d traced array")
        return (self[i] for i in range(self.aval.shape[0]))

    def __repr__(self):
        return f"{type(self).__name__}<{self.aval.str_short()}>"

    # -- concreteness: interpreters that know the value override to_concrete
    def to_concrete(self, why):
        raise ConcretizationError(self, why)

    def __bool__(self):
        return bool(self.to_concrete("bool() / an `if` or `while` condition"))

    def __int__(self):
        return int(self.to_concrete("int()"))

    def __float__(self):
        return float(self.to_concrete("float()"))

    def __complex__(self):
        return complex(self.to_concrete("complex()"))

    def __index__(self):
        return int(self.to_concrete("use as a Python index"))

    def item(self):
        return self.to_concrete(".item()").item()

    def tolist(self):
        return self.to_concrete(".tolist()").tolist()

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            f"Cannot convert the traced value {self.aval.str_short()} to a NumPy array: inside a transform "
            f"(grad, vmap, jit, ...) values are tracers. Use fnflow.numpy (import fnflow.numpy as fnp) "
            f"instead of a NumPy function that fnflow does not cover, or move the conversion "
            f"outside the transformed function.")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return array_methods["__array_ufunc__"](ufunc, method, *inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return array_methods["__array_function__"](func, types, args, kwargs)

    def __setitem__(self, idx, value):
        raise TypeError(
            "fnflow arrays are immutable: in-place assignment x[idx] = v is not allowed. "
            "Use the functional update x = x.at[idx].set(v) (or .add/.multiply/.min/.max).")

    def __hash__(self):
        raise TypeError(f"unhashable type: traced array {self.aval.str_short()} (a static argument "
                        f"must be a hashable Python value, not an array)")

    __eq__ = _method("__eq__")
    __ne__ = _method("__ne__")


_METHODS = (
    "__neg__ __pos__ __abs__ __invert__ __add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ "
    "__truediv__ __rtruediv__ __floordiv__ __rfloordiv__ __mod__ __rmod__ __pow__ __rpow__ "
    "__matmul__ __rmatmul__ __lt__ __le__ __gt__ __ge__ __and__ __rand__ __or__ __ror__ __xor__ "
    "__rxor__ __lshift__ __rlshift__ __rshift__ __rrshift__ __divmod__ __rdivmod__ __getitem__ "
    "sum mean prod max min var std argmax argmin any all cumsum cumprod reshape transpose "
    "swapaxes squeeze flatten ravel astype clip round dot conj conjugate sort argsort repeat take"
).split()
for _name in _METHODS:
    setattr(Tracer, _name, _method(_name))
Tracer.T = property(lambda self: array_methods["transpose"](self))
Tracer.mT = property(lambda self: array_methods["swapaxes"](self, -1, -2))
Tracer.at = property(lambda self: array_methods["at"](self))
Tracer.real = property(lambda self: array_methods["real"](self))
Tracer.imag = property(lambda self: array_methods["imag"](self))


def is_tracer(x) -> bool:
    return isinstance(x, Tracer)


def concrete_or_none(x):
    """The concrete NumPy value of ``x`` if it has one (eager value, JVP primal), else None."""
    while isinstance(x, Tracer):
        try:
            x = x.to_concrete("")
        except ConcretizationError:
            return None
    if is_scalar(x):
        return x
    return np.asarray(x)


__all__ = ["Array", "as_output", "bind", "new_main", "Trace", "Tracer", "EvalTrace", "MainTrace",
           "find_top_trace", "get_aval", "is_tracer", "concrete_or_none"]
