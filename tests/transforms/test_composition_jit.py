"""The composition matrix with ``jit`` in every position.

On a few nontrivial functions of a float64 vector (a tanh MLP with
broadcasting, max reductions, ``lax.scan``, ``lax.cond``, ``.at[].add`` with
repeated indices) every composition of ``jit`` with ``grad``, ``vmap``,
``jvp``, ``vjp``, ``jacfwd``, ``jacrev`` and ``hessian`` — jit outside, jit
inside, jit in the middle — agrees with the same composition without ``jit``,
and the derivatives of ``jit(f)`` agree with finite differences
(:func:`fnflow.testing.check_grads`). Trace counters prove that a second call
of each composition runs none of the function's Python and traces nothing
again.
"""

import functools

import numpy as np
import pytest

import fnflow
import fnflow.numpy as fnp
from fnflow import lax
from fnflow.testing import check_grads

N = 6  # every function maps a float64 vector (6,) to a scalar
_rng = np.random.default_rng(7)
_W1 = _rng.normal(size=(3, 4))
_B1 = _rng.normal(size=4)
_W2 = _rng.normal(size=(4, 2))
_IDX = np.array([0, 2, 2, 3, 0, 1], np.int32)  # repeated indices: .at[].add accumulates


def mlp(x):
    """tanh MLP: x is a batch of two rows of 3 features; bias broadcast over the batch."""
    h = fnp.tanh(fnp.reshape(x, (2, 3)) @ _W1 + _B1)
    return fnp.mean(fnp.tanh(h @ _W2) ** 2) + 0.1 * fnp.sum(x * x)


def with_max(x):
    """A full max and a max along an axis (unique maxima at the test points)."""
    m = fnp.reshape(x * fnp.sin(x), (2, 3))
    return fnp.max(x * fnp.cos(x)) + fnp.sum(fnp.max(m, axis=0) ** 2) + 0.5 * fnp.sum(x ** 2)


def with_scan(x):
    """A recurrence over the rows of x with lax.scan (carry and stacked outputs both used)."""
    def step(c, row):
        c = fnp.tanh(c * row + 0.5 * c[::-1] + 0.3)
        return c, fnp.sum(c * row)

    c, ys = lax.scan(step, np.full(2, 0.2), fnp.reshape(x, (3, 2)))
    return fnp.sum(ys ** 2) + fnp.sum(fnp.sin(c))


def with_cond(x):
    """lax.cond on a value of x: both branches are traced, the one the sign of sum(x) picks runs."""
    return lax.cond(fnp.sum(x) > 0,
                    lambda x: fnp.sum(fnp.exp(0.3 * x) * x),
                    lambda x: fnp.sum(fnp.sin(x) ** 2 * x),
                    x)


def with_at_add(x):
    """Scatter-add with repeated indices, then nonlinear reads of the result."""
    y = fnp.zeros(4, np.float64).at[_IDX].add(x * fnp.tanh(x))
    z = fnp.asarray(x).at[1:3].add(y[:2] ** 2)
    return fnp.sum(fnp.sin(y) * np.arange(1.0, 5.0)) + fnp.sum(z ** 3) / 10


FUNS = [mlp, with_max, with_scan, with_cond, with_at_add]
IDS = [f.__name__ for f in FUNS]


def _points(f, k):
    """``k`` test points; for with_cond they take both branches (sum(x) of either sign)."""
    xs = _rng.normal(size=(k, N))
    if f is with_cond:
        xs = np.abs(xs) * np.where(np.arange(k) % 2 == 0, 1.0, -1.0)[:, None]
    return xs


def close(a, b, tol=1e-10, what=""):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs {b.shape}"
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} vs {b.dtype}"
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=what)


def _counted(f):
    """``f`` with a counter of how often its Python body runs."""
    @functools.wraps(f)
    def g(x):
        g.calls += 1
        return f(x)

    g.calls = 0
    return g


# ------------------------------------------------------------------ references without jit


class Ref:
    """The un-jitted results of every composition for one function and its test points."""

    def __init__(self, f):
        self.xs = _points(f, 3)
        self.x, self.v = self.xs[0], _rng.normal(size=N)
        self.vs = _rng.normal(size=(3, N))
        self.value = f(self.x)
        self.grad = fnflow.grad(f)(self.x)
        self.hess = fnflow.hessian(f)(self.x)
        self.values = fnflow.vmap(f)(self.xs)
        self.grads = fnflow.vmap(fnflow.grad(f))(self.xs)
        self.jvp = fnflow.jvp(f, (self.x,), (self.v,))


_REFS = {}


def ref(f):
    if f not in _REFS:
        _REFS[f] = Ref(f)
    return _REFS[f]


def test_references_agree_with_loops():
    """The un-jitted references themselves: vmap agrees with a loop, jvp with the gradient."""
    for f in FUNS:
        r = ref(f)
        close(r.values, np.array([f(x) for x in r.xs]), 1e-12, f.__name__)
        close(r.grads, np.stack([fnflow.grad(f)(x) for x in r.xs]), 1e-12, f.__name__)
        close(r.jvp[1], r.grad @ r.v, 1e-12, f.__name__)
        close(r.hess, r.hess.T, 1e-10, f.__name__)


# ------------------------------------------------------------------ the matrix


def _hv(g, v):
    """``x -> <g(x), v>`` (a scalar whose gradient is H v when g is a gradient)."""
    return lambda x: fnp.vdot(g(x), v)


# name -> (build(f, jit) -> the composition, call(h, ref), expected(ref)); ``build`` makes every jitted
# function once (outside any lambda that runs per call) so that a second call can hit its cache.
g_, jf_, vm_, jvp_ = fnflow.grad, fnflow.jacfwd, fnflow.vmap, fnflow.jvp


def _on_x(h, r):
    return h(r.x)


def _on_xs(h, r):
    return h(r.xs)


def _on_xv(h, r):
    return h(r.x, r.v)


def _jvp_of(f):
    return lambda x, v: fnflow.jvp(f, (x,), (v,))


def _hvp_by_grad(g):
    return lambda x, v: fnflow.grad(_hv(g, v))(x)


MATRIX = {
    "jit": (lambda f, jit: jit(f), _on_x, lambda r: r.value),
    "jit(jit)": (lambda f, jit: jit(jit(f)), _on_x, lambda r: r.value),
    "jit(grad)": (lambda f, jit: jit(g_(f)), _on_x, lambda r: r.grad),
    "grad(jit)": (lambda f, jit: g_(jit(f)), _on_x, lambda r: r.grad),
    "value_and_grad(jit)": (lambda f, jit: fnflow.value_and_grad(jit(f)), _on_x, lambda r: (r.value, r.grad)),
    "jit(vmap)": (lambda f, jit: jit(vm_(f)), _on_xs, lambda r: r.values),
    "vmap(jit)": (lambda f, jit: vm_(jit(f)), _on_xs, lambda r: r.values),
    "jit(jvp)": (lambda f, jit: jit(_jvp_of(f)), _on_xv, lambda r: r.jvp),
    "jvp(jit)": (lambda f, jit: _jvp_of(jit(f)), _on_xv, lambda r: r.jvp),
    "vjp(jit)": (lambda f, jit: (lambda jf: lambda x: fnflow.vjp(jf, x)[1](np.float64(1.5))[0])(jit(f)), _on_x,
                 lambda r: 1.5 * r.grad),
    "jit(jacfwd)": (lambda f, jit: jit(jf_(f)), _on_x, lambda r: r.grad),
    "jacfwd(jit)": (lambda f, jit: jf_(jit(f)), _on_x, lambda r: r.grad),
    "jit(jacrev)": (lambda f, jit: jit(fnflow.jacrev(f)), _on_x, lambda r: r.grad),
    "jacrev(jit)": (lambda f, jit: fnflow.jacrev(jit(f)), _on_x, lambda r: r.grad),
    "hessian(jit)": (lambda f, jit: fnflow.hessian(jit(f)), _on_x, lambda r: r.hess),
    "jit(hessian)": (lambda f, jit: jit(fnflow.hessian(f)), _on_x, lambda r: r.hess),
    "jacfwd(jit(grad))": (lambda f, jit: jf_(jit(g_(f))), _on_x, lambda r: r.hess),
    "jacrev(jit(jacfwd))": (lambda f, jit: fnflow.jacrev(jit(jf_(f))), _on_x, lambda r: r.hess),
    "jit(vmap(grad))": (lambda f, jit: jit(vm_(g_(f))), _on_xs, lambda r: r.grads),
    "vmap(jit(grad))": (lambda f, jit: vm_(jit(g_(f))), _on_xs, lambda r: r.grads),
    "vmap(grad(jit))": (lambda f, jit: vm_(g_(jit(f))), _on_xs, lambda r: r.grads),
    "grad(vmap(jit))": (lambda f, jit: (lambda vf: g_(lambda xs: fnp.sum(vf(xs))))(vm_(jit(f))), _on_xs,
                        lambda r: r.grads),
    "jit(grad(vmap))": (lambda f, jit: jit(g_(lambda xs: fnp.sum(vm_(f)(xs)))), _on_xs, lambda r: r.grads),
    "grad(jit(grad))": (lambda f, jit: _hvp_by_grad(jit(g_(f))), _on_xv, lambda r: r.hess @ r.v),
    "jit(grad(grad))": (lambda f, jit: jit(_hvp_by_grad(g_(f))), _on_xv, lambda r: r.hess @ r.v),
    "grad(grad(jit))": (lambda f, jit: _hvp_by_grad(g_(jit(f))), _on_xv, lambda r: r.hess @ r.v),
    "jvp(jit(grad))": (lambda f, jit: (lambda jg: lambda x, v: jvp_(jg, (x,), (v,))[1])(jit(g_(f))), _on_xv,
                       lambda r: r.hess @ r.v),
    "jit(jvp(grad))": (lambda f, jit: jit(lambda x, v: jvp_(g_(f), (x,), (v,))[1]), _on_xv,
                       lambda r: r.hess @ r.v),
    "vmap(jit(jvp))": (lambda f, jit: vm_(jit(lambda x, v: jvp_(f, (x,), (v,))[1])), lambda h, r: h(r.xs, r.vs),
                       lambda r: np.sum(r.grads * r.vs, axis=1)),
    "jit(vmap(jit(grad)))": (lambda f, jit: jit(vm_(jit(g_(f)))), _on_xs, lambda r: r.grads),
}

# compositions that fail because of a bug in fnflow: (function name, composition) -> reason
XFAIL = {}


def _cases():
    for f in FUNS:
        for name in MATRIX:
            why = XFAIL.get((f.__name__, name))
            marks = [pytest.mark.xfail(strict=True, reason=why)] if why else []
            yield pytest.param(f, name, id=f"{f.__name__}-{name}", marks=marks)


@pytest.mark.parametrize("f,name", list(_cases()))
def test_matrix_agrees_without_jit_and_traces_once(f, name):
    build, call, expected = MATRIX[name]
    r = ref(f)
    g = _counted(f)
    jitted = []

    def jit(fun):
        jitted.append(fnflow.jit(fun))
        return jitted[-1]

    h = build(g, jit)
    want = expected(r)
    _close_tree(call(h, r), want, name)
    calls = g.calls
    traces = [j.trace_count for j in jitted]
    assert calls >= 1 and all(t >= 1 for t in traces), (calls, traces)
    _close_tree(call(h, r), want, name + " (second call)")
    assert g.calls == calls, f"{name}: the second call ran the Python of {f.__name__} again"
    assert [j.trace_count for j in jitted] == traces, f"{name}: the second call traced again"
    assert traces == [1] * len(traces), f"{name}: traced {traces} times on the first call"


def _close_tree(got, want, what):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want), f"{what}: {got!r}"
        for a, b in zip(got, want):
            _close_tree(a, b, what)
    else:
        close(got, want, 1e-10, what)


# ------------------------------------------------------------------ against finite differences


@pytest.mark.parametrize("f", FUNS, ids=IDS)
def test_jit_derivatives_against_finite_differences(f):
    """jvp/vjp of jit(f) up to order 2, and of jit(grad(f)), against central differences."""
    x = ref(f).x
    check_grads(fnflow.jit(f), (x,), order=2, modes=("fwd", "rev"))
    check_grads(fnflow.jit(fnflow.grad(f)), (x,), order=1, modes=("fwd", "rev"))
    check_grads(fnflow.vmap(fnflow.jit(f)), (ref(f).xs,), order=1, modes=("fwd", "rev"))


@pytest.mark.parametrize("f", FUNS, ids=IDS)
def test_hessian_of_jit_against_finite_differences(f):
    """hessian(jit(f)) against central differences of the eager gradient."""
    x, eps = ref(f).x, 1e-5
    g = fnflow.grad(f)
    fd = np.array([(np.asarray(g(x + eps * e)) - np.asarray(g(x - eps * e))) / (2 * eps) for e in np.eye(N)])
    close(fnflow.hessian(fnflow.jit(f))(x), fd, 1e-6, "hessian(jit)")


@pytest.mark.parametrize("f", FUNS, ids=IDS)
def test_jit_of_a_closure_over_outer_tracers(f):
    """A jitted closure over a value of an enclosing grad/vmap/jvp (the value becomes an extra input)."""
    r = ref(f)
    ones, zeros = np.ones(N), np.zeros(N)
    close(fnflow.grad(lambda x: fnflow.jit(lambda y: f(x * y))(ones))(r.x), r.grad, 1e-10, "grad")
    close(fnflow.vmap(lambda x: fnflow.jit(lambda y: f(x + y))(zeros))(r.xs), r.values, 1e-10, "vmap")
    close(fnflow.jvp(lambda x: fnflow.jit(lambda y: f(x - y))(zeros), (r.x,), (r.v,))[1], r.jvp[1], 1e-10, "jvp")
    close(fnflow.vmap(fnflow.grad(lambda x: fnflow.jit(lambda y: f(y * x))(ones)))(r.xs), r.grads, 1e-10,
          "vmap(grad)")
