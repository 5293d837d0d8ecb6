"""dot_general: the one contraction primitive behind dot, matmul, einsum and tensordot.

``dimension_numbers = ((lhs_contract, rhs_contract), (lhs_batch, rhs_batch))``
as in ``jax.lax.dot_general``; the output axes are the batch axes, then the
free axes of lhs, then the free axes of rhs (each in axis order). It runs as
one batched ``np.matmul`` (BLAS) after a transpose/reshape of each operand.
"""

from __future__ import annotations

import numpy as np

from fnflow.core.abstract import ShapedArray, get_aval
from fnflow.core.primitive import Primitive
from fnflow.core.trace import bind
from fnflow.ops._util import promote
from fnflow.transforms.ad import defbilinear
from fnflow.transforms.batching import moveaxis

dot_general_p = Primitive("dot_general")


def _free(ndim, contract, batch):
    return [i for i in range(ndim) if i not in contract and i not in batch]


def _dot_impl(lhs, rhs, dimension_numbers):
    (lc, rc), (lb, rb) = dimension_numbers
    lf, rf = _free(lhs.ndim, lc, lb), _free(rhs.ndim, rc, rb)
    bshape = [lhs.shape[i] for i in lb]
    m = [lhs.shape[i] for i in lf]
    n = [rhs.shape[i] for i in rf]
    k = int(np.prod([lhs.shape[i] for i in lc], dtype=np.int64))
    B, M, N = (int(np.prod(s, dtype=np.int64)) for s in (bshape, m, n))
    a = np.transpose(lhs, list(lb) + lf + list(lc)).reshape(B, M, k)
    b = np.transpose(rhs, list(rb) + list(rc) + rf).reshape(B, k, N)
    out = np.matmul(a, b)
    return out.reshape(bshape + m + n)


dot_general_p.def_impl(_dot_impl)


@dot_general_p.def_abstract_eval
def _dot_abstract(lhs, rhs, dimension_numbers):
    (lc, rc), (lb, rb) = dimension_numbers
    ok = (len(lc) == len(rc) and len(lb) == len(rb)
          and all(0 <= i < lhs.ndim for i in tuple(lc) + tuple(lb))
          and all(0 <= i < rhs.ndim for i in tuple(rc) + tuple(rb))
          and len(set(lc) | set(lb)) == len(lc) + len(lb) and len(set(rc) | set(rb)) == len(rc) + len(rb))
    if not ok:
        raise ValueError(f"dot_general: invalid dimension numbers {dimension_numbers} for shapes "
                         f"{lhs.shape} and {rhs.shape}")
    if lhs.dtype != rhs.dtype:
        raise TypeError(f"dot_general: operands must have the same dtype, got {lhs.str_short()} and "
                        f"{rhs.str_short()}")
    for a, b in zip(lc, rc):
        if lhs.shape[a] != rhs.shape[b]:
            raise ValueError(f"dot_general: contracting dimensions do not match: lhs {lhs.shape} axis {a} "
                             f"({lhs.shape[a]}) vs rhs {rhs.shape} axis {b} ({rhs.shape[b]})")
    for a, b in zip(lb, rb):
        if lhs.shape[a] != rhs.shape[b]:
            raise ValueError(f"dot_general: batch dimensions do not match: lhs {lhs.shape} axis {a} vs rhs "
                             f"{rhs.shape} axis {b}")
    shape = ([lhs.shape[i] for i in lb] + [lhs.shape[i] for i in _free(lhs.ndim, lc, lb)]
             + [rhs.shape[i] for i in _free(rhs.ndim, rc, rb)])
    return ShapedArray(shape, lhs.dtype)


def _lhs_t(ct, rhs, lhs_aval, dimension_numbers):
    (lc, rc), (lb, rb) = dimension_numbers
    return _t(ct, rhs, lhs_aval, lc, rc, lb, rb, False)


def _rhs_t(ct, lhs, rhs_aval, dimension_numbers):
    (lc, rc), (lb, rb) = dimension_numbers
    return _t(ct, lhs, rhs_aval, rc, lc, rb, lb, True)


def _t(ct, other, aval, sc, oc, sb, ob, self_is_rhs):
    from fnflow.ops.shape import transpose

    nd = aval.ndim
    s_free = _free(nd, sc, sb)
    o_free = _free(get_aval(other).ndim, oc, ob)
    nb = len(sb)
    if self_is_rhs:  # ct layout: batch, lhs(other) free, rhs(self) free
        ct_other = list(range(nb, nb + len(o_free)))
    else:  # ct layout: batch, lhs(self) free, rhs(other) free
        ct_other = list(range(nb + len(s_free), nb + len(s_free) + len(o_free)))
    res = dot_general(ct, other, ((tuple(ct_other), tuple(o_free)), (tuple(range(nb)), tuple(ob))))
    layout = list(sb) + s_free + [sc[list(oc).index(a)] for a in sorted(oc)]
    perm = tuple(int(i) for i in np.argsort(layout))
    return transpose(res, perm)


defbilinear(dot_general_p, _lhs_t, _rhs_t)


def _dot_batch(args, dims, dimension_numbers):
    lhs, rhs = args
    dl, dr = dims
    (lc, rc), (lb, rb) = dimension_numbers

    def shift(ax):
        return tuple(a + 1 for a in ax)

    if dl is not None and dr is not None:
        lhs, rhs = moveaxis(lhs, dl, 0), moveaxis(rhs, dr, 0)
        dn = ((shift(lc), shift(rc)), ((0,) + shift(lb), (0,) + shift(rb)))
        return dot_general(lhs, rhs, dn), 0
    if dl is not None:
        lhs = moveaxis(lhs, dl, 0)
        dn = ((shift(lc), tuple(rc)), (shift(lb), tuple(rb)))
        return dot_general(lhs, rhs, dn), len(lb)
    rhs = moveaxis(rhs, dr, 0)
    dn = ((tuple(lc), shift(rc)), (tuple(lb), shift(rb)))
    n_lfree = get_aval(lhs).ndim - len(lc) - len(lb)
    return dot_general(lhs, rhs, dn), len(lb) + n_lfree


dot_general_p.def_batch(_dot_batch)


def dot_general(lhs, rhs, dimension_numbers):
    """General contraction; see the module docstring for ``dimension_numbers``."""
    lhs, rhs = promote(lhs, rhs)
    (lc, rc), (lb, rb) = dimension_numbers
    dn = ((tuple(int(i) for i in lc), tuple(int(i) for i in rc)),
          (tuple(int(i) for i in lb), tuple(int(i) for i in rb)))
    return bind(dot_general_p, lhs, rhs, dimension_numbers=dn)
