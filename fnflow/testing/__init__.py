"""Testing helpers: numerical gradient checks for fnflow functions.

:func:`check_grads` verifies a function's forward-mode (``jvp``) and
reverse-mode (``vjp``) derivatives against central finite differences and
against each other, to any order::

    import fnflow.numpy as fnp
    from fnflow.testing import check_grads

    check_grads(fnp.tanh, (np.linspace(-1, 1, 5),), order=2)

Hypothesis strategies for shapes, arrays in an op's domain and pytrees live in
:mod:`fnflow.testing.strategies` (which needs the ``hypothesis`` package).
"""

from __future__ import annotations

import numpy as np

from fnflow.core import tree as tu

__all__ = ["check_grads", "check_jvp", "check_vjp", "default_tolerance", "default_eps", "numerical_jvp"]

# Central differences have error ~eps**2 (truncation) + ulp/eps (rounding); these
# balance the two for each precision.
_EPS = {np.dtype(np.float16): 3e-2, np.dtype(np.float32): 3e-3, np.dtype(np.float64): 1e-4}
_TOL = {np.dtype(np.float16): 5e-2, np.dtype(np.float32): 1e-2, np.dtype(np.float64): 1e-5}
_SEED = 0


def _inexact(x) -> bool:
    return np.issubdtype(np.asarray(x).dtype, np.inexact)


def _float_leaves(tree):
    return [np.asarray(x) for x in tu.tree_leaves(tree) if _inexact(x)]


def _lowest_dtype(leaves):
    """The least precise floating dtype among ``leaves`` (float64 when there are none)."""
    dts = [np.asarray(x).dtype for x in leaves if _inexact(x)]
    if not dts:
        return np.dtype(np.float64)
    return max(dts, key=lambda d: np.finfo(d).eps)


def default_tolerance(dtype) -> float:
    """The default ``atol`` and ``rtol`` of the checks for values of ``dtype``."""
    return _TOL.get(np.dtype(dtype), 1e-5)


def default_eps(dtype) -> float:
    """The default finite-difference step for inputs of ``dtype``."""
    return _EPS.get(np.dtype(dtype), 1e-4)


def _as_arrays(tree):
    return tu.tree_map(lambda x: np.array(x), tree)


def _random_like(rng, tree):
    """A pytree of standard-normal values shaped like ``tree`` (zeros for integer leaves)."""

    def one(x):
        x = np.asarray(x)
        if not _inexact(x):
            return np.zeros(x.shape, x.dtype)
        return np.asarray(rng.standard_normal(x.shape), x.dtype)

    return tu.tree_map(one, tree)


def _axpy(a, x, y):
    """``a * x + y`` on the floating leaves of two pytrees (integer leaves of ``y`` kept)."""

    def one(xi, yi):
        yi = np.asarray(yi)
        if not _inexact(yi):
            return yi
        return np.asarray(yi + a * np.asarray(xi), yi.dtype)

    return tu.tree_map(one, x, y)


def _inner(xs, ys) -> tuple[float, float]:
    """``<xs, ys>`` over floating leaves, and the sum of |products| (the scale of its rounding)."""
    x_leaves, x_tree = tu.tree_flatten(xs)
    try:
        y_leaves = x_tree.flatten_up_to(ys)  # a None cotangent (integer input) stays in its place
    except ValueError as e:
        raise AssertionError(f"cotangents do not match the structure of the arguments: {e}") from None
    total, scale = 0.0, 0.0
    for x, y in zip(x_leaves, y_leaves):
        if y is None or not (_inexact(x) and _inexact(y)):
            continue
        p = np.asarray(x, np.float64) * np.asarray(y, np.float64)
        total += float(np.sum(p))
        scale += float(np.sum(np.abs(p)))
    return total, scale


def numerical_jvp(f, args, tangents, eps=None):
    """Central difference ``(f(args + eps t) - f(args - eps t)) / (2 eps)`` on pytrees.

    ``args`` is the tuple of positional arguments; integer outputs give zeros.
    """
    if eps is None:
        eps = default_eps(_lowest_dtype(tu.tree_leaves(args)))
    hi = f(*_axpy(eps, tangents, args))
    lo = f(*_axpy(-eps, tangents, args))

    def one(h, l):
        h, l = np.asarray(h), np.asarray(l)
        if not _inexact(h):
            return np.zeros(h.shape, h.dtype)
        return np.asarray((h.astype(np.float64) - l) / (2 * eps), h.dtype)

    return tu.tree_map(one, hi, lo)


def _assert_close(actual, expected, atol, rtol, what):
    """Elementwise ``|actual - expected| <= atol + rtol |expected|`` over the floating leaves."""
    a_leaves, a_tree = tu.tree_flatten(actual)
    e_leaves, e_tree = tu.tree_flatten(expected)
    if a_tree != e_tree:
        raise AssertionError(f"{what}: structures differ: {a_tree} vs {e_tree}")
    for i, (a, e) in enumerate(zip(a_leaves, e_leaves)):
        a, e = np.asarray(a), np.asarray(e)
        if a.shape != e.shape:
            raise AssertionError(f"{what}: leaf {i} has shape {a.shape}, expected {e.shape}")
        if not (_inexact(a) and _inexact(e)):
            continue
        if a.dtype != e.dtype:
            raise AssertionError(f"{what}: leaf {i} has dtype {a.dtype}, expected {e.dtype}")
        a64, e64 = a.astype(np.float64), e.astype(np.float64)
        if not (np.all(np.isfinite(a64) == np.isfinite(e64))):
            raise AssertionError(f"{what}: leaf {i} has non-finite values where the other has finite ones:\n"
                                 f"  got      {a}\n  expected {e}")
        fin = np.isfinite(e64)
        err = np.abs(a64 - e64)[fin]
        bound = (atol + rtol * np.abs(e64))[fin]
        if err.size and np.any(err > bound):
            k = int(np.argmax(err - bound))
            raise AssertionError(
                f"{what}: leaf {i} (shape {a.shape}) differs: max abs error {err.max():.3g}, "
                f"tolerance atol={atol:g} + rtol={rtol:g}*|expected| (worst element: got {a64[fin][k]:.9g}, "
                f"expected {e64[fin][k]:.9g})\n  got      {a}\n  expected {e}")


def _tols(args, out, atol, rtol, eps):
    # the least precise of the inputs and outputs sets the precision a check can expect
    dt = _lowest_dtype(tu.tree_leaves(args) + tu.tree_leaves(out))
    tol = default_tolerance(dt)
    return (tol if atol is None else atol, tol if rtol is None else rtol, default_eps(dt) if eps is None else eps)


def check_jvp(f, f_jvp, args, atol=None, rtol=None, eps=None, err_msg="", rng=None):
    """Check ``f_jvp(primals, tangents) -> (out, tangent_out)`` against ``f`` by a central difference.

    The tangent is a random normal direction (seeded, so the check is deterministic).
    """
    rng = np.random.RandomState(_SEED) if rng is None else rng
    args = tuple(_as_arrays(args))
    tangents = _random_like(rng, args)
    out, t_out = f_jvp(args, tangents)
    atol, rtol, eps = _tols(args, out, atol, rtol, eps)
    _assert_close(out, f(*args), atol, rtol, f"{err_msg}primal output of the JVP")
    t_num = numerical_jvp(f, args, tangents, eps)
    _assert_close(t_out, t_num, atol, rtol, f"{err_msg}JVP tangent vs central difference (eps={eps:g})")


def check_vjp(f, f_vjp, args, atol=None, rtol=None, eps=None, err_msg="", rng=None, f_jvp=None):
    """Check ``f_vjp(*args) -> (out, pullback)`` by the identity ``<ct, J v> = <J^T ct, v>``.

    ``J v`` comes from ``f_jvp(primals, tangents)`` when given (an exact check),
    else from a central difference of ``f``. ``v`` and ``ct`` are random normal.
    """
    rng = np.random.RandomState(_SEED) if rng is None else rng
    args = tuple(_as_arrays(args))
    v = _random_like(rng, args)
    out, pullback = f_vjp(*args)
    atol, rtol, eps = _tols(args, out, atol, rtol, eps)
    _assert_close(out, f(*args), atol, rtol, f"{err_msg}primal output of the VJP")
    ct = _random_like(rng, out)
    ct_in = pullback(ct)
    if f_jvp is not None:
        jv, how = f_jvp(args, v)[1], "the JVP"
    else:
        jv, how = numerical_jvp(f, args, v, eps), f"a central difference (eps={eps:g})"
    lhs, lscale = _inner(ct, jv)
    rhs, rscale = _inner(v, ct_in)
    scale = max(lscale, rscale, abs(lhs))
    err = abs(lhs - rhs)
    if not err <= atol + rtol * scale:
        raise AssertionError(
            f"{err_msg}VJP vs {how}: <ct, J v> = {lhs:.9g} but <J^T ct, v> = {rhs:.9g}; "
            f"max error {err:.3g} > tolerance {atol:g} + {rtol:g}*{scale:.3g}")


def check_grads(f, args, order=2, modes=("fwd", "rev"), atol=None, rtol=None, eps=None):
    """Check the derivatives of ``f`` at ``args`` up to ``order``, as JAX's ``check_grads``.

    ``args`` is a tuple of positional arguments (pytrees of arrays). Integer
    leaves are passed through and not differentiated. For each mode in
    ``modes``:

    * ``"fwd"``: ``fnflow.jvp`` along a random direction against a central
      finite difference;
    * ``"rev"``: ``fnflow.vjp`` against the JVP by ``<ct, J v> = <J^T ct, v>``
      (against a finite difference when ``"fwd"`` is not in ``modes``).

    For ``order > 1`` the same checks are applied to the functions
    ``(primals, tangents) -> jvp(f, primals, tangents)`` and
    ``(*primals, ct) -> vjp(f, *primals)[1](ct)``, so second derivatives are the
    derivatives of the first-order rules. Tolerances and the step default by
    the least precise floating dtype among the inputs and outputs (float64:
    1e-5 and 1e-4; float32: 1e-2 and 3e-3).
    Random directions come from a fixed seed. A failing check raises
    ``AssertionError`` naming the mode, the order, the error and the tolerance.

    Example::

        check_grads(lambda x, y: fnp.sin(x) * y, (np.ones(3), np.arange(3.0)), order=2)
    """
    import fnflow

    modes = tuple(modes)
    bad = set(modes) - {"fwd", "rev"}
    if bad:
        raise ValueError(f"check_grads: unknown modes {sorted(bad)}; use 'fwd' and/or 'rev'")
    if not isinstance(args, (tuple, list)):
        raise TypeError(f"check_grads: args must be a tuple of positional arguments, got {type(args).__name__}")
    rng = np.random.RandomState(_SEED)
    tol = dict(atol=atol, rtol=rtol, eps=eps)

    def jvp_of(g):
        return lambda primals, tangents: fnflow.jvp(g, tuple(primals), tuple(tangents))

    def rec(g, g_args, k, desc):
        n = order - k + 1  # the order of the derivatives checked at this level
        g_args = tuple(_as_arrays(g_args))
        if "fwd" in modes:
            check_jvp(g, jvp_of(g), g_args, err_msg=f"order {n}, fwd mode, jvp({desc}): ", rng=rng, **tol)
            if k > 1:
                rec(jvp_of(g), (g_args, _random_like(rng, g_args)), k - 1, f"jvp({desc})")
        if "rev" in modes:
            check_vjp(g, lambda *a: fnflow.vjp(g, *a), g_args, err_msg=f"order {n}, rev mode, vjp({desc}): ",
                      rng=rng, f_jvp=jvp_of(g) if "fwd" in modes else None, **tol)
            if k > 1:
                def g_vjp(primals, ct):
                    return fnflow.vjp(g, *primals)[1](ct)

                rec(g_vjp, (g_args, _random_like(rng, g(*g_args))), k - 1, f"vjp({desc})")

    if order < 1:
        raise ValueError(f"check_grads: order must be >= 1, got {order}")
    rec(f, args, order, getattr(f, "__name__", "f"))
