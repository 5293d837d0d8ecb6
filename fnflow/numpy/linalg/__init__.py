"""fnflow.numpy.linalg: NumPy's linear algebra names over fnflow's matrix primitives.

Everything here is differentiable, batchable (leading stack axes, and ``vmap``)
and traceable. Integer inputs are promoted to fnflow's default float (float32).
Errors: a non-square or mismatched input raises ``ValueError`` naming the
function; a singular (or, for ``cholesky``, not positive definite) matrix raises
``numpy.linalg.LinAlgError`` (re-exported here as ``LinAlgError``) naming the
function, when the value is computed.

Derivatives: ``det``/``slogdet``/``inv``/``solve`` need an invertible matrix;
``eigh`` and ``svd`` need distinct eigen/singular values for the vectors (the
values alone — ``eigvalsh``, ``svdvals``, ``norm(x, 'nuc')`` — are fine with
repeated ones); ``cholesky`` treats its input as symmetric.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from fnflow.core.abstract import get_aval
from fnflow.numpy._products import matmul, tensordot  # noqa: F401
from fnflow.numpy._products import outer as _outer
from fnflow.numpy._shape import matrix_transpose, moveaxis  # noqa: F401
from fnflow.ops import elementwise as E
from fnflow.ops import matrix as M
from fnflow.ops import reduce as R
from fnflow.ops._util import asvalue, normalize_axes, promote
from fnflow.ops.shape import broadcast_to, reshape, slice_in_dim

LinAlgError = np.linalg.LinAlgError


class SlogdetResult(NamedTuple):
    sign: object
    logabsdet: object


class EighResult(NamedTuple):
    eigenvalues: object
    eigenvectors: object


class SVDResult(NamedTuple):
    U: object
    S: object
    Vh: object


def _float(x):
    return M._float_value(x)


def _need_matrix(name, x, square=False):
    shape = get_aval(x).shape
    if len(shape) < 2:
        raise ValueError(f"{name}: expected a matrix or a stack of them (..., m, n), got shape {shape}")
    if square and shape[-1] != shape[-2]:
        raise ValueError(f"{name}: expected a square matrix or a stack of them (..., n, n), got shape {shape}")


# ----------------------------------------------------------- factorizations


def cholesky(a, /, *, upper=False):
    """Cholesky factor: lower ``L`` with ``a = L L^T`` (or upper ``U = L^T`` with ``upper=True``)."""
    a = _float(a)
    _need_matrix("cholesky", a, square=True)
    # like NumPy, read only the lower triangle; building the symmetric matrix from it keeps the
    # derivative consistent with the value (the upper triangle gets a zero gradient)
    L = M.cholesky(_symmetric_from(a, "L"))
    return M.mT(L) if upper else L


def _symmetric_from(a, uplo):
    # NumPy's eigh reads one triangle; rebuilding the symmetric matrix from it keeps values and
    # derivatives consistent with that (the other triangle gets zero gradient).
    if uplo not in ("L", "U"):
        raise ValueError(f"eigh: UPLO must be 'L' or 'U', got {uplo!r}")
    if uplo == "L":
        return E.add(M.tril(a), M.mT(M.tril(a, -1)))
    return E.add(M.triu(a), M.mT(M.triu(a, 1)))


def eigh(a, UPLO="L"):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix, reading the ``UPLO`` triangle."""
    a = _float(a)
    _need_matrix("eigh", a, square=True)
    w, v = M.eigh(_symmetric_from(a, UPLO))
    return EighResult(w, v)


def eigvalsh(a, UPLO="L"):
    """Eigenvalues (ascending) of a symmetric matrix."""
    a = _float(a)
    _need_matrix("eigvalsh", a, square=True)
    return M.eigvalsh(_symmetric_from(a, UPLO))


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """Singular value decomposition ``a = U @ diag(S) @ Vh`` as ``SVDResult(U, S, Vh)``.

    Derivatives of ``U``/``Vh`` need distinct singular values and, for a
    non-square ``a``, ``full_matrices=False``.
    """
    a = _float(a)
    _need_matrix("svd", a)
    if not compute_uv:
        return svdvals(a)
    return SVDResult(*M.svd(a, full_matrices=full_matrices))


def svdvals(x, /):
    """Singular values, in descending order."""
    x = _float(x)
    _need_matrix("svdvals", x)
    return M.svdvals(x)


# ------------------------------------------------------------- solving etc.


def solve(a, b):
    """Solve ``a @ x = b``; ``b`` is ``(n,)`` or ``(..., n, k)`` (NumPy 2 rules)."""
    return M.solve(a, b)


def inv(a):
    """Matrix inverse."""
    a = _float(a)
    _need_matrix("inv", a, square=True)
    return M.inv(a)


def det(a):
    """Determinant."""
    a = _float(a)
    _need_matrix("det", a, square=True)
    return M.det(a)


def slogdet(a):
    """``SlogdetResult(sign, logabsdet)``: the sign and the log of the absolute determinant."""
    a = _float(a)
    _need_matrix("slogdet", a, square=True)
    return SlogdetResult(*M.slogdet(a))


def matrix_power(a, n):
    """``a`` raised to the integer power ``n`` (negative powers invert first)."""
    a = _float(a)
    _need_matrix("matrix_power", a, square=True)
    if not isinstance(n, (int, np.integer)):
        raise TypeError(f"matrix_power: the exponent must be an integer, got {type(n).__name__}")
    n = int(n)
    shape = get_aval(a).shape
    if n == 0:
        return broadcast_to(np.eye(shape[-1], dtype=get_aval(a).dtype), shape)
    if n < 0:
        a, n = M.inv(a), -n
    result, base = None, a
    while n:  # binary exponentiation
        if n & 1:
            result = base if result is None else M.mm(result, base)
        n >>= 1
        if n:
            base = M.mm(base, base)
    return result


def pinv(a, rcond=None, hermitian=False, *, rtol=None):
    """Moore-Penrose pseudo-inverse through the SVD; singular values <= rcond * max(S) are dropped.

    The default cutoff is NumPy's (``rcond=1e-15``). The gradient treats the set
    of kept singular values as fixed.
    """
    a = _float(a)
    _need_matrix("pinv", a)
    if rcond is None:
        rcond = 1e-15 if rtol is None else rtol
    u, s, vh = M.svd(a, full_matrices=False)
    cutoff = E.mul(R.reduce_max(s, (get_aval(s).ndim - 1,)), np.asarray(rcond, get_aval(s).dtype))
    keep = E.gt(s, _expand(cutoff, -1))
    s_inv = E.select(keep, E.div(np.ones((), get_aval(s).dtype), E.select(keep, s, 1.0)), 0.0)
    return M.mm(M.mT(vh), E.mul(_expand(s_inv, -1), M.mT(u)))


def matrix_rank(A, tol=None, hermitian=False, *, rtol=None):
    """Number of singular values above ``tol`` (default: ``max(S) * max(m, n) * eps``)."""
    A = _float(A)
    if get_aval(A).ndim < 2:
        return E.convert_element_type(R.reduce_or(E.ne(A, 0), None), np.int32)
    s = svdvals(A)
    smax = R.reduce_max(s, (get_aval(s).ndim - 1,))
    if tol is None:
        m, n = get_aval(A).shape[-2:]
        r = rtol if rtol is not None else max(m, n) * np.finfo(get_aval(A).dtype).eps
        tol = E.mul(smax, np.asarray(r, get_aval(s).dtype))
    else:
        tol = asvalue(tol, get_aval(s).dtype)
    return R.reduce_sum(E.gt(s, _expand(tol, -1)), (get_aval(s).ndim - 1,))


def cond(x, p=None):
    """Condition number (2-norm by default: ``max(S) / min(S)``; other ``p`` via ``norm(x) * norm(inv(x))``)."""
    x = _float(x)
    _need_matrix("cond", x)
    if p is None or p in (2, -2):
        s = svdvals(x)
        last = get_aval(s).ndim - 1
        hi, lo = R.reduce_max(s, (last,)), R.reduce_min(s, (last,))
        return E.div(lo, hi) if p == -2 else E.div(hi, lo)
    return E.mul(norm(x, p, axis=(-2, -1)), norm(inv(x), p, axis=(-2, -1)))


def multi_dot(arrays):
    """Product of a sequence of matrices (left to right; 1-D ends act as row/column vectors)."""
    arrays = list(arrays)
    if len(arrays) < 2:
        raise ValueError("multi_dot: expecting at least two arrays")
    out = arrays[0]
    for x in arrays[1:]:
        out = matmul(out, x)
    return out


def tensorsolve(a, b, axes=None):
    """Solve ``tensordot(a, x, x.ndim) = b`` for ``x``."""
    a, b = promote(_float(a), _float(b))
    sa, nb = get_aval(a).shape, get_aval(b).ndim
    if axes is not None:
        axes = normalize_axes(axes, len(sa), "tensorsolve")
        a = moveaxis(a, axes, tuple(range(len(sa) - len(axes), len(sa))))
        sa = get_aval(a).shape
    xshape = sa[nb:]
    n = int(np.prod(sa[:nb], dtype=np.int64))
    return reshape(M.solve(reshape(a, (n, -1)), reshape(b, (n,))), xshape)


def tensorinv(a, ind=2):
    """Inverse with respect to ``tensordot(·, ·, ind)``."""
    a = _float(a)
    sa = get_aval(a).shape
    n = int(np.prod(sa[:ind], dtype=np.int64))
    return reshape(M.inv(reshape(a, (n, -1))), sa[ind:] + sa[:ind])


# -------------------------------------------------------- array-API extras


def trace(x, /, *, offset=0, dtype=None):
    """Sum of the ``offset`` diagonal of the last two axes."""
    x = asvalue(x)
    if dtype is not None:
        x = E.convert_element_type(x, dtype)
    return R.reduce_sum(diagonal(x, offset=offset), (get_aval(x).ndim - 2,))


def diagonal(x, /, *, offset=0):
    """The ``offset`` diagonal of the last two axes (a mask multiply and a sum: no gather)."""
    x = asvalue(x)
    _need_matrix("diagonal", x)
    a = get_aval(x)
    m, n = a.shape[-2:]
    k = int(offset)
    length = max(0, min(m, n - k) if k >= 0 else min(m + k, n))
    masked = E.mul(x, np.eye(m, n, k, dtype=a.dtype))
    if k >= 0:  # entry (i, i+k) lands at column i+k
        d = R.reduce_sum(masked, (a.ndim - 2,))
        return slice_in_dim(d, k, k + length, axis=a.ndim - 2)
    d = R.reduce_sum(masked, (a.ndim - 1,))
    return slice_in_dim(d, -k, -k + length, axis=a.ndim - 2)


def vecdot(x1, x2, /, *, axis=-1):
    """Dot product of vectors along ``axis`` (broadcasting the other axes)."""
    x1, x2 = promote(x1, x2)
    prod = E.mul(x1, x2)
    nd = get_aval(prod).ndim
    n1, n2 = get_aval(x1).shape, get_aval(x2).shape
    ax = normalize_axes(axis, nd, "vecdot")[0]
    if n1[axis] != n2[axis]:
        raise ValueError(f"vecdot: shapes {n1} and {n2} differ along axis {axis}")
    return R.reduce_sum(prod, (ax,))


def outer(x1, x2, /):
    """Outer product of two vectors."""
    for x in (x1, x2):
        if get_aval(asvalue(x)).ndim != 1:
            raise ValueError(f"outer: expected 1-D vectors, got shape {get_aval(asvalue(x)).shape}")
    return _outer(x1, x2)


def cross(x1, x2, /, *, axis=-1):
    """Cross product of 3-vectors along ``axis``."""
    x1, x2 = promote(x1, x2)
    x1, x2 = moveaxis(x1, axis, -1), moveaxis(x2, axis, -1)
    if get_aval(x1).shape[-1] != 3 or get_aval(x2).shape[-1] != 3:
        raise ValueError(f"cross: both vectors must have 3 components, got {get_aval(x1).shape} and "
                         f"{get_aval(x2).shape}")

    def c(x, i):
        return slice_in_dim(x, i, i + 1, axis=get_aval(x).ndim - 1)

    from fnflow.ops.shape import concatenate

    parts = [E.sub(E.mul(c(x1, (i + 1) % 3), c(x2, (i + 2) % 3)), E.mul(c(x1, (i + 2) % 3), c(x2, (i + 1) % 3)))
             for i in range(3)]
    out = concatenate(parts, axis=-1)
    return moveaxis(out, -1, axis)


# ------------------------------------------------------------------- norms


def _expand(x, axis):
    return M._expand(x, axis)


def _safe_root(s, p=2):
    """``s ** (1/p)`` for ``s >= 0`` whose derivative at ``s == 0`` is 0 instead of nan.

    This makes the gradient of ``norm(x)`` at ``x == 0`` equal to 0 (a valid
    subgradient) rather than nan, to first and higher orders.
    """
    zero = E.eq(s, np.zeros((), get_aval(s).dtype))
    safe = E.select(zero, np.ones((), get_aval(s).dtype), s)
    root = E.sqrt(safe) if p == 2 else E.pow(safe, np.asarray(1.0 / p, get_aval(s).dtype))
    return E.select(zero, np.zeros((), get_aval(s).dtype), root)


def _keep(y, shape, axes, keepdims):
    if not keepdims:
        return y
    return reshape(y, tuple(1 if i in axes else d for i, d in enumerate(shape)))


def _vector_norm(x, ord, axes):
    ax = tuple(axes)
    if ord is None or ord == 2:
        return _safe_root(R.reduce_sum(E.mul(x, x), ax))
    if ord == np.inf:
        return R.reduce_max(E.abs(x), ax)
    if ord == -np.inf:
        return R.reduce_min(E.abs(x), ax)
    if ord == 0:
        return R.reduce_sum(E.convert_element_type(E.ne(x, 0), get_aval(x).dtype), ax)
    if ord == 1:
        return R.reduce_sum(E.abs(x), ax)
    if isinstance(ord, str):
        raise ValueError(f"norm: invalid norm order {ord!r} for vectors")
    p = float(ord)
    ax_ = E.abs(x)
    if p < 0:  # sum(|x|^p)^(1/p) for negative p (NumPy's definition; 0 entries give 0)
        return E.pow(R.reduce_sum(E.pow(ax_, np.asarray(p, get_aval(x).dtype)), ax),
                     np.asarray(1.0 / p, get_aval(x).dtype))
    return _safe_root(R.reduce_sum(E.pow(ax_, np.asarray(p, get_aval(x).dtype)), ax), p)


def _matrix_norm(x, ord, r, c):
    nd = get_aval(x).ndim
    if ord in ("fro", "f", None):
        return _safe_root(R.reduce_sum(E.mul(x, x), tuple(sorted((r, c)))))
    if ord in ("nuc", 2, -2):
        s = svdvals(moveaxis(x, (r, c), (nd - 2, nd - 1)))
        last = get_aval(s).ndim - 1
        if ord == "nuc":
            return R.reduce_sum(s, (last,))
        return R.reduce_max(s, (last,)) if ord == 2 else R.reduce_min(s, (last,))
    if ord in (1, -1, np.inf, -np.inf):
        inner, outer_ax = (r, c) if ord in (1, -1) else (c, r)  # 1: max over columns of column sums
        sums = R.reduce_sum(E.abs(x), (inner,))
        outer_ax -= outer_ax > inner
        return R.reduce_max(sums, (outer_ax,)) if ord in (1, np.inf) else R.reduce_min(sums, (outer_ax,))
    raise ValueError(f"norm: invalid norm order {ord!r} for matrices")


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector or matrix norm, as ``numpy.linalg.norm``.

    Vectors (1-D, or ``axis`` an int): ``ord`` in None/2, 1, inf, -inf, 0, or
    any real p. Matrices (2-D, or ``axis`` a pair): None/'fro', 'nuc', 1, -1, 2,
    -2, inf, -inf. With ``axis=None`` and ``ord=None`` the whole array is
    flattened (Frobenius). The gradient of the 2-norm (and of the p-norms and
    'fro') at 0 is 0 rather than nan.
    """
    x = _float(x)
    shape = get_aval(x).shape
    nd = len(shape)
    if axis is None:
        if ord is None:
            axes = tuple(range(nd))
            return _keep(_vector_norm(x, None, axes), shape, axes, keepdims)
        if nd == 1:
            axis = (0,)
        elif nd == 2:
            axis = (0, 1)
        else:
            raise ValueError(f"norm: improper number of dimensions to norm: ord={ord!r} needs a 1-D or 2-D array "
                             f"or an explicit axis, got shape {shape}")
    if isinstance(axis, (int, np.integer)):
        axis = (int(axis),)
    axis = tuple(axis)
    ax = tuple(normalize_axes(a, nd, "norm")[0] for a in axis)
    if len(ax) == 1:
        out = _vector_norm(x, ord, ax)
    elif len(ax) == 2:
        if ax[0] == ax[1]:
            raise ValueError(f"norm: duplicate axes {axis}")
        out = _matrix_norm(x, ord, *ax)
    else:
        raise ValueError(f"norm: axis must be an int or a pair of ints, got {axis}")
    return _keep(out, shape, set(ax), keepdims)


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """Vector norm over ``axis`` (all axes, flattened, by default)."""
    x = _float(x)
    shape = get_aval(x).shape
    axes = normalize_axes(axis, len(shape), "vector_norm")
    return _keep(_vector_norm(x, ord, axes), shape, set(axes), keepdims)


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """Matrix norm of the last two axes."""
    x = _float(x)
    _need_matrix("matrix_norm", x)
    return norm(x, ord, axis=(-2, -1), keepdims=keepdims)


__all__ = ["LinAlgError", "SlogdetResult", "EighResult", "SVDResult", "cholesky", "eigh", "eigvalsh", "svd",
           "svdvals", "solve", "inv", "det", "slogdet", "matrix_power", "pinv", "matrix_rank", "cond",
           "multi_dot", "tensorsolve", "tensorinv", "trace", "diagonal", "vecdot", "outer", "cross", "norm",
           "vector_norm", "matrix_norm", "matmul", "tensordot", "matrix_transpose"]
