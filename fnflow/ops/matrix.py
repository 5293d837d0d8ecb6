"""Matrix primitives over stacks of matrices ``(..., m, n)``.

cholesky, triangular_solve, solve, inv, det, slogdet, eigh, svd. Each runs
eagerly with ``numpy.linalg`` (which handles leading stack axes itself), so the
batching rule of every op only moves the vmapped axis to the front. Derivative
rules are written with fnflow ops, so derivatives of derivatives work.

Operands of one op share a float dtype and the same leading (stack) shape;
the public wrappers here promote and broadcast.
"""

from __future__ import annotations

import numpy as np

from fnflow.core.abstract import broadcast_shapes, float_, get_aval, is_float
from fnflow.core.primitive import Primitive, is_undefined
from fnflow.core.trace import bind
from fnflow.ops import elementwise as E
from fnflow.ops._util import asvalue, promote
from fnflow.ops.linalg import dot_general
from fnflow.ops.reduce import reduce_sum
from fnflow.ops.shape import broadcast_to, transpose
from fnflow.transforms.ad import Zero, defjvp, instantiate
from fnflow.transforms.batching import bdim_at_front

LinAlgError = np.linalg.LinAlgError

# ------------------------------------------------------------------ helpers


def mT(x):
    """Swap the last two axes."""
    nd = get_aval(x).ndim
    return transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def mm(a, b):
    """Matrix product of two stacks ``(..., m, k) @ (..., k, n)`` with the same stack shape."""
    nd = get_aval(a).ndim
    lead = tuple(range(nd - 2))
    return dot_general(a, b, (((nd - 1,), (nd - 2,)), (lead, lead)))


def _const(x, value):
    return np.asarray(value, get_aval(x).dtype)


def _eye(n, dtype):
    return np.eye(n, dtype=dtype)


def _lower_mask(n, dtype, k=0):
    return np.tril(np.ones((n, n), dtype), k)


def tril(x, k=0):
    """Lower triangle of the last two axes (a mask multiply: linear, gather-free)."""
    a = get_aval(x)
    return E.mul(x, np.tril(np.ones(a.shape[-2:], a.dtype), k))


def triu(x, k=0):
    """Upper triangle of the last two axes."""
    a = get_aval(x)
    return E.mul(x, np.triu(np.ones(a.shape[-2:], a.dtype), k))


def diag_part(x):
    """The diagonal ``(..., min(m, n))`` of a stack of matrices, via an identity mask and a sum."""
    a = get_aval(x)
    m, n = a.shape[-2:]
    x = E.mul(x, np.eye(m, n, dtype=a.dtype))
    return reduce_sum(x, (a.ndim - 2,) if m >= n else (a.ndim - 1,))


def diag_embed(v):
    """``(..., n) -> (..., n, n)`` with ``v`` on the diagonal (broadcast and mask)."""
    a = get_aval(v)
    return E.mul(_expand(v, -2), np.eye(a.shape[-1], dtype=a.dtype))


def _expand(x, axis):
    from fnflow.ops.shape import expand_dims

    return expand_dims(x, axis % (get_aval(x).ndim + 1))


def diag_sum(x):
    """Trace over the last two axes."""
    a = get_aval(x)
    return reduce_sum(E.mul(x, np.eye(*a.shape[-2:], dtype=a.dtype)), (a.ndim - 2, a.ndim - 1))


def _check_float(name, *avals):
    for a in avals:
        if not is_float(a.dtype):
            raise TypeError(f"{name}: expected floating-point arrays, got {a.str_short()}")
    if len({a.dtype for a in avals}) > 1:
        raise TypeError(f"{name}: operands must have one dtype, got {', '.join(a.str_short() for a in avals)}")


def _check_square(name, a):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name}: expected a square matrix or a stack of them (..., n, n), got shape {a.shape}")


def _float_value(x):
    x = asvalue(x)
    if not is_float(get_aval(x).dtype):
        x = E.convert_element_type(x, float_)
    return x


def _batch_front(prim):
    """Batching rule for ops whose impl handles leading stack axes: batch axis to the front."""

    def rule(args, dims, **params):
        size = next(get_aval(a).shape[d] for a, d in zip(args, dims) if d is not None)
        args = [bdim_at_front(a, d, size) for a, d in zip(args, dims)]
        out = bind(prim, *args, **params)
        return (out, [0] * len(out)) if prim.multiple_results else (out, 0)

    prim.def_batch(rule)


def _linalg_call(name, fn, *args):
    try:
        return fn(*args)
    except LinAlgError as e:
        raise LinAlgError(f"{name}: {e}") from None


# ----------------------------------------------------------------- cholesky

cholesky_p = Primitive("cholesky")
cholesky_p.def_impl(lambda a: _linalg_call("cholesky", np.linalg.cholesky, a))


@cholesky_p.def_abstract_eval
def _cholesky_abstract(a):
    _check_square("cholesky", a)
    _check_float("cholesky", a)
    return a


def _cholesky_jvp(t, L, a):
    # dL = L Phi(L^-1 sym(dA) L^-T), Phi = lower triangle with the diagonal halved
    n = get_aval(a).shape[-1]
    dt = get_aval(a).dtype
    sym = E.mul(E.add(t, mT(t)), _const(t, 0.5))
    x = triangular_solve(L, sym, left_side=True, lower=True)
    x = triangular_solve(L, x, left_side=False, lower=True, transpose_a=True)
    phi = E.mul(x, _lower_mask(n, dt, -1) + 0.5 * _eye(n, dt))
    return mm(L, phi)


defjvp(cholesky_p, _cholesky_jvp)
_batch_front(cholesky_p)


def cholesky(a):
    """Lower Cholesky factor ``L`` of a symmetric positive definite ``a`` (``a = L L^T``).

    Only the lower triangle of ``a`` is read by the computation; the derivative
    treats ``a`` as symmetric (the tangent is symmetrised).
    """
    return bind(cholesky_p, _float_value(a))


# ---------------------------------------------------------- triangular_solve

triangular_solve_p = Primitive("triangular_solve")


def _tri_op(a, lower, transpose_a):
    a = np.tril(a) if lower else np.triu(a)
    return np.swapaxes(a, -1, -2) if transpose_a else a


def _tri_impl(a, b, left_side, lower, transpose_a):
    op = _tri_op(a, lower, transpose_a)
    if left_side:
        return _linalg_call("triangular_solve", np.linalg.solve, op, b)
    # x op = b  <=>  op^T x^T = b^T
    return np.swapaxes(_linalg_call("triangular_solve", np.linalg.solve, np.swapaxes(op, -1, -2),
                                    np.swapaxes(b, -1, -2)), -1, -2)


triangular_solve_p.def_impl(_tri_impl)


@triangular_solve_p.def_abstract_eval
def _tri_abstract(a, b, left_side, lower, transpose_a):
    _check_square("triangular_solve", a)
    _check_float("triangular_solve", a, b)
    n = a.shape[-1]
    ok = b.ndim == a.ndim and b.shape[:-2] == a.shape[:-2] and (b.shape[-2] if left_side else b.shape[-1]) == n
    if not ok:
        side = "(..., n, k)" if left_side else "(..., k, n)"
        raise ValueError(f"triangular_solve: a of shape {a.shape} needs b of shape {side} with the same "
                         f"leading axes, got {b.shape}")
    return b


def _tri_jvp_a(t, x, a, b, left_side, lower, transpose_a):
    # x = A^-1 b  ->  dx = -A^-1 dA x ;  x = b A^-1  ->  dx = -x dA A^-1  (dA restricted to a's triangle)
    dt = tril(t) if lower else triu(t)
    if transpose_a:
        dt = mT(dt)
    if left_side:
        return E.neg(triangular_solve(a, mm(dt, x), left_side=True, lower=lower, transpose_a=transpose_a))
    return E.neg(triangular_solve(a, mm(x, dt), left_side=False, lower=lower, transpose_a=transpose_a))


def _tri_jvp_b(t, x, a, b, **params):
    return bind(triangular_solve_p, a, t, **params)


defjvp(triangular_solve_p, _tri_jvp_a, _tri_jvp_b)


def _tri_transpose(ct, a, b, left_side, lower, transpose_a):
    if is_undefined(a):
        raise ValueError("triangular_solve: transpose with respect to the matrix a (not linear)")
    if isinstance(ct, Zero):
        return [None, None]
    # b -> A^-1 b has the transpose c -> A^-T c (and on the right side c -> c A^-T)
    return [None, bind(triangular_solve_p, a, ct, left_side=left_side, lower=lower, transpose_a=not transpose_a)]


triangular_solve_p.def_transpose(_tri_transpose)
_batch_front(triangular_solve_p)


def triangular_solve(a, b, left_side=True, lower=True, transpose_a=False):
    """Solve ``op(a) x = b`` (``left_side``) or ``x op(a) = b`` for a triangular ``a``.

    ``op(a)`` is ``a`` or ``a^T`` (``transpose_a``); only the ``lower`` (or upper)
    triangle of ``a`` is read. ``b`` is ``(..., n, k)`` on the left side and
    ``(..., k, n)`` on the right; leading axes broadcast.
    """
    a, b = promote(_float_value(a), _float_value(b))
    a, b = _broadcast_lead(a, b, "triangular_solve")
    return bind(triangular_solve_p, a, b, left_side=bool(left_side), lower=bool(lower),
                transpose_a=bool(transpose_a))


def _broadcast_lead(a, b, name):
    sa, sb = get_aval(a).shape, get_aval(b).shape
    if len(sa) < 2 or len(sb) < 2:
        raise ValueError(f"{name}: expected matrices (..., m, n), got shapes {sa} and {sb}")
    lead = broadcast_shapes(sa[:-2], sb[:-2], op=name)
    return broadcast_to(a, lead + sa[-2:]), broadcast_to(b, lead + sb[-2:])


# -------------------------------------------------------------------- solve

solve_p = Primitive("solve")
solve_p.def_impl(lambda a, b: _linalg_call("solve", np.linalg.solve, a, b))


@solve_p.def_abstract_eval
def _solve_abstract(a, b):
    _check_square("solve", a)
    _check_float("solve", a, b)
    if b.ndim != a.ndim or b.shape[:-2] != a.shape[:-2] or b.shape[-2] != a.shape[-1]:
        raise ValueError(f"solve: a of shape {a.shape} needs b of shape (..., {a.shape[-1]}, k) with the same "
                         f"leading axes, got {b.shape}")
    return b


def _solve_jvp_a(t, x, a, b):
    return E.neg(bind(solve_p, a, mm(t, x)))


defjvp(solve_p, _solve_jvp_a, lambda t, x, a, b: bind(solve_p, a, t))


def _solve_transpose(ct, a, b):
    if is_undefined(a):
        raise ValueError("solve: transpose with respect to the matrix a (not linear)")
    if isinstance(ct, Zero):
        return [None, None]
    return [None, bind(solve_p, mT(a), ct)]


solve_p.def_transpose(_solve_transpose)
_batch_front(solve_p)


def solve(a, b):
    """Solve ``a x = b`` by LU. ``b`` is ``(n,)`` (one vector) or ``(..., n, k)``, as in NumPy 2."""
    a, b = promote(_float_value(a), _float_value(b))
    sa, sb = get_aval(a).shape, get_aval(b).shape
    if len(sa) < 2 or sa[-1] != sa[-2]:
        raise ValueError(f"solve: expected a square matrix or a stack of them (..., n, n), got shape {sa}")
    if len(sb) == 1:
        if sb[0] != sa[-1]:
            raise ValueError(f"solve: a of shape {sa} and b of shape {sb} do not match ({sa[-1]} != {sb[0]})")
        from fnflow.ops.shape import reshape

        b = broadcast_to(reshape(b, (sb[0], 1)), sa[:-2] + (sb[0], 1))
        x = bind(solve_p, a, b)
        return reshape(x, sa[:-1])
    if sb[-2] != sa[-1]:
        raise ValueError(f"solve: a of shape {sa} and b of shape {sb} do not match: b needs {sa[-1]} rows "
                         f"(b is (n,) or (..., n, k))")
    a, b = _broadcast_lead(a, b, "solve")
    return bind(solve_p, a, b)


# ---------------------------------------------------------------------- inv

inv_p = Primitive("inv")
inv_p.def_impl(lambda a: _linalg_call("inv", np.linalg.inv, a))


@inv_p.def_abstract_eval
def _inv_abstract(a):
    _check_square("inv", a)
    _check_float("inv", a)
    return a


defjvp(inv_p, lambda t, ans, a: E.neg(mm(ans, mm(t, ans))))
_batch_front(inv_p)


def inv(a):
    """Inverse of a square matrix (or of each in a stack)."""
    return bind(inv_p, _float_value(a))


# ---------------------------------------------------------- det and slogdet

det_p = Primitive("det")
det_p.def_impl(lambda a: np.linalg.det(a))


@det_p.def_abstract_eval
def _det_abstract(a):
    _check_square("det", a)
    _check_float("det", a)
    return a.update(shape=a.shape[:-2])


def _tr_inv_dot(a, t):
    # tr(A^-1 dA) = sum_ij (A^-T)_ij dA_ij: one inverse of the primal, then an elementwise product
    nd = get_aval(a).ndim
    return reduce_sum(E.mul(mT(inv(a)), t), (nd - 2, nd - 1))


defjvp(det_p, lambda t, ans, a: E.mul(ans, _tr_inv_dot(a, t)))
_batch_front(det_p)


def det(a):
    """Determinant (of each matrix in a stack). Its derivative needs ``a`` invertible."""
    return bind(det_p, _float_value(a))


slogdet_p = Primitive("slogdet", multiple_results=True)
slogdet_p.def_impl(lambda a: list(np.linalg.slogdet(a)))


@slogdet_p.def_abstract_eval
def _slogdet_abstract(a):
    _check_square("slogdet", a)
    _check_float("slogdet", a)
    out = a.update(shape=a.shape[:-2])
    return [out, out]


def _slogdet_jvp(primals, tangents):
    (a,), (t,) = primals, tangents
    sign, logdet = bind(slogdet_p, a)
    return [sign, logdet], [Zero(get_aval(sign)), _tr_inv_dot(a, instantiate(t))]


slogdet_p.def_jvp(_slogdet_jvp)
_batch_front(slogdet_p)


def slogdet(a):
    """``(sign, log|det a|)``; the sign is piecewise constant (zero derivative)."""
    return tuple(bind(slogdet_p, _float_value(a)))


# --------------------------------------------------------------------- eigh

eigh_p = Primitive("eigh", multiple_results=True)
eigh_p.def_impl(lambda a: list(_linalg_call("eigh", np.linalg.eigh, a)))


@eigh_p.def_abstract_eval
def _eigh_abstract(a):
    _check_square("eigh", a)
    _check_float("eigh", a)
    return [a.update(shape=a.shape[:-1]), a]


def _gap_inverse(d):
    """``F_ij = 1 / d_ij`` off the diagonal, 0 on it (``d`` a stack of square matrices)."""
    n = get_aval(d).shape[-1]
    eye = _eye(n, get_aval(d).dtype)
    return E.mul(E.div(_const(d, 1), E.add(d, eye)), 1 - eye)


def _eigh_jvp(primals, tangents):
    # a symmetric: dw = diag(V^T dA V), dV = V (F o (V^T dA V)), F_ij = 1/(w_j - w_i)
    (a,), (t,) = primals, tangents
    w, v = bind(eigh_p, a)
    t = instantiate(t)
    vt_dv = mm(mT(v), mm(t, v))
    f = _gap_inverse(E.sub(_expand(w, -2), _expand(w, -1)))
    return [w, v], [diag_part(vt_dv), mm(v, E.mul(f, vt_dv))]


eigh_p.def_jvp(_eigh_jvp)
_batch_front(eigh_p)


def eigh(a):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix ``a`` (read as given).

    The derivative assumes ``a`` symmetric with distinct eigenvalues.
    """
    return tuple(bind(eigh_p, _float_value(a)))


eigvalsh_p = Primitive("eigvalsh")
eigvalsh_p.def_impl(lambda a: _linalg_call("eigvalsh", np.linalg.eigvalsh, a))


@eigvalsh_p.def_abstract_eval
def _eigvalsh_abstract(a):
    _check_square("eigvalsh", a)
    _check_float("eigvalsh", a)
    return a.update(shape=a.shape[:-1])


def _eigvalsh_jvp(t, w, a):
    # only dw = diag(V^T dA V): no eigenvalue gaps, so repeated eigenvalues are fine
    _, v = bind(eigh_p, a)
    return diag_part(mm(mT(v), mm(t, v)))


defjvp(eigvalsh_p, _eigvalsh_jvp)
_batch_front(eigvalsh_p)


def eigvalsh(a):
    """Eigenvalues (ascending) of a symmetric matrix; differentiable even when they repeat."""
    return bind(eigvalsh_p, _float_value(a))


# ---------------------------------------------------------------------- svd

svd_p = Primitive("svd", multiple_results=True)


def _svd_impl(a, full_matrices):
    return list(_linalg_call("svd", np.linalg.svd, a, full_matrices))


svd_p.def_impl(_svd_impl)


@svd_p.def_abstract_eval
def _svd_abstract(a, full_matrices):
    if a.ndim < 2:
        raise ValueError(f"svd: expected a matrix or a stack of them (..., m, n), got shape {a.shape}")
    _check_float("svd", a)
    m, n = a.shape[-2:]
    k = min(m, n)
    lead = a.shape[:-2]
    um, vn = (m, n) if full_matrices else (k, k)
    return [a.update(shape=lead + (m, um)), a.update(shape=lead + (k,)), a.update(shape=lead + (vn, n))]


def _svd_jvp(primals, tangents, full_matrices):
    (a,), (t,) = primals, tangents
    u, s, vh = bind(svd_p, a, full_matrices=full_matrices)
    m, n = get_aval(a).shape[-2:]
    if full_matrices and m != n:
        raise NotImplementedError("svd: the derivative of full_matrices=True for a non-square matrix is not "
                                  "unique; use full_matrices=False")
    t = instantiate(t)
    v = mT(vh)
    dp = mm(mT(u), mm(t, v))  # U^T dA V, (k, k)
    ds = diag_part(dp)
    s_row, s_col = _expand(s, -2), _expand(s, -1)
    f = _gap_inverse(E.mul(E.add(s_row, s_col), E.sub(s_row, s_col)))  # 1 / (s_j^2 - s_i^2)
    dps = E.mul(dp, s_row)  # dP S
    sdp = E.mul(s_col, dp)  # S dP
    du = mm(u, E.mul(f, E.add(dps, mT(dps))))
    dv = mm(v, E.mul(f, E.add(sdp, mT(sdp))))
    s_inv = _safe_reciprocal(s_row)
    if m > n:  # U has columns outside span: (I - U U^T) dA V S^-1
        dav = mm(t, v)
        du = E.add(du, E.mul(E.sub(dav, mm(u, mm(mT(u), dav))), s_inv))
    if n > m:
        dau = mm(mT(t), u)
        dv = E.add(dv, E.mul(E.sub(dau, mm(v, mm(vh, dau))), s_inv))
    return [u, s, vh], [du, ds, mT(dv)]


def _safe_reciprocal(s):
    zero = E.eq(s, _const(s, 0))
    return E.select(zero, _const(s, 0), E.div(_const(s, 1), E.select(zero, _const(s, 1), s)))


svd_p.def_jvp(_svd_jvp)
_batch_front(svd_p)


def svd(a, full_matrices=False):
    """``(U, S, Vh)`` with ``a = U diag(S) Vh``; derivatives need distinct non-zero singular values."""
    return tuple(bind(svd_p, _float_value(a), full_matrices=bool(full_matrices)))


svdvals_p = Primitive("svdvals")
svdvals_p.def_impl(lambda a: _linalg_call("svdvals", np.linalg.svd, a, False, False))


@svdvals_p.def_abstract_eval
def _svdvals_abstract(a):
    return _svd_abstract(a, False)[1]


def _svdvals_jvp(t, s, a):
    # only dS = diag(U^T dA V): repeated singular values are fine
    u, _, vh = bind(svd_p, a, full_matrices=False)
    return diag_part(mm(mT(u), mm(t, mT(vh))))


defjvp(svdvals_p, _svdvals_jvp)
_batch_front(svdvals_p)


def svdvals(a):
    """Singular values (descending); differentiable even when they repeat (not at 0 for a norm's kink)."""
    return bind(svdvals_p, _float_value(a))


__all__ = ["cholesky", "triangular_solve", "solve", "inv", "det", "slogdet", "eigh", "eigvalsh", "svd", "svdvals",
           "tril", "triu", "diag_part", "diag_embed", "diag_sum", "mm", "mT", "LinAlgError"]
