"""One table of the differentiable functions of fnflow's public surface.

Each :class:`Row` names a function, a NumPy reference, how to draw its
arguments (shapes and a domain per argument) and the highest derivative order
to check. The table drives:

* ``test_values``: the function agrees with the NumPy reference (per dtype);
* ``test_grads``: :func:`fnflow.testing.check_grads` in fwd and rev mode at
  order 1, and at the row's order (2 by default);
* ``tests/test_vmap_table.py``: ``vmap`` agrees with a Python loop.

Adding a function is one line, e.g.::

    op("linalg.inv", "invertible", shapes=square())
    op("nn.relu", "nonzero", ref=lambda x: np.maximum(x, 0))
    op("take", "real", fun=lambda x: fnp.take(x, IDX, 0), ref=lambda x: np.take(x, IDX, 0))

Names are looked up in ``fnflow.numpy`` (``nn.*`` in ``fnflow.nn``) and in
``numpy``; rows for functions that do not exist yet are left out.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import math
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

import fnflow.nn as fnn
import fnflow.numpy as fnp
from fnflow.testing import check_grads
from fnflow.testing import strategies as fst

# ------------------------------------------------------------------ the row type


@dataclasses.dataclass(frozen=True)
class Row:
    name: str                      # the test id
    fun: Callable                  # the fnflow function of the array arguments
    ref: Callable                  # the NumPy reference
    shapes: Any                    # strategy of a tuple of shapes, one per argument
    domains: tuple                 # one dict of fst.arrays keyword arguments per argument
    dtypes: tuple = (np.float64, np.float32)
    order: int = 2                 # highest derivative order checked (0: values only)
    xfail: tuple = ()              # ((test kind, reason), ...): known bugs (kinds: see param)
    rtol: float | None = None      # value-check tolerance (default by dtype)

    @property
    def arity(self):
        return len(self.domains)

    def args(self, draw, dtype, shapes=None):
        """Draw one tuple of arguments (floating domains take ``dtype``), of ``shapes`` when given."""
        shapes = draw(self.shapes) if shapes is None else shapes
        out = []
        for shape, dom in zip(shapes, self.domains):
            dom = dict(dom)
            dt = dom.pop("dtype", dtype)
            out.append(draw(fst.arrays(shape, dt, **dom)))
        return tuple(out)

    def param(self, kind):
        """This row as a parameter of the ``kind`` test: "values", "grads1", "grads2" or "vmap".

        An xfail entry "grads" covers both gradient tests.
        """
        marks = [pytest.mark.xfail(strict=True, reason=why) for k, why in self.xfail
                 if k == kind or (k == "grads" and kind.startswith("grads"))]
        return pytest.param(self, id=self.name, marks=marks)


def _lookup(mod, dotted):
    for part in dotted.split("."):
        mod = getattr(mod, part, None)
        if mod is None:
            return None
    return mod


def _module(name):
    if name.startswith("nn."):
        try:
            return importlib.import_module("fnflow.nn"), name[3:]
        except ImportError:
            return None, name
    return fnp, name


def _domain(d):
    if isinstance(d, dict):
        return d
    return {"domain": d}


# ------------------------------------------------------------------ shape strategies


def one(min_dims=0, max_dims=3, min_side=1, max_side=3):
    """A single argument of any small shape."""
    return fst.shapes(min_dims, max_dims, min_side, max_side).map(lambda s: (s,))


def same(n, min_dims=0, max_dims=3, min_side=1, max_side=3):
    """``n`` arguments of one shape."""
    return fst.shapes(min_dims, max_dims, min_side, max_side).map(lambda s: (s,) * n)


def bcast(n, min_dims=0, max_dims=3):
    """``n`` mutually broadcastable shapes."""
    return fst.mutually_broadcastable_shapes(n, min_dims=min_dims, max_dims=max_dims)


def fixed(*shapes):
    return st.just(tuple(tuple(s) for s in shapes))


def square(min_batch=0, max_batch=1, min_n=1, max_n=3):
    """One stack of square matrices ``(*batch, n, n)``."""
    return st.tuples(fst.shapes(min_batch, max_batch, 1, 2), st.integers(min_n, max_n)).map(
        lambda bn: (bn[0] + (bn[1], bn[1]),))


def matmul_shapes():
    """Pairs of shapes valid for ``matmul`` (1-d operands and batch broadcasting included)."""
    def build(t):
        (b1, b2), m, k, n, kind = t
        if kind == 0:
            return ((k,), (k,))
        if kind == 1:
            return ((k,), b2 + (k, n))
        if kind == 2:
            return (b1 + (m, k), (k,))
        return (b1 + (m, k), b2 + (k, n))

    return st.tuples(bcast(2, 0, 2), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
                     st.integers(0, 3)).map(build)


def dot_shapes():
    def build(t):
        m, k, n, kind = t
        return [((), (m,)), ((k,), (k,)), ((m, k), (k,)), ((m, k), (k, n)), ((2, m, k), (k,)),
                ((m, k), (2, k, n))][kind]

    return st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(0, 5)).map(build)


# ------------------------------------------------------------------ building rows

ROWS: list[Row] = []


def op(name, *domains, fun=None, ref=None, shapes=None, kw=None, dtypes=(np.float64, np.float32), order=2,
       xfail=None, rtol=None, id=None, needs=None):
    """Add a row; ``name`` is looked up in fnflow.numpy (or fnflow.nn) and numpy unless given.

    ``domains``: one per argument (default one ``"real"`` argument); a domain is
    a name or ``(lo, hi)`` (see :mod:`fnflow.testing.strategies`) or a dict of
    :func:`fst.arrays` keyword arguments. ``kw`` are keyword arguments passed to
    both functions. ``xfail`` maps a test kind ("values", "grads", "grads1", "grads2", "vmap") to
    the reason it is a known failure (a strict xfail). Returns the row, or None when the function (or the one
    named by ``needs``, for rows with an explicit ``fun``) does not exist.
    """
    if needs is not None:
        mod, attr = _module(needs)
        if mod is None or _lookup(mod, attr) is None:
            return None
    domains = tuple(_domain(d) for d in (domains or ("real",)))
    kw = kw or {}
    if fun is None:
        mod, attr = _module(name)
        fun = _lookup(mod, attr) if mod is not None else None
        if fun is None:
            return None
    if ref is None:
        ref = _lookup(np, name)
        if ref is None:
            raise ValueError(f"op table: no NumPy reference for {name}; pass ref=")
    if kw:
        fun, ref = functools.partial(fun, **kw), functools.partial(ref, **kw)
    if shapes is None:
        shapes = one() if len(domains) == 1 else bcast(len(domains))
    label = id or (name + ("(" + ",".join(f"{k}={v}" for k, v in kw.items()) + ")" if kw else ""))
    row = Row(label, fun, ref, shapes, domains, tuple(dtypes), order, tuple((xfail or {}).items()), rtol)
    ROWS.append(row)
    return row


def _lse(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _cast(f):
    """A float64 NumPy formula cast back to the input's dtype."""
    return lambda x, *a, **k: np.asarray(f(np.asarray(x, np.float64), *a, **k), x.dtype)


def _away_from_ints(lo=-2.0, hi=2.0):
    """A domain kept away from integers and half-integers (kinks of floor, round ...)."""
    return {"domain": (lo, hi), "avoid": tuple(np.arange(lo, hi + 0.5, 0.5)), "margin": 0.05}


# ------------------------------------------------------------------ elementwise, unary

NONZERO, POS, UNIT = "nonzero", "positive", "unit"
for _name, _dom in [
    ("negative", "real"), ("positive", "real"), ("exp", "real"), ("exp2", "real"), ("expm1", "real"),
    ("log", POS), ("log2", POS), ("log10", POS), ("log1p", POS), ("sqrt", POS), ("cbrt", NONZERO),
    ("sin", "real"), ("cos", "real"), ("tan", (-1.2, 1.2)), ("arcsin", UNIT), ("arccos", UNIT),
    ("arctan", "real"), ("sinh", "real"), ("cosh", "real"), ("tanh", "real"), ("arcsinh", "real"),
    ("arccosh", "gt1"), ("arctanh", UNIT), ("absolute", NONZERO), ("abs", NONZERO), ("square", "real"),
    ("reciprocal", NONZERO), ("deg2rad", "real"), ("rad2deg", "real"), ("sinc", NONZERO),
    ("conjugate", "real"), ("real", "real"), ("imag", "real"), ("sign", NONZERO),
    ("floor", _away_from_ints()), ("ceil", _away_from_ints()), ("round", _away_from_ints()),
    ("rint", _away_from_ints()), ("trunc", _away_from_ints()),
]:
    op(_name, _dom)

# sinc at and near 0: its Maclaurin branch gives the derivatives there (second derivative -pi**2/3 at 0)
op("sinc_at_zero", {"domain": (-1, 1), "grid": (0.5, 0.0)}, fun=fnp.sinc, ref=np.sinc, shapes=fixed((5,)))

# Python operators and scalars (weak typing keeps float32 float32)
op("neg_operator", fun=lambda x: -fnp.asarray(x), ref=lambda x: -x)
op("mul_scalar", fun=lambda x: fnp.asarray(x) * 2.5, ref=lambda x: x * 2.5)
op("rsub_scalar", fun=lambda x: 1.0 - fnp.asarray(x), ref=lambda x: 1.0 - x)
op("rdiv_scalar", NONZERO, fun=lambda x: 1.0 / fnp.asarray(x), ref=lambda x: 1.0 / x)
op("pow_int", fun=lambda x: fnp.asarray(x) ** 3, ref=lambda x: x ** 3)
op("pow_half", POS, fun=lambda x: fnp.asarray(x) ** 0.5, ref=lambda x: x ** 0.5)
op("rpow_scalar", fun=lambda x: 2.0 ** fnp.asarray(x), ref=lambda x: 2.0 ** x)
op("add_operator", "real", "real", fun=lambda x, y: fnp.asarray(x) + y, ref=lambda x, y: x + y)
op("mul_operator", "real", "real", fun=lambda x, y: fnp.asarray(x) * y, ref=lambda x, y: x * y)
op("div_operator", "real", NONZERO, fun=lambda x, y: fnp.asarray(x) / y, ref=lambda x, y: x / y)
op("pow_operator", POS, "real", fun=lambda x, y: fnp.asarray(x) ** y, ref=lambda x, y: x ** y)

# ------------------------------------------------------------------ elementwise, binary (broadcasting)

for _name, _doms in [
    ("add", ("real", "real")), ("subtract", ("real", "real")), ("multiply", ("real", "real")),
    ("divide", ("real", NONZERO)), ("true_divide", ("real", NONZERO)), ("power", (POS, "real")),
    ("arctan2", (NONZERO, NONZERO)), ("hypot", (NONZERO, NONZERO)),
    ("logaddexp", ("real", "real")), ("copysign", ("real", NONZERO)),
    # maximum/minimum: the two grids never meet, so there are no ties
    ("maximum", ({"grid": (0.1, 0.0)}, {"grid": (0.1, 0.05)})),
    ("minimum", ({"grid": (0.1, 0.0)}, {"grid": (0.1, 0.05)})),
    # x / y stays inside (0, 1): no jumps of floor(x / y)
    ("remainder", ((0.2, 0.8), (1.0, 1.5))), ("fmod", ((0.2, 0.8), (1.0, 1.5))),
    ("floor_divide", ((1.2, 1.8), (1.0, 1.1))),
]:
    op(_name, *_doms)

op("logaddexp2", "real", "real")
# float_power computes in float64 in NumPy; fnflow keeps the inputs' precision (as JAX without x64)
op("float_power", POS, "real", ref=lambda x, y: np.float_power(x, y).astype(np.result_type(x, y)))
op("pow", POS, "real")
op("mod", (0.2, 0.8), (1.0, 1.5))
op("divmod", (1.2, 1.8), (1.0, 1.1))
op("degrees")
op("radians")
op("fix", _away_from_ints())
op("heaviside", NONZERO, "real")
op("nan_to_num")
op("where", {"domain": "bool", "dtype": np.bool_}, "real", "real", shapes=bcast(3))
op("where_scalar", {"domain": "bool", "dtype": np.bool_}, "real", fun=lambda c, x: fnp.where(c, x, 0.0),
   ref=lambda c, x: np.where(c, x, np.zeros((), x.dtype)), shapes=bcast(2))
op("clip", {"domain": (-2, 2), "avoid": (-0.5, 0.7)}, fun=lambda x: fnp.clip(x, -0.5, 0.7),
   ref=lambda x: np.clip(x, -0.5, 0.7))
op("clip_arrays", {"domain": (-2, 2), "grid": (0.1, 0.05)}, {"domain": (-1.5, -0.5), "grid": (0.1, 0.0)},
   {"domain": (0.5, 1.5), "grid": (0.1, 0.0)}, fun=fnp.clip, ref=np.clip, shapes=bcast(3))

# ------------------------------------------------------------------ reductions

_DISTINCT = {"distinct": True}
for _name, _dom in [("sum", "real"), ("mean", "real"), ("prod", "real"), ("max", _DISTINCT), ("min", _DISTINCT),
                    ("amax", _DISTINCT), ("amin", _DISTINCT), ("var", "real"), ("std", "real"),
                    ("ptp", _DISTINCT)]:
    # std of a single value is sqrt(0): its derivative is nan (as in JAX), so reduce at least two values
    _m = 2 if _name == "std" else 1
    op(_name, _dom, shapes=one(_m - 1, 3, min_side=_m))
    op(_name, _dom, kw=dict(axis=0), shapes=one(1, 3, min_side=_m))
    op(_name, _dom, kw=dict(axis=-1, keepdims=True), shapes=one(1, 3, min_side=_m))
    op(_name, _dom, kw=dict(axis=(0, 2)), shapes=one(3, 3, min_side=_m))
op("prod_with_zeros", {"domain": (-2, 2), "grid": (1.0, 0.0)}, fun=fnp.prod, ref=np.prod, shapes=one(1, 2))
op("prod_with_zeros", {"domain": (-2, 2), "grid": (1.0, 0.0)}, fun=lambda x: fnp.prod(x, axis=0),
   ref=lambda x: np.prod(x, axis=0), shapes=one(2, 2, max_side=4), id="prod_with_zeros(axis=0)")
op("var", kw=dict(axis=0, ddof=1), shapes=one(1, 2, min_side=2))
op("std", kw=dict(ddof=1), shapes=one(1, 2, min_side=2))
op("logsumexp", ref=_lse, shapes=one(0, 3))
op("logsumexp", ref=_lse, kw=dict(axis=1), shapes=one(2, 3))
op("logsumexp", ref=_lse, kw=dict(axis=-1, keepdims=True), shapes=one(1, 3))
op("cumsum", shapes=one(0, 3))
op("cumsum", kw=dict(axis=1), shapes=one(2, 3))
op("cumprod", shapes=one(0, 3))
op("cumprod", kw=dict(axis=-1), shapes=one(1, 3))
op("cumprod_with_zeros", {"domain": (-2, 2), "grid": (1.0, 0.0)}, fun=lambda x: fnp.cumprod(x, axis=0),
   ref=lambda x: np.cumprod(x, axis=0), shapes=one(1, 2, max_side=4))
op("cumulative_sum", kw=dict(axis=0), shapes=one(1, 3))
op("cumulative_prod", kw=dict(axis=-1), shapes=one(1, 3))
op("average", "real", POS, fun=lambda a, w: fnp.average(a, axis=0, weights=w),
   ref=lambda a, w: np.average(a, axis=0, weights=w), shapes=st.integers(1, 3).map(lambda n: ((n, 2), (n,))))

# ------------------------------------------------------------------ shape manipulation

op("reshape", fun=lambda x: fnp.reshape(x, (-1,)), ref=lambda x: np.reshape(x, (-1,)), id="reshape(-1)")
op("reshape", fun=lambda x: fnp.reshape(x, (3, -1)), ref=lambda x: np.reshape(x, (3, -1)), id="reshape(3,-1)",
   shapes=fixed((2, 3, 2)))
op("ravel")
op("transpose", shapes=one(0, 3))
op("transpose", kw=dict(axes=(1, 2, 0)), shapes=one(3, 3))
op("swapaxes", kw=dict(axis1=0, axis2=-1), shapes=one(1, 3))
op("moveaxis", kw=dict(source=0, destination=-1), shapes=one(1, 3))
op("moveaxis", kw=dict(source=(0, 1), destination=(2, 0)), shapes=one(3, 3))
op("expand_dims", kw=dict(axis=0), shapes=one(0, 2))
op("expand_dims", kw=dict(axis=(1, -1)), shapes=one(1, 2))
op("squeeze", shapes=fixed((1, 3, 1)))
op("squeeze", kw=dict(axis=0), shapes=fixed((1, 2, 1)))
op("broadcast_to", fun=lambda x: fnp.broadcast_to(x, (2, 3, 3)), ref=lambda x: np.broadcast_to(x, (2, 3, 3)),
   shapes=fst.broadcastable_shapes((2, 3, 3), max_dims=3, max_side=3).map(lambda s: (s,)), id="broadcast_to")
op("concatenate", "real", "real", fun=lambda x, y: fnp.concatenate([x, y], axis=0),
   ref=lambda x, y: np.concatenate([x, y], axis=0), shapes=fixed((2, 3), (1, 3)))
op("concatenate", "real", "real", "real", fun=lambda x, y, z: fnp.concatenate([x, y, z], axis=-1),
   ref=lambda x, y, z: np.concatenate([x, y, z], axis=-1), shapes=fixed((2, 1), (2, 3), (2, 2)),
   id="concatenate(axis=-1)")
op("stack", "real", "real", fun=lambda x, y: fnp.stack([x, y], axis=1), ref=lambda x, y: np.stack([x, y], axis=1),
   shapes=same(2, 1, 2))
op("split", kw=dict(indices_or_sections=2, axis=1), shapes=fixed((2, 4)))
op("split", kw=dict(indices_or_sections=[1, 3], axis=0), shapes=fixed((4, 2)))
op("array_split", kw=dict(indices_or_sections=2), shapes=fixed((3, 2)))
op("pad", kw=dict(pad_width=((1, 0), (2, 1))), shapes=fixed((2, 3)))
op("pad", kw=dict(pad_width=1, constant_values=2.0), shapes=one(1, 2))
op("pad", kw=dict(pad_width=2, mode="edge"), shapes=one(1, 2))
op("pad", kw=dict(pad_width=((1, 2),), mode="reflect"), shapes=fixed((4,)))
op("pad", kw=dict(pad_width=((1, 2),), mode="wrap"), shapes=fixed((3,)))
op("tile", kw=dict(reps=(2, 1)), shapes=one(1, 2))
op("tile", kw=dict(reps=3), shapes=one(0, 2))
op("repeat", kw=dict(repeats=2), shapes=one(0, 2))
op("repeat", kw=dict(repeats=2, axis=1), shapes=one(2, 3))
op("repeat", kw=dict(repeats=[1, 0, 2], axis=0), shapes=fixed((3, 2)))
op("flip", shapes=one(0, 3))
op("flip", kw=dict(axis=1), shapes=one(2, 3))
op("fliplr", shapes=one(2, 2))
op("roll", kw=dict(shift=1), shapes=one(1, 2))
op("roll", kw=dict(shift=(1, -2), axis=(0, 1)), shapes=one(2, 3))
op("rot90", shapes=one(2, 3))
op("atleast_2d", shapes=one(0, 2))
op("hstack", "real", "real", fun=lambda x, y: fnp.hstack([x, y]), ref=lambda x, y: np.hstack([x, y]),
   shapes=fixed((2, 1), (2, 3)))
op("vstack", "real", "real", fun=lambda x, y: fnp.vstack([x, y]), ref=lambda x, y: np.vstack([x, y]),
   shapes=fixed((3,), (2, 3)))
op("matrix_transpose", ref=lambda x: np.swapaxes(x, -1, -2), shapes=one(2, 3))

op("atleast_1d", shapes=one(0, 2))
op("atleast_3d", shapes=one(0, 3))
op("permute_dims", kw=dict(axes=(2, 0, 1)), shapes=one(3, 3))
op("flipud", shapes=one(1, 2))
op("hsplit", kw=dict(s=2), ref=lambda x, s: np.hsplit(x, s), shapes=fixed((3, 4)))
op("vsplit", kw=dict(s=[1]), ref=lambda x, s: np.vsplit(x, s), shapes=fixed((3, 2)))
op("broadcast_arrays", "real", "real", fun=lambda x, y: fnp.broadcast_arrays(x, y),
   ref=lambda x, y: [np.array(a) for a in np.broadcast_arrays(x, y)], needs="broadcast_arrays")
op("concat", "real", "real", fun=lambda x, y: fnp.concat([x, y], axis=1), ref=lambda x, y: np.concat([x, y], axis=1),
   shapes=fixed((2, 1), (2, 2)), needs="concat")
op("column_stack", "real", "real", fun=lambda x, y: fnp.column_stack([x, y]),
   ref=lambda x, y: np.column_stack([x, y]), shapes=fixed((3,), (3, 2)), needs="column_stack")
op("dstack", "real", "real", fun=lambda x, y: fnp.dstack([x, y]), ref=lambda x, y: np.dstack([x, y]),
   shapes=fixed((2, 3), (2, 3)), needs="dstack")
op("diagflat", shapes=one(1, 2))
op("compress", fun=lambda x: fnp.compress([True, False, True], x, axis=0),
   ref=lambda x: np.compress([True, False, True], x, axis=0), shapes=fixed((3, 2)), needs="compress")
op("astype", fun=lambda x: fnp.astype(x, np.float32), ref=lambda x: x.astype(np.float32), needs="astype")

# ------------------------------------------------------------------ products

op("dot", "real", "real", shapes=dot_shapes())
op("matmul", "real", "real", shapes=matmul_shapes())
op("matmul_operator", "real", "real", fun=lambda x, y: fnp.asarray(x) @ y, ref=lambda x, y: x @ y,
   shapes=matmul_shapes())
op("tensordot", "real", "real", kw=dict(axes=1), shapes=fixed((2, 3), (3, 2)))
op("tensordot", "real", "real", kw=dict(axes=2), shapes=fixed((2, 3, 2), (3, 2, 1)))
op("tensordot", "real", "real", kw=dict(axes=([0, 2], [2, 0])), shapes=fixed((2, 3, 1), (1, 2, 2)))
op("outer", "real", "real", shapes=st.tuples(one(0, 2), one(0, 2)).map(lambda t: t[0] + t[1]))
op("inner", "real", "real", shapes=st.tuples(fst.shapes(0, 2), fst.shapes(0, 1), st.integers(1, 3)).map(
    lambda t: (t[0] + (t[2],), t[1] + (t[2],))))
op("vdot", "real", "real", shapes=same(2, 1, 2))
op("kron", "real", "real", shapes=fixed((2, 2), (1, 3)))

# ------------------------------------------------------------------ indexing

IDX = np.array([2, 0, 1, 1], np.int32)
IDX2 = np.array([[0, 2], [1, 1]], np.int32)
op("take", fun=lambda x: fnp.take(x, IDX, axis=0), ref=lambda x: np.take(x, IDX, axis=0), shapes=fixed((3, 2)),
   id="take(axis=0)", needs="take")
op("take", fun=lambda x: fnp.take(x, IDX2), ref=lambda x: np.take(x, IDX2), shapes=fixed((2, 3)),
   id="take(flat)", needs="take")
op("take_along_axis", fun=lambda x: fnp.take_along_axis(x, IDX2, axis=1),
   ref=lambda x: np.take_along_axis(x, IDX2, axis=1), shapes=fixed((2, 3)), needs="take_along_axis")
op("getitem", fun=lambda x: fnp.asarray(x)[1:, ::-2, None], ref=lambda x: x[1:, ::-2, None],
   shapes=fixed((3, 4)))
op("getitem_int_array", fun=lambda x: fnp.asarray(x)[IDX, 1:], ref=lambda x: x[IDX, 1:], shapes=fixed((3, 3)),
   needs="take")
op("getitem_mixed", fun=lambda x: fnp.asarray(x)[:, IDX2, 0], ref=lambda x: x[:, IDX2, 0], shapes=fixed((2, 3, 2)),
   needs="take")
op("getitem_bool_mask", fun=lambda x: fnp.asarray(x)[np.array([True, False, True])],
   ref=lambda x: x[np.array([True, False, True])], shapes=fixed((3, 2)), needs="take")


def _at_set(x, y):
    x = np.array(x)
    x[IDX[:2]] = y
    return x


def _at_add(x, y):
    x = np.array(x)
    np.add.at(x, IDX, y)
    return x


op("at_set", "real", "real", fun=lambda x, y: fnp.asarray(x).at[IDX[:2]].set(y), ref=_at_set,
   shapes=fixed((3, 2), (2, 2)), needs="take")
op("at_add_repeated", "real", "real", fun=lambda x, y: fnp.asarray(x).at[IDX].add(y), ref=_at_add,
   shapes=fixed((3, 2), (4, 2)), needs="take")
for _name in ("diagonal", "trace", "tril", "triu"):
    op(_name, shapes=one(2, 3, min_side=2))
op("diagonal", kw=dict(offset=1, axis1=0, axis2=2), shapes=fixed((2, 2, 3)))
op("diag", shapes=one(1, 2))

# ------------------------------------------------------------------ einsum

for _spec, _shapes in [("ij,jk->ik", ((2, 3), (3, 2))), ("bij,bjk->bik", ((2, 2, 3), (2, 3, 1))),
                       ("i,i->", ((3,), (3,))), ("ij,j->i", ((2, 3), (3,))),
                       ("...ij,...jk->...ik", ((2, 1, 2), (1, 2, 3))),
                       ("ij,kj->ikj", ((2, 3), (1, 3)))]:
    op("einsum", "real", "real", fun=functools.partial(fnp.einsum, _spec), ref=functools.partial(np.einsum, _spec),
       shapes=fixed(*_shapes), id=f"einsum({_spec})", needs="einsum")
for _spec, _shape in [("ii->i", (3, 3)), ("ij->", (2, 3)), ("ij->ji", (2, 3)), ("ii", (2, 2)), ("ijk->kj", (2, 1, 3))]:
    op("einsum", fun=functools.partial(fnp.einsum, _spec), ref=functools.partial(np.einsum, _spec),
       shapes=fixed(_shape), id=f"einsum({_spec})", needs="einsum")

# ------------------------------------------------------------------ sorting and order statistics

op("sort", _DISTINCT, shapes=one(1, 3))
op("sort", _DISTINCT, kw=dict(axis=0), shapes=one(1, 3))
op("sort", _DISTINCT, kw=dict(axis=None), shapes=one(0, 2))
op("sort_descending", _DISTINCT, fun=lambda x: fnp.sort(x, descending=True), ref=lambda x: -np.sort(-x),
   shapes=one(1, 2), needs="sort")
op("median", _DISTINCT, shapes=one(1, 3))
op("median", _DISTINCT, kw=dict(axis=0), shapes=one(1, 3))
# NumPy computes quantiles of float32 data at float64 q in float64; fnflow keeps float32 (as JAX)
op("quantile", _DISTINCT, kw=dict(q=0.3), shapes=one(1, 2))
op("quantile", _DISTINCT, ref=_cast(np.quantile), kw=dict(q=np.array([0.1, 0.9]), axis=-1, keepdims=True),
   shapes=one(1, 2))
op("percentile", _DISTINCT, ref=_cast(np.percentile), kw=dict(q=[25.0, 60.0], axis=0), shapes=one(1, 2))
op("nanquantile", _DISTINCT, kw=dict(q=0.75, axis=0), shapes=one(1, 2))
op("nanpercentile", _DISTINCT, kw=dict(q=40.0), shapes=one(1, 2))
op("nanmedian", _DISTINCT, kw=dict(axis=-1), shapes=one(1, 2))

# ------------------------------------------------------------------ linear algebra

op("linalg.inv", "invertible", shapes=square())
op("linalg.det", "invertible", shapes=square())
op("linalg.slogdet", "invertible", shapes=square())
op("linalg.solve", "invertible", "real",
   shapes=st.tuples(square(), st.integers(1, 2)).map(lambda t: (t[0][0], t[0][0][:-1] + (t[1],))))
op("linalg.solve_vector", "invertible", "real", fun=lambda a, b: fnp.linalg.solve(a, b), ref=np.linalg.solve,
   shapes=square(0, 0).map(lambda s: (s[0], s[0][:1])), needs="linalg.solve")
# cholesky reads the lower triangle (as NumPy); its derivative treats the upper one as absent
op("linalg.cholesky", "spd", fun=lambda a: fnp.linalg.cholesky(_sym(a)), ref=lambda a: np.linalg.cholesky(_sym(a)),
   shapes=square(), needs="linalg.cholesky")
op("linalg.cholesky", "spd", shapes=square(), id="linalg.cholesky(nonsymmetric tangents)")
op("linalg.eigvalsh", "spd", shapes=square())


def _sym(a):
    return (a + np.swapaxes(a, -1, -2)) / 2


def _gauge_eigh(eigh):
    # eigenvectors have an arbitrary sign each: v * v[0] is sign-free
    def f(a):
        w, v = eigh(a)
        return w, v * v[..., :1, :]
    return f


def _gauge_svd(svd):
    def f(a):
        u, s, vh = svd(a, full_matrices=False)
        return u * u[..., :1, :], s, vh * vh[..., :, :1]
    return f


op("linalg.eigh", "spd", fun=_gauge_eigh(fnp.linalg.eigh) if hasattr(fnp.linalg, "eigh") else None,
   ref=_gauge_eigh(np.linalg.eigh), shapes=square(0, 1, 2, 3), needs="linalg.eigh")
_RECT = st.sampled_from([((3, 2),), ((2, 3),), ((2, 2),), ((2, 3, 2),)])
op("linalg.svd", "invertible", fun=_gauge_svd(fnp.linalg.svd) if hasattr(fnp.linalg, "svd") else None,
   ref=_gauge_svd(np.linalg.svd), shapes=_RECT, needs="linalg.svd")
op("linalg.svdvals", "invertible", shapes=_RECT)
op("linalg.pinv", "invertible", shapes=_RECT)
op("linalg.matrix_power", "invertible", kw=dict(n=3), shapes=square())
op("linalg.matrix_power", "invertible", kw=dict(n=-2), shapes=square())
op("linalg.norm", NONZERO, shapes=one(1, 2))
op("linalg.norm", NONZERO, kw=dict(axis=-1, keepdims=True), shapes=one(1, 3))
op("linalg.norm", NONZERO, kw=dict(ord=1), shapes=one(1, 1))
op("linalg.norm", _DISTINCT, kw=dict(ord=np.inf), shapes=one(1, 1))
op("linalg.norm", kw=dict(ord="fro"), shapes=one(2, 2))
op("linalg.norm", "invertible", kw=dict(ord="nuc"), shapes=fixed((3, 2)))
op("linalg.norm", "invertible", kw=dict(ord=2), shapes=fixed((2, 3)))
op("linalg.norm", "invertible", kw=dict(ord=-2, axis=(0, 1)), shapes=fixed((2, 2)))
op("linalg.vector_norm", NONZERO, kw=dict(ord=3), shapes=one(1, 2))
op("linalg.matrix_norm", kw=dict(ord="fro"), shapes=one(2, 3))
op("linalg.trace", shapes=one(2, 3))
op("linalg.diagonal", kw=dict(offset=-1), shapes=one(2, 3, min_side=2))
op("linalg.vecdot", "real", "real", shapes=bcast(2, 1, 2).map(lambda s: tuple(t + (3,) for t in s)))
op("linalg.outer", "real", "real", shapes=fixed((2,), (3,)))
op("linalg.cross", "real", "real", shapes=bcast(2, 0, 1).map(lambda s: tuple(t + (3,) for t in s)))
op("linalg.multi_dot", "real", "real", "real", fun=lambda a, b, c: fnp.linalg.multi_dot([a, b, c]),
   ref=lambda a, b, c: np.linalg.multi_dot([a, b, c]), shapes=fixed((3,), (3, 2), (2, 2)), needs="linalg.multi_dot")
op("linalg.matmul", "real", "real", shapes=fixed((2, 3), (3, 2)))
op("linalg.tensordot", "real", "real", kw=dict(axes=1), shapes=fixed((2, 3), (3,)))
op("linalg.matrix_transpose", shapes=one(2, 3))
op("linalg.tensorsolve", "invertible", "real", fun=lambda a, b: fnp.linalg.tensorsolve(a.reshape(2, 3, 6), b),
   ref=lambda a, b: np.linalg.tensorsolve(a.reshape(2, 3, 6), b), shapes=fixed((6, 6), (2, 3)),
   needs="linalg.tensorsolve")
op("linalg.tensorinv", "invertible", fun=lambda a: fnp.linalg.tensorinv(a.reshape(2, 3, 6), ind=2),
   ref=lambda a: np.linalg.tensorinv(a.reshape(2, 3, 6), ind=2), shapes=fixed((6, 6)), needs="linalg.tensorinv")
op("linalg.cond", "invertible", shapes=fixed((3, 3)))

# ------------------------------------------------------------------ fnflow.nn activations

_SELU_A, _SELU_S = 1.6732632423543772, 1.0507009873554805
_erf = np.vectorize(math.erf, otypes=[np.float64])


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softplus(x):
    return np.logaddexp(0, x)


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)



for _name, _dom, _ref in [
    ("relu", NONZERO, lambda x: np.maximum(x, 0)),
    ("relu6", {"domain": (-2, 8), "avoid": (0, 6)}, lambda x: np.clip(x, 0, 6)),
    ("leaky_relu", NONZERO, lambda x: np.where(x >= 0, x, 0.01 * x)),
    ("elu", NONZERO, lambda x: np.where(x > 0, x, np.expm1(x))),
    ("selu", NONZERO, lambda x: _SELU_S * np.where(x > 0, x, _SELU_A * np.expm1(x))),
    ("celu", NONZERO, lambda x: np.maximum(x, 0) + np.minimum(0, np.expm1(x))),
    ("sigmoid", "real", _sigmoid),
    ("log_sigmoid", "real", lambda x: -_softplus(-x)),
    ("softplus", "real", _softplus),
    ("soft_sign", "real", lambda x: x / (np.abs(x) + 1)),
    ("silu", "real", lambda x: x * _sigmoid(x)),
    ("swish", "real", lambda x: x * _sigmoid(x)),
    ("gelu", "real", lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2)))),
    ("mish", "real", lambda x: x * np.tanh(_softplus(x))),
    ("tanh", "real", np.tanh),
    ("hard_sigmoid", {"domain": (-5, 5), "avoid": (-3, 3)}, lambda x: np.clip(x + 3, 0, 6) / 6),
    ("hard_silu", {"domain": (-5, 5), "avoid": (-3, 3)}, lambda x: x * np.clip(x + 3, 0, 6) / 6),
    ("hard_swish", {"domain": (-5, 5), "avoid": (-3, 3)}, lambda x: x * np.clip(x + 3, 0, 6) / 6),
    ("hard_tanh", {"domain": (-2, 2), "avoid": (-1, 1)}, lambda x: np.clip(x, -1, 1)),
]:
    op("nn." + _name, _dom, ref=_cast(_ref), rtol=1e-6 if _name == "gelu" else None)
op("nn.gelu", ref=_cast(lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))),
   fun=lambda x: fnn.gelu(x, approximate=True), id="nn.gelu(approximate=True)", needs="nn.gelu")
op("nn.glu", ref=_cast(lambda x: x[..., :2] * _sigmoid(x[..., 2:])), shapes=one(0, 2).map(lambda s: (s[0] + (4,),)))
op("nn.softmax", ref=_cast(_softmax), shapes=one(1, 3))
op("nn.softmax", ref=_cast(_softmax), kw=dict(axis=0), shapes=one(1, 3))
op("nn.log_softmax", ref=_cast(lambda x, axis=-1: np.log(_softmax(x, axis))), shapes=one(1, 3))
op("nn.logsumexp", ref=_lse, kw=dict(axis=-1), shapes=one(1, 3))
op("nn.normalize", ref=_cast(lambda x, axis: (x - x.mean(axis, keepdims=True)) / np.sqrt(x.var(axis, keepdims=True)
                                                                                       + 1e-5)),
   kw=dict(axis=0), shapes=one(1, 2, min_side=2))
op("nn.standardize", ref=_cast(lambda x: (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)),
   shapes=one(1, 2, min_side=2))


# The table must not be empty and must not have duplicate ids.
assert len({r.name for r in ROWS}) == len(ROWS), sorted(r.name for r in ROWS)


# ------------------------------------------------------------------ the tests

# No shrinking: the values come from a seed, so a shrunk example is hardly simpler, and
# shrinking a strict-xfail row would cost a minute.
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)
_VALUE_RTOL = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 2e-5}


def _assert_tree_close(got, want, rtol, atol):
    if isinstance(want, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(want), (type(got), len(got), len(want))
        for g, w in zip(got, want):
            _assert_tree_close(g, w, rtol, atol)
        return
    want = np.asarray(want)
    got = np.asarray(got)
    assert got.shape == want.shape, f"shape {got.shape}, NumPy gives {want.shape}"
    assert got.dtype == want.dtype, f"dtype {got.dtype}, NumPy gives {want.dtype}"
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


@pytest.mark.parametrize("row", [r.param("values") for r in ROWS])
@settings(max_examples=4, phases=NO_SHRINK)
@given(data=st.data())
def test_values(row, data):
    for dtype in row.dtypes:
        args = row.args(data.draw, dtype)
        rtol = row.rtol or _VALUE_RTOL[np.dtype(dtype)]
        got = row.fun(*args)
        want = row.ref(*[np.array(a) for a in args])
        _assert_tree_close(got, want, rtol, atol=rtol)


GRAD_ROWS = [r for r in ROWS if r.order >= 1]


@pytest.mark.parametrize("row", [r.param("grads1") for r in GRAD_ROWS])
@settings(max_examples=4, phases=NO_SHRINK)
@given(data=st.data())
def test_grads_order1(row, data):
    check_grads(row.fun, row.args(data.draw, np.float64), order=1, modes=("fwd", "rev"))


@pytest.mark.parametrize("row", [r.param("grads2") for r in GRAD_ROWS if r.order >= 2])
@settings(max_examples=2, phases=NO_SHRINK)
@given(data=st.data())
def test_grads_order2(row, data):
    check_grads(row.fun, row.args(data.draw, np.float64), order=row.order, modes=("fwd", "rev"))
