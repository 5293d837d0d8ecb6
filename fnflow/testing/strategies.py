"""Hypothesis strategies for testing array functions (needs the ``hypothesis`` package).

Shapes stay small by default so property tests run fast. Arrays are drawn from
a random seed rather than element by element: the values are generic (no
accidental ties or zeros unless asked for), only the seed and the shape are
shrunk, and an op's domain is given by name::

    from hypothesis import given
    from fnflow.testing import strategies as fst

    @given(fst.arrays(fst.shapes(1, 2), domain="positive"))
    def test_log_exp(x):
        np.testing.assert_allclose(fnp.exp(fnp.log(x)), x)

Domain names (an explicit ``(lo, hi)`` interval works too):

================ ==========================================================
``"real"``       uniform in (-2, 2)
``"small"``      uniform in (-0.5, 0.5)
``"positive"``   uniform in (0.5, 2)
``"unit"``       uniform in (-0.9, 0.9), inside arcsin's and arctanh's domain
``"gt1"``        uniform in (1.2, 3), inside arccosh's domain
``"nonzero"``    ``"real"`` kept 0.2 away from 0
``"int"``        integers in [-3, 3] (the dtype must be an integer one)
``"bool"``       random booleans
``"invertible"`` matrices (last two axes) of full rank: singular values in
                 [1, k + 1), at least 0.5 apart (``k = min(m, n)``)
``"spd"``        symmetric positive definite matrices, eigenvalues as above
================ ==========================================================
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = ["shapes", "broadcastable_shapes", "mutually_broadcastable_shapes", "arrays", "pytrees", "DOMAINS"]

DOMAINS = {
    "real": (-2.0, 2.0),
    "small": (-0.5, 0.5),
    "positive": (0.5, 2.0),
    "unit": (-0.9, 0.9),
    "gt1": (1.2, 3.0),
    "nonzero": (-2.0, 2.0),
}
_MATRIX_DOMAINS = ("invertible", "spd")


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Array shapes with ``min_dims..max_dims`` axes of sizes ``min_side..max_side``.

    Example::

        shapes(1, 2).example()   # e.g. (3,) or (2, 4)
    """
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(shape, min_dims=0, max_dims=None, min_side=1, max_side=None):
    """Shapes that broadcast against ``shape`` (to a result at most that shape's rank + 2).

    Example::

        broadcastable_shapes((2, 3)).example()   # e.g. (3,), (1, 3), (4, 2, 1) or ()
    """
    return hnp.broadcastable_shapes(tuple(shape), min_dims=min_dims, max_dims=max_dims,
                                    min_side=min_side, max_side=max_side)


def mutually_broadcastable_shapes(n, min_dims=0, max_dims=3, min_side=1, max_side=3):
    """Tuples of ``n`` shapes that broadcast together, e.g. ``((2, 1), (3,))`` for ``n=2``.

    Example::

        mutually_broadcastable_shapes(2).example()   # e.g. ((2, 1), (3,)) or ((), (4,))
    """
    return hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=min_dims, max_dims=max_dims,
                                             min_side=min_side, max_side=max_side).map(lambda b: b.input_shapes)


def _push_away(x, points, margin):
    """Move values closer than ``margin`` to one of ``points`` out to ``point +- margin``."""
    for p in points:
        d = x - p
        near = np.abs(d) < margin
        x = np.where(near, p + np.where(d < 0, -margin, margin), x)
    return x


def _orthogonal(rng, batch, n):
    q, r = np.linalg.qr(rng.standard_normal(batch + (n, n)))
    return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


def _spectrum(rng, batch, k):
    """``k`` values in [1, k + 1), at least 0.5 apart, in random order."""
    grid = np.argsort(rng.uniform(size=batch + (k,)), axis=-1)
    return 1.0 + grid + 0.5 * rng.uniform(size=batch + (k,))


def _matrix(rng, shape, kind):
    """Matrices with well-separated singular values (or eigenvalues, for "spd").

    Separated spectra keep eigenvectors and singular vectors smooth functions
    of the matrix, so finite differences of eigh, svd and friends are accurate.
    """
    if len(shape) < 2 or (kind == "spd" and shape[-1] != shape[-2]):
        raise ValueError(f"domain {kind!r} needs {'square ' if kind == 'spd' else ''}matrices in the last two "
                         f"axes, got shape {shape}")
    batch, (m, n) = tuple(shape[:-2]), shape[-2:]
    k = min(m, n)
    u = _orthogonal(rng, batch, m)[..., :k]
    v = _orthogonal(rng, batch, n)[..., :k]
    s = _spectrum(rng, batch, k)
    if kind == "spd":
        return (u * s[..., None, :]) @ np.swapaxes(u, -1, -2)
    return (u * s[..., None, :]) @ np.swapaxes(v, -1, -2)


def _from_seed(shape, dtype, domain, avoid, margin, distinct, grid):
    dtype = np.dtype(dtype)

    def make(seed):
        rng = np.random.RandomState(seed)
        if domain == "bool" or dtype == np.bool_:
            return rng.uniform(size=shape) < 0.5
        if domain == "int" or np.issubdtype(dtype, np.integer):
            lo, hi = (-3, 3) if domain in ("int", "real") else domain
            return rng.randint(int(lo), int(hi) + 1, size=shape).astype(dtype)
        if domain in _MATRIX_DOMAINS:
            return _matrix(rng, shape, domain).astype(dtype)
        if isinstance(domain, str) and domain not in DOMAINS:
            raise ValueError(f"arrays: unknown domain {domain!r}; use one of {sorted(DOMAINS) + ['int', 'bool']} "
                             "or an interval (lo, hi)")
        lo, hi = DOMAINS[domain] if isinstance(domain, str) else domain
        size = int(np.prod(shape, dtype=np.int64))
        if distinct:  # one value per cell of an even grid: no two values closer than half a cell
            cell = (hi - lo) / max(size, 1)
            x = lo + cell * (rng.permutation(size) + 0.25 + 0.5 * rng.uniform(size=size))
            x = x.reshape(shape)
        else:
            x = rng.uniform(lo, hi, size=shape)
        if grid is not None:
            step, offset = grid
            x = offset + step * np.round((x - offset) / step)
        pts = list(avoid) + ([0.0] if domain == "nonzero" else [])
        if pts:
            x = _push_away(x, pts, 0.2 if margin is None and domain == "nonzero" else (margin or 0.1))
        return np.asarray(x, dtype)

    return st.integers(0, 2**31 - 1).map(make)


def arrays(shape, dtype=np.float64, elements=None, domain="real", avoid=(), margin=None, distinct=False,
           grid=None):
    """Arrays of ``shape`` (a tuple or a strategy of tuples) with values in an op's ``domain``.

    * ``domain``: a name from :data:`DOMAINS` or the table in this module's
      docstring (``"real"``, ``"positive"``, ``"unit"``, ``"spd"`` ...), or an
      interval ``(lo, hi)``.
    * ``avoid``: points the values keep at least ``margin`` (default 0.1) away
      from, e.g. ``avoid=(0,)`` for ``abs`` or the kinks of ``clip``.
    * ``distinct=True``: no two values of the array are closer than half of
      ``(hi - lo) / size`` (for sort, max, argmax: no ties).
    * ``grid=(step, offset)``: values snapped to ``offset + k * step``; two
      arrays on grids with different offsets never tie (for ``maximum``).
    * ``elements``: a hypothesis strategy for the elements, which replaces the
      seeded generator (and ignores ``domain``).

    Example::

        arrays((2, 3), domain="positive").example()        # float64, values in (0.5, 2)
        arrays(shapes(0, 2), np.float32, domain=(-1, 1))  # any small shape
        arrays((4,), domain="real", avoid=(0.0,), margin=0.3)
    """
    if not isinstance(shape, st.SearchStrategy):
        shape = st.just(tuple(shape))
    if elements is not None:
        return shape.flatmap(lambda s: hnp.arrays(np.dtype(dtype), s, elements=elements))
    return shape.flatmap(lambda s: _from_seed(tuple(s), dtype, domain, avoid, margin, distinct, grid))


def pytrees(leaves, max_leaves=5):
    """Pytrees (nested tuples, lists and dicts with string keys) whose leaves come from ``leaves``.

    Example::

        pytrees(arrays((2,))).example()   # e.g. {'a': [array, (array,)], 'b': array}
    """
    keys = st.sampled_from("abcdef")

    def extend(children):
        return (st.lists(children, max_size=3) | st.lists(children, max_size=3).map(tuple)
                | st.dictionaries(keys, children, max_size=3))

    return st.recursive(leaves, extend, max_leaves=max_leaves)
