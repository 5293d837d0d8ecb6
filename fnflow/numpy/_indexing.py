"""Indexing: NumPy's ``x[idx]``, ``x.at[idx]`` functional updates, take, diagonal, nonzero ...

``getitem`` follows NumPy's rules: integers, slices (any step), ``None``,
``Ellipsis``, integer arrays (lists, arrays, tracers; several of them broadcast
together, and the indexed dimensions go where the first of them stands when
they are adjacent, first otherwise), boolean masks (only with concrete values:
the result's shape depends on them) and mixtures. Slices and integers become
static ``slice``/``rev``/``reshape`` ops; all integer-array indices become one
``gather`` on their axes flattened into one.

Out-of-range indices raise ``IndexError`` when their values are known; traced
index values (under ``jit`` or ``vmap``) are clamped into range instead, as in
JAX. ``x.at[idx]`` methods, ``take`` and ``take_along_axis`` take JAX's
``mode=`` for other out-of-range rules (see ``_IndexUpdateRef``).
"""

from __future__ import annotations

import numpy as np

from fnflow.core.abstract import broadcast_shapes, get_aval, is_int
from fnflow.core.errors import FnflowError
from fnflow.core.trace import Tracer, concrete_or_none
from fnflow.ops import elementwise as E
from fnflow.ops import shape as S
from fnflow.ops._util import asvalue
from fnflow.ops.indexing import check_bounds, gather, normalize_index, scatter, scatter_strided


class NonConcreteBooleanIndexError(FnflowError, IndexError, TypeError):
    """A boolean mask index whose values are traced: the result's shape would depend on them."""


_VALID = ("only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and integer or boolean "
          "arrays are valid indices")

# ------------------------------------------------------------ index parsing


class _Entry:
    """One item of an expanded index: kind in none/slice/int/adv, the axis it reads, its value."""

    __slots__ = ("kind", "axis", "value")

    def __init__(self, kind, axis=None, value=None):
        self.kind, self.axis, self.value = kind, axis, value


def _has_tracer(seq):
    return any(isinstance(e, Tracer) or (isinstance(e, (list, tuple)) and _has_tracer(e)) for e in seq)


def _as_index_array(i):
    """An integer or boolean index array (NumPy array or tracer) for an array-like index."""
    if isinstance(i, Tracer):
        arr = i
    elif isinstance(i, (list, tuple)):
        if _has_tracer(i):
            arr = asvalue(i)
        else:
            arr = np.asarray(i)
            if arr.size == 0 and arr.dtype.kind == "f":  # x[[]] selects nothing, as in NumPy
                arr = arr.astype(np.intp)
    elif isinstance(i, (np.ndarray, np.generic)):
        arr = np.asarray(i)
    else:
        raise IndexError(f"{_VALID}; got {type(i).__name__}")
    dt = get_aval(arr).dtype
    if dt != np.bool_ and not is_int(dt):
        raise IndexError(f"arrays used as indices must be of integer (or boolean) type, got {dt}")
    return arr


def _mask_indices(mask, shape, first_axis):
    """The integer index arrays of a concrete boolean mask (its ``nonzero()``)."""
    c = concrete_or_none(mask)
    if c is None:
        raise NonConcreteBooleanIndexError(
            f"Boolean mask indexing with a traced mask {get_aval(mask).str_short()}: the shape of the result "
            f"depends on the mask's values, which are not known under this transform (jit, vmap, ...). "
            f"Use fnflow.numpy.where(mask, x, other) to select values elementwise, x.at[...] updates with "
            f"fnflow.numpy.where for masked assignment, or fnflow.numpy.nonzero(mask, size=N) for a fixed "
            f"number of indices.")
    c = np.asarray(c)
    for k, (m, n) in enumerate(zip(c.shape, shape)):
        if m != n:
            raise IndexError(f"boolean index did not match indexed array along axis {first_axis + k}; size of "
                             f"axis is {n} but size of corresponding boolean axis is {m}")
    return [a.astype(np.int32) if a.size < 2**31 - 1 else a for a in np.nonzero(c)]


def _parse(shape, idx):
    """Expand ``idx`` for an array of ``shape``.

    Returns ``(shape2, entries)``: ``shape2`` is ``shape`` with a size-1 axis
    inserted for every boolean scalar index (NumPy treats ``True`` as a 0-d
    mask over a new axis), and ``entries`` covers every axis of ``shape2``.
    """
    if not isinstance(idx, tuple):
        idx = (idx,)
    items = []  # (kind, value, n_axes)
    for i in idx:
        if i is None:
            items.append(("none", None, 0))
        elif i is Ellipsis:
            items.append(("ellipsis", None, 0))
        elif isinstance(i, slice):
            items.append(("slice", i, 1))
        elif isinstance(i, (bool, np.bool_)):
            items.append(("bool0", bool(i), 0))
        elif isinstance(i, (int, np.integer)):
            items.append(("int", int(i), 1))
        else:
            arr = _as_index_array(i)
            a = get_aval(arr)
            if a.dtype == np.bool_:
                if a.ndim == 0:
                    c = concrete_or_none(arr)
                    if c is None:
                        _mask_indices(arr, (), 0)  # raises the traced-mask error
                    items.append(("bool0", bool(c), 0))
                else:
                    items.append(("mask", arr, a.ndim))
            else:
                items.append(("adv", arr, 1))
    n_ell = sum(k == "ellipsis" for k, _, _ in items)
    if n_ell > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(n for _, _, n in items)
    if used > len(shape):
        raise IndexError(f"too many indices for array: array is {len(shape)}-dimensional, but {used} were indexed")
    fill = [("slice", slice(None), 1)] * (len(shape) - used)
    if n_ell:
        k = next(j for j, (kind, _, _) in enumerate(items) if kind == "ellipsis")
        items = items[:k] + fill + items[k + 1:]
    else:
        items = items + fill
    shape2, entries, ax = [], [], 0
    for kind, v, _ in items:
        if kind == "none":
            entries.append(_Entry("none"))
        elif kind == "bool0":
            shape2.append(1)
            entries.append(_Entry("adv", len(shape2) - 1, np.zeros(1 if v else 0, np.int32)))
        elif kind == "mask":
            nd = get_aval(v).ndim
            arrays = _mask_indices(v, shape[ax:ax + nd], ax)
            for arr in arrays:
                shape2.append(shape[ax])
                entries.append(_Entry("adv", len(shape2) - 1, arr))
                ax += 1
        else:
            shape2.append(shape[ax])
            entries.append(_Entry(kind, len(shape2) - 1, v))
            ax += 1
    if any(e.kind == "adv" for e in entries):  # with array indices, integers are array indices too
        for e in entries:
            if e.kind == "int":
                e.kind, e.value = "adv", np.asarray(e.value, np.int32)
    return tuple(shape2), entries


def _check_and_normalize(arr, n, axis):
    """Bounds-check a concrete index (IndexError) and wrap/clamp it (traced ones are clamped)."""
    check_bounds(arr, n, axis)
    return normalize_index(arr, n)


# ------------------------------------------------------ out-of-range modes

_MODES = (None, "promise_in_bounds", "clip", "drop", "fill")


def _canonical_mode(mode, op):
    """None (raise when known, clamp when traced), "clip" or "fill" (out of range is left out)."""
    if not (mode is None or isinstance(mode, str)) or mode not in _MODES:
        raise ValueError(f"{op}: unknown mode {mode!r}; valid modes are None, 'promise_in_bounds', 'clip', "
                         f"'drop' and 'fill'")
    return {None: None, "promise_in_bounds": None, "clip": "clip", "drop": "fill", "fill": "fill"}[mode]


def _wide_index(a, dt=np.int32):
    """``a`` as a signed integer array that can hold ``-n`` and ``n`` (``dt``, or int64 for wide inputs)."""
    src = np.dtype(get_aval(a).dtype)
    if src.itemsize >= 4 and src not in (np.dtype(np.int32), np.dtype(dt)):
        dt = np.int64  # int64 / uint32 / uint64 indices keep their values
    return asvalue(a, np.dtype(dt)) if isinstance(a, Tracer) else np.asarray(a, dt)


def _mode_index(a, n, axis, mode, dt=np.int32):
    """``(index, inside)``: the index array ``a`` for an axis of size ``n`` read with ``mode``.

    ``index`` is in ``[0, n)`` (negative values wrapped once). ``inside`` is the
    in-range mask (``-n <= a < n``) for mode "fill", None when every index is
    known to be in range or for the other modes.
    """
    if mode is None:
        return _check_and_normalize(a, n, axis), None
    a = _wide_index(a, dt)
    if mode == "clip":
        return normalize_index(a, n), None
    c = concrete_or_none(a)
    if c is not None:
        c = np.asarray(c)
        inside = (c >= -n) & (c < n)
        return normalize_index(c, n), None if inside.all() else inside
    return normalize_index(a, n), E.bitwise_and(E.ge(a, -n), E.lt(a, n))


def _and(m1, m2):
    if m1 is None or m2 is None:
        return m2 if m1 is None else m1
    if isinstance(m1, Tracer) or isinstance(m2, Tracer):
        return E.bitwise_and(m1, m2)
    return m1 & m2


def _reshape(a, shape):
    return S.reshape(a, shape) if isinstance(a, Tracer) else np.reshape(a, shape)


def _broadcast(a, shape):
    return S.broadcast_to(a, shape) if isinstance(a, Tracer) else np.broadcast_to(a, shape)


def default_fill_value(dtype):
    """JAX's fill for out-of-range reads: NaN (inexact), the minimum (signed), the maximum (unsigned), True."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return np.asarray(True)
    if dtype.kind == "u":
        return np.asarray(np.iinfo(dtype).max, dtype)
    if dtype.kind == "i":
        return np.asarray(np.iinfo(dtype).min, dtype)
    return np.asarray(np.nan, dtype)


def _fill(y, inside, fill_value, op):
    """``y`` with ``fill_value`` where ``inside`` is False (``inside`` broadcasts to ``y``)."""
    if inside is None:
        return y
    dtype = get_aval(y).dtype
    fill = default_fill_value(dtype) if fill_value is None else asvalue(fill_value, dtype)
    if get_aval(fill).ndim:
        raise ValueError(f"{op}: fill_value must be a scalar, got shape {get_aval(fill).shape}")
    return E.select(_broadcast(inside, get_aval(y).shape), y, fill)


def _check_fill_value(fill_value, mode, op):
    if fill_value is not None and _canonical_mode(mode, op) != "fill":
        raise ValueError(f"{op}: fill_value only applies with mode='fill' (or 'drop'), got mode={mode!r}")


def _layout(entries):
    """Where the broadcast block of the array indices goes: ``(contiguous, first_adv_position)``."""
    pos = [k for k, e in enumerate(entries) if e.kind == "adv"]
    return pos == list(range(pos[0], pos[-1] + 1)), pos[0]


def _flat_adv(arrays, sizes):
    """One flat index (row-major over ``sizes``) from broadcast per-axis indices."""
    total = int(np.prod(sizes, dtype=np.int64))
    dt = np.int64 if total >= 2**31 - 1 else np.int32
    strides = [int(np.prod(sizes[k + 1:], dtype=np.int64)) for k in range(len(sizes))]
    if all(not isinstance(a, Tracer) for a in arrays):
        return sum(np.asarray(a, dt) * s for a, s in zip(arrays, strides)).astype(dt)
    flat = None
    for a, s in zip(arrays, strides):
        a = asvalue(a, dt)
        term = E.mul(a, s) if s != 1 else a
        flat = term if flat is None else E.add(flat, term)
    return flat


def _slice_params(s, n):
    """(start, stop, step, length) of a slice on an axis of size ``n``."""
    start, stop, step = s.indices(n)
    return start, stop, step, len(range(start, stop, step))


# ------------------------------------------------------------------ getitem


def getitem(x, idx):
    """``x[idx]`` with NumPy's full basic and advanced indexing semantics."""
    x = asvalue(x)
    shape = get_aval(x).shape
    shape2, entries = _parse(shape, idx)
    if shape2 != shape:
        x = S.reshape(x, shape2)
    nd = len(shape2)
    starts, limits, strides, flips = [0] * nd, list(shape2), [1] * nd, []
    has_adv = any(e.kind == "adv" for e in entries)
    for e in entries:
        n = shape2[e.axis] if e.axis is not None else None
        if e.kind == "int":
            check_bounds(np.asarray(e.value), n, e.axis)
            j = e.value % n
            starts[e.axis], limits[e.axis] = j, j + 1
        elif e.kind == "slice":
            start, _, step, m = _slice_params(e.value, n)
            if step < 0:  # reverse the axis, then take a positive-step slice
                flips.append(e.axis)
                start, step = n - 1 - start, -step
            starts[e.axis], limits[e.axis], strides[e.axis] = start, start + (m - 1) * step + 1 if m else start, step
    if flips:
        x = S.rev(x, tuple(flips))
    x = S.slice(x, starts, limits, strides)
    sliced = get_aval(x).shape
    if not has_adv:
        out = [1 if e.kind == "none" else sliced[e.axis] for e in entries if e.kind != "int"]
        return S.reshape(x, tuple(out))
    return _gather_advanced(x, entries)


def _gather_advanced(x, entries):
    shape = get_aval(x).shape
    adv = [e for e in entries if e.kind == "adv"]
    arrays = [_check_and_normalize(e.value, shape[e.axis], e.axis) for e in adv]
    bshape = broadcast_shapes(*[get_aval(a).shape for a in arrays], op="indexing")
    adv_axes = [e.axis for e in adv]
    first = adv_axes[0]
    if len(adv) == 1:
        y = gather(x, arrays[0], first)
    else:
        # bring the indexed axes together at the first one, flatten them, and gather once
        others = [a for a in range(len(shape)) if a not in adv_axes]
        before = [a for a in others if a < first]
        after = [a for a in others if a > first]
        x = S.transpose(x, tuple(before + adv_axes + after))
        sizes = [shape[a] for a in adv_axes]
        flat_size = int(np.prod(sizes, dtype=np.int64))
        x = S.reshape(x, tuple(shape[a] for a in before) + (flat_size,) + tuple(shape[a] for a in after))
        arrays = [S.broadcast_to(a, bshape) if isinstance(a, Tracer) else np.broadcast_to(a, bshape)
                  for a in arrays]
        y = gather(x, _flat_adv(arrays, sizes), len(before))
    # y: [slice axes before the first indexed axis] + bshape + [the other slice axes]
    slices = [e for e in entries if e.kind == "slice"]
    nb = sum(1 for e in slices if e.axis < first)
    labels = [("s", id(e)) for e in slices[:nb]] + [("b", k) for k in range(len(bshape))] + \
        [("s", id(e)) for e in slices[nb:]]
    contiguous, first_pos = _layout(entries)
    target, final = [], []
    if not contiguous:
        target += [("b", k) for k in range(len(bshape))]
        final += list(bshape)
    ys = get_aval(y).shape
    for k, e in enumerate(entries):
        if e.kind == "none":
            final.append(1)
        elif e.kind == "slice":
            target.append(("s", id(e)))
            final.append(ys[labels.index(("s", id(e)))])
        elif contiguous and k == first_pos:
            target += [("b", j) for j in range(len(bshape))]
            final += list(bshape)
    y = S.transpose(y, tuple(labels.index(t) for t in target))
    return S.reshape(y, tuple(final))


# ------------------------------------------------------------------ .at[...]


def _flat_index(shape, idx, mode=None):
    """``(flat, out_shape, inside)``: indices into ``x.reshape(-1)`` of every element of ``x[idx]``.

    ``mode`` is a canonical mode (``_canonical_mode``): None raises for known
    out-of-range indices (and clamps traced ones), "clip" clamps every index
    component, "fill" also returns ``inside``, the mask (shaped ``out_shape``)
    of the elements whose every index component is in range, or None when all
    are known to be. Out-of-range components of ``flat`` are clamped.
    """
    shape2, entries = _parse(shape, idx)
    total = int(np.prod(shape2, dtype=np.int64))
    dt = np.int64 if total + 1 >= 2**31 - 1 else np.int32  # + 1: "drop" uses a spare slot past the end
    adv = [e for e in entries if e.kind == "adv"]
    arrays, masks = {}, {}
    for e in adv:
        arrays[id(e)], masks[id(e)] = _mode_index(e.value, shape2[e.axis], e.axis, mode, dt)
    bshape = broadcast_shapes(*[get_aval(a).shape for a in arrays.values()], op="indexing") if adv else ()
    contiguous, first_pos = _layout(entries) if adv else (True, -1)
    # the output dims in order: ("b", None) for the broadcast block, ("s", entry) for slices, 1 for None
    dims = [] if contiguous else [("b", None)]
    for k, e in enumerate(entries):
        if e.kind in ("none", "slice"):
            dims.append(("n", None) if e.kind == "none" else ("s", e))
        elif e.kind == "adv" and contiguous and k == first_pos:
            dims.append(("b", None))
    out_shape, pos = [], {}
    for kind, e in dims:
        if kind == "b":
            pos["b"] = len(out_shape)
            out_shape += list(bshape)
        elif kind == "s":
            pos[id(e)] = len(out_shape)
            out_shape.append(_slice_params(e.value, shape2[e.axis])[3])
        else:
            out_shape.append(1)
    rank = len(out_shape)
    flat = np.zeros((1,) * rank, dt)
    inside = None
    for e in entries:
        if e.axis is None:
            continue
        n = shape2[e.axis]
        stride = int(np.prod(shape2[e.axis + 1:], dtype=np.int64))
        if e.kind == "slice":
            start, stop, step, _ = _slice_params(e.value, n)
            p = pos[id(e)]
            comp = np.arange(start, stop, step, dtype=dt).reshape((1,) * p + (-1,) + (1,) * (rank - p - 1))
        elif e.kind == "int":
            v = e.value
            if mode is None:
                check_bounds(np.asarray(v), n, e.axis)
            elif mode == "fill" and not -n <= v < n:
                inside = np.zeros((1,) * rank, bool)  # a static out-of-range integer: nothing is in range
            comp = np.asarray(min(max(v + n if v < 0 else v, 0), max(n - 1, 0)), dt)
        else:
            a = arrays[id(e)]
            shape_a = get_aval(a).shape
            lead = (1,) * pos["b"] + (1,) * (len(bshape) - len(shape_a))
            full = lead + shape_a + (1,) * (rank - pos["b"] - len(bshape))
            comp = S.reshape(asvalue(a, dt), full) if isinstance(a, Tracer) else np.asarray(a, dt).reshape(full)
            if masks[id(e)] is not None:
                inside = _and(inside, _reshape(masks[id(e)], full))
        term = comp * stride if not isinstance(comp, Tracer) else (E.mul(comp, stride) if stride != 1 else comp)
        flat = flat + term if not isinstance(term, Tracer) and not isinstance(flat, Tracer) else E.add(flat, term)
    out_shape = tuple(out_shape)
    flat = _broadcast(flat, out_shape)
    if inside is not None:
        inside = _broadcast(inside, out_shape)
    return flat, out_shape, inside


class _IndexUpdateRef:
    """``x.at[idx]``: ``get`` and the methods that return an updated copy of ``x``.

    Every method takes JAX's keyword-only arguments:

    - ``mode``: what an out-of-range index does (negative indices in ``[-n, 0)``
      count from the end in every mode; below ``-n`` is out of range):

      * None or ``"promise_in_bounds"`` (the default): ``IndexError`` when the
        index values are known (eagerly, or constants under ``jit``); traced
        indices (under ``jit``/``vmap``) are clamped into range;
      * ``"clip"``: every index component is clamped into range, for reads
        and updates alike;
      * ``"fill"`` / ``"drop"`` (synonyms): ``get`` returns ``fill_value`` for
        the out-of-range elements, and updates at out-of-range positions are
        dropped (``x`` is unchanged there). An element is out of range when any
        of its index components is.

    - ``fill_value`` (``get`` only, with ``"fill"``/``"drop"``): a scalar, by
      default NaN for inexact dtypes, the minimum for signed integers, the
      maximum for unsigned ones and True for booleans (as JAX).
    - ``indices_are_sorted``, ``unique_indices``: performance hints in JAX;
      accepted and ignored here.
    """

    __slots__ = ("array", "index")

    def __init__(self, array, index):
        self.array, self.index = array, index

    def __repr__(self):
        return f"_IndexUpdateRef({self.array!r}, {self.index!r})"

    def get(self, *, indices_are_sorted=False, unique_indices=False, mode=None, fill_value=None):
        """``x[idx]`` (out-of-range reads follow ``mode``, see the class docstring)."""
        m = _canonical_mode(mode, "x.at[...].get")
        _check_fill_value(fill_value, mode, "x.at[...].get")
        if m is None:
            return getitem(self.array, self.index)
        x = asvalue(self.array)
        xa = get_aval(x)
        flat, out_shape, inside = _flat_index(xa.shape, self.index, m)
        if xa.size == 0:  # nothing to read: every element is out of range
            if m == "clip" and int(np.prod(out_shape, dtype=np.int64)):
                raise IndexError(f"x.at[...].get(mode='clip'): cannot clip an index into an empty array of "
                                 f"shape {xa.shape}")
            return _fill(S.broadcast_to(np.zeros((), xa.dtype), out_shape), np.zeros((), bool), fill_value,
                         "x.at[...].get")
        y = gather(S.reshape(x, (xa.size,)), flat, 0)
        return _fill(y, inside, fill_value, "x.at[...].get")

    def _update(self, how, values, mode, op):
        m = _canonical_mode(mode, f"x.at[...].{op}")
        x = asvalue(self.array)
        xa = get_aval(x)
        flat, out_shape, inside = _flat_index(xa.shape, self.index, m)
        v = asvalue(values, xa.dtype)
        try:
            v = S.broadcast_to(v, out_shape)
        except ValueError:
            raise ValueError(f"x.at[...].{op}: values of shape {get_aval(v).shape} cannot be broadcast to the "
                             f"indexed shape {out_shape}") from None
        xf = S.reshape(x, (xa.size,))
        if inside is None:
            out = scatter(xf, flat, v, 0, how)
        else:
            # dropped updates go to a spare slot past the end, which is then cut off: one scatter, every
            # combine mode, and derivatives and batching come from the existing rules
            spare = xa.size
            if isinstance(inside, Tracer) or isinstance(flat, Tracer):
                flat = E.select(inside, flat, spare)
            else:
                flat = np.where(inside, flat, spare).astype(flat.dtype)
            out = S.slice(scatter(S.pad(xf, ((0, 1),)), flat, v, 0, how), (0,), (xa.size,))
        return S.reshape(out, xa.shape)

    def set(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):  # noqa: A003
        """A copy of ``x`` with ``x[idx] = values`` (the last of duplicate indices wins)."""
        return self._update("set", values, mode, "set")

    def add(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """A copy of ``x`` with ``values`` added at ``idx`` (duplicates accumulate, as ``np.add.at``)."""
        return self._update("add", values, mode, "add")

    def multiply(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """A copy of ``x`` multiplied by ``values`` at ``idx`` (``np.multiply.at``)."""
        return self._update("mul", values, mode, "multiply")

    mul = multiply

    def divide(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """A copy of ``x`` divided by ``values`` at ``idx``."""
        return self._update("mul", E.div(1, asvalue(values)), mode, "divide")

    def min(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):  # noqa: A003
        """A copy of ``x`` with ``minimum(x[idx], values)`` at ``idx`` (``np.minimum.at``)."""
        return self._update("min", values, mode, "min")

    def max(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):  # noqa: A003
        """A copy of ``x`` with ``maximum(x[idx], values)`` at ``idx`` (``np.maximum.at``)."""
        return self._update("max", values, mode, "max")

    def apply(self, fun, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """A copy of ``x`` with ``fun(x[idx])`` at ``idx`` (for elementwise ``fun``).

        ``fun`` is applied once per position, even to a position indexed
        several times (JAX applies it once per occurrence).
        """
        m = _canonical_mode(mode, "x.at[...].apply")
        # "drop": read the clipped positions (no fill value reaches fun), then drop their updates
        current = self.get(mode="clip" if m == "fill" else mode)
        return self._update("set", fun(current), mode, "apply")


class _IndexUpdateHelper:
    """The ``.at`` property: ``x.at[idx].set(v)``, ``.add``, ``.multiply``, ``.min``, ``.max``, ``.get``.

    Functional versions of NumPy's in-place updates, with the same index
    semantics as ``x[idx]``; ``v`` is broadcast to the shape of ``x[idx]`` and
    cast to ``x``'s dtype. Every method takes JAX's ``mode=`` for out-of-range
    indices (see ``_IndexUpdateRef``).
    """

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __getitem__(self, index):
        return _IndexUpdateRef(self.array, index)

    def __repr__(self):
        return f"_IndexUpdateHelper({self.array!r})"


# ------------------------------------------------------------ take & co.


def _axis(axis, nd, op):
    if not -nd <= axis < nd:
        raise ValueError(f"{op}: axis {axis} is out of bounds for an array of rank {nd}")
    return axis % nd


def take(a, indices, axis=None, out=None, mode=None, unique_indices=False, indices_are_sorted=False,
         fill_value=None):
    """``np.take``: elements of ``a`` at ``indices`` along ``axis`` (the flattened array if None).

    ``mode``: None/"raise"/"promise_in_bounds" (concrete out-of-range indices
    raise IndexError; traced ones are clamped), "wrap" (modulo the size),
    "clip" (into range; negative indices become 0, as in NumPy and JAX) or
    "fill" (indices in ``[-n, n)`` count from the end when negative, the others
    read ``fill_value``: by default NaN for inexact dtypes, the minimum of
    signed integers, the maximum of unsigned ones, True). Note JAX's default is
    "fill"; fnflow's is NumPy's "raise". ``unique_indices`` and
    ``indices_are_sorted`` are hints, accepted and ignored.
    """
    if out is not None:
        raise TypeError("take: out= is not supported (fnflow arrays are immutable)")
    valid = (None, "raise", "wrap", "clip", "fill", "promise_in_bounds")
    if not (mode is None or isinstance(mode, str)) or mode not in valid:
        raise ValueError(f"take: unknown mode {mode!r}; valid modes are None, 'raise', 'wrap', 'clip', 'fill' and "
                         f"'promise_in_bounds'")
    if fill_value is not None and mode != "fill":
        raise ValueError(f"take: fill_value only applies with mode='fill', got mode={mode!r}")
    a = asvalue(a)
    if axis is None:
        a = S.reshape(a, (get_aval(a).size,))
        axis = 0
    axis = _axis(axis, get_aval(a).ndim, "take")
    n = get_aval(a).shape[axis]
    idx = asvalue(indices)
    if not is_int(get_aval(idx).dtype):
        raise IndexError(f"take: indices must be integers, got {get_aval(idx).str_short()}")
    inside = None
    if mode == "wrap":
        idx = np.mod(idx, n) if not isinstance(idx, Tracer) else E.rem(E.add(E.rem(idx, n), n), n)
    elif mode == "clip":
        idx = np.clip(idx, 0, n - 1) if not isinstance(idx, Tracer) else E.max(E.min(idx, n - 1), 0)
    elif mode == "fill":
        idx, inside = _mode_index(idx, n, axis, "fill")
        if n == 0:  # every index is out of range
            shape = get_aval(a).shape
            zeros = S.broadcast_to(np.zeros((), get_aval(a).dtype), shape[:axis] + get_aval(idx).shape +
                                   shape[axis + 1:])
            return _fill(zeros, np.zeros((), bool), fill_value, "take")
    y = gather(a, idx, axis)
    if inside is not None:  # the mask is shaped like the indices: put it on their axes of the result
        nd = get_aval(y).ndim
        inside = _reshape(inside, (1,) * axis + get_aval(inside).shape + (1,) * (nd - axis - get_aval(inside).ndim))
    return _fill(y, inside, fill_value, "take")


def take_along_axis(arr, indices, axis, mode=None, fill_value=None):
    """``np.take_along_axis``: ``out[..., i, ...] = arr[..., indices[..., i, ...], ...]`` along ``axis``.

    ``mode`` as in ``x.at[...].get``: None/"promise_in_bounds" (concrete
    out-of-range indices raise IndexError; traced ones are clamped), "clip"
    (negative indices count from the end, then clamp), "fill"/"drop"
    (out-of-range reads give ``fill_value``, default as in ``take``).
    """
    m = _canonical_mode(mode, "take_along_axis")
    _check_fill_value(fill_value, mode, "take_along_axis")
    arr = asvalue(arr)
    idx = asvalue(indices)
    if not is_int(get_aval(idx).dtype):
        raise IndexError(f"take_along_axis: indices must be integers, got {get_aval(idx).str_short()}")
    if axis is None:
        arr = S.reshape(arr, (get_aval(arr).size,))
        axis = 0
    aa, ia = get_aval(arr), get_aval(idx)
    if aa.ndim != ia.ndim:
        raise ValueError(f"take_along_axis: indices {ia.shape} and arr {aa.shape} must have the same number of "
                         f"dimensions")
    axis = _axis(axis, aa.ndim, "take_along_axis")
    n = aa.shape[axis]
    other = broadcast_shapes(*[tuple(1 if k == axis else d for k, d in enumerate(s)) for s in (aa.shape, ia.shape)],
                             op="take_along_axis")
    out_shape = tuple(ia.shape[axis] if k == axis else d for k, d in enumerate(other))
    arr = S.broadcast_to(arr, tuple(n if k == axis else d for k, d in enumerate(other)))
    idx, inside = _mode_index(idx, n, axis, m)
    if n == 0 and m is not None:  # nothing to read
        if m == "clip" and int(np.prod(out_shape, dtype=np.int64)):
            raise IndexError(f"take_along_axis: cannot clip an index into an empty axis {axis}")
        return _fill(S.broadcast_to(np.zeros((), aa.dtype), out_shape), np.zeros((), bool), fill_value,
                     "take_along_axis")
    idx = S.broadcast_to(idx, out_shape) if isinstance(idx, Tracer) else np.broadcast_to(idx, out_shape)
    # one flat gather: idx * stride(axis) + the position along every other axis
    shape = get_aval(arr).shape
    total = int(np.prod(shape, dtype=np.int64))
    dt = np.int64 if total >= 2**31 - 1 else np.int32
    base = np.zeros(out_shape, dt)
    for k, d in enumerate(shape):
        if k != axis:
            stride = int(np.prod(shape[k + 1:], dtype=np.int64))
            base = base + (np.arange(d, dtype=dt) * stride).reshape((1,) * k + (-1,) + (1,) * (len(shape) - k - 1))
    ax_stride = int(np.prod(shape[axis + 1:], dtype=np.int64))
    if isinstance(idx, Tracer):
        flat = E.add(E.mul(asvalue(idx, dt), ax_stride), base)
    else:
        flat = np.asarray(idx, dt) * ax_stride + base
    return _fill(gather(S.reshape(arr, (total,)), flat, 0), inside, fill_value, "take_along_axis")


def _concrete(a, fn):
    c = concrete_or_none(a)
    if c is None:
        raise NonConcreteBooleanIndexError(
            f"{fn}: the number of results depends on the values of the traced array {get_aval(a).str_short()}, "
            f"which are not known under this transform (jit, vmap, ...). Pass size=N (a fixed number of "
            f"results, padded with fill_value) or use fnflow.numpy.where(condition, x, y) instead.")
    return np.asarray(c)


def _as_out(v):
    from fnflow.core.array import as_output

    return as_output(v.astype(np.int32) if v.size < 2**31 - 1 else v)


def nonzero(a, *, size=None, fill_value=None):
    """``np.nonzero``: a tuple of index arrays, one per axis, of the nonzero elements.

    With concrete values it returns the exact result. ``size=N`` gives exactly
    ``N`` indices (the first ``N``, padded with ``fill_value``, default 0), which
    also works on traced values (under jit or vmap).
    """
    a = asvalue(a)
    shape = get_aval(a).shape
    if size is None:
        c = _concrete(a, "nonzero")
        if c.ndim == 0:
            raise ValueError("nonzero of a 0-d array is not allowed; use atleast_1d(a).nonzero()")
        return tuple(_as_out(i) for i in np.nonzero(c))
    if len(shape) == 0:
        raise ValueError("nonzero of a 0-d array is not allowed; use atleast_1d(a).nonzero()")
    from fnflow.ops.cumulative import cumsum

    size = int(size)
    total = int(np.prod(shape, dtype=np.int64))
    mask = a if get_aval(a).dtype == np.bool_ else E.ne(a, 0)
    flat_mask = S.reshape(mask, (total,))
    pos = E.sub(cumsum(E.convert_element_type(flat_mask, np.int32), 0), 1)
    # false entries (and those past size) go to a spare slot at the end, which is dropped
    target = E.min(E.select(flat_mask, pos, size), size)
    slots = scatter(np.full((size + 1,), -1, np.int32), target, np.arange(total, dtype=np.int32), 0, "set")
    found = S.slice(slots, (0,), (size,))
    missing = E.lt(found, 0)
    fill = (0,) * len(shape) if fill_value is None else (
        tuple(fill_value) if isinstance(fill_value, (tuple, list)) else (fill_value,) * len(shape))
    out = []
    for k in range(len(shape)):
        stride = int(np.prod(shape[k + 1:], dtype=np.int64))
        coord = E.int_div(found, stride) if stride > 1 else found
        coord = E.rem(coord, shape[k]) if k else coord
        out.append(E.select(missing, np.asarray(fill[k], np.int32), coord))
    return tuple(out)


def argwhere(a, *, size=None, fill_value=None):
    """``np.argwhere``: the indices of the nonzero elements, one row each."""
    a = asvalue(a)
    if get_aval(a).ndim == 0:
        return _as_out(np.argwhere(_concrete(a, "argwhere")))
    cols = nonzero(a, size=size, fill_value=fill_value)
    return S.concatenate([S.reshape(c, (-1, 1)) for c in cols], axis=1)


def flatnonzero(a, *, size=None, fill_value=None):
    """``np.flatnonzero``: the indices of the nonzero elements of the flattened array."""
    a = asvalue(a)
    return nonzero(S.reshape(a, (get_aval(a).size,)), size=size, fill_value=fill_value)[0]


def compress(condition, a, axis=None):
    """``np.compress``: the slices of ``a`` along ``axis`` where ``condition`` (concrete) is true."""
    c = _concrete(asvalue(condition), "compress").astype(bool).ravel()
    a = asvalue(a)
    if axis is None:
        a = S.reshape(a, (get_aval(a).size,))
        axis = 0
    axis = _axis(axis, get_aval(a).ndim, "compress")
    n = get_aval(a).shape[axis]
    if c.size > n:
        raise IndexError(f"compress: condition of length {c.size} is longer than axis {axis} of size {n}")
    return gather(a, np.nonzero(c)[0].astype(np.int32), axis)


def extract(condition, arr):
    """``np.extract``: the elements of ``arr`` (flattened) where ``condition`` (concrete) is true."""
    arr = asvalue(arr)
    return compress(np.ravel(_concrete(asvalue(condition), "extract")), S.reshape(arr, (get_aval(arr).size,)))


# ------------------------------------------------------------ diagonals


def diagonal(a, offset=0, axis1=0, axis2=1):
    """``np.diagonal``: the ``offset`` diagonal of axes ``axis1``/``axis2``, as the last axis.

    One strided slice of the two axes flattened (its transpose is a strided
    scatter): no gather, no mask.
    """
    a = asvalue(a)
    nd = get_aval(a).ndim
    if nd < 2:
        raise ValueError(f"diagonal requires an array of at least two dimensions, got {nd}")
    axis1, axis2 = _axis(axis1, nd, "diagonal"), _axis(axis2, nd, "diagonal")
    if axis1 == axis2:
        raise ValueError("diagonal: axis1 and axis2 cannot be the same")
    rest = [k for k in range(nd) if k not in (axis1, axis2)]
    a = S.transpose(a, tuple(rest + [axis1, axis2]))
    shape = get_aval(a).shape
    m, n = shape[-2:]
    k = int(offset)
    length = max(0, min(m, n - k) if k >= 0 else min(m + k, n))
    a = S.reshape(a, shape[:-2] + (m * n,))
    start = k if k >= 0 else -k * n
    if length == 0:
        return S.slice_in_dim(a, 0, 0, axis=len(shape) - 2)
    return S.slice_in_dim(a, start, start + (length - 1) * (n + 1) + 1, n + 1, axis=len(shape) - 2)


def diag(v, k=0):
    """``np.diag``: the ``k`` diagonal of a matrix, or a square matrix with ``v`` on that diagonal."""
    v = asvalue(v)
    nd = get_aval(v).ndim
    if nd == 2:
        return diagonal(v, k)
    if nd != 1:
        raise ValueError(f"diag: input must be 1-d or 2-d, got {nd}-d")
    k = int(k)
    n = get_aval(v).shape[0] + abs(k)
    if get_aval(v).shape[0] == 0:
        return S.reshape(S.pad(v, ((0, n * n),)), (n, n))
    start = k if k >= 0 else -k * n
    return S.reshape(scatter_strided(v, (n * n,), (start,), (n + 1,)), (n, n))


def diagflat(v, k=0):
    """``np.diagflat``: a square matrix with the flattened ``v`` on diagonal ``k``."""
    v = asvalue(v)
    return diag(S.reshape(v, (get_aval(v).size,)), k)


def trace(a, offset=0, axis1=0, axis2=1, dtype=None):
    """``np.trace``: the sum along a diagonal."""
    from fnflow.numpy._reductions import sum as _sum

    return _sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


def _tri_select(m, k, lower):
    m = asvalue(m)
    a = get_aval(m)
    if a.ndim < 2:
        raise ValueError(f"{'tril' if lower else 'triu'}: input must be at least 2-d, got {a.shape}")
    r, c = a.shape[-2:]
    mask = np.tri(r, c, k, dtype=bool) if lower else ~np.tri(r, c, k - 1, dtype=bool)
    return E.select(mask, m, np.zeros((), a.dtype))


def tril(m, k=0):
    """``np.tril``: zeros above the ``k`` diagonal of the last two axes."""
    return _tri_select(m, k, True)


def triu(m, k=0):
    """``np.triu``: zeros below the ``k`` diagonal of the last two axes."""
    return _tri_select(m, k, False)


# --------------------------------------------------- index construction


def _out(v):
    from fnflow.core.array import as_output

    return as_output(np.asarray(v))


def tril_indices(n, k=0, m=None):
    """``np.tril_indices`` (concrete index arrays)."""
    return tuple(_out(i.astype(np.int32)) for i in np.tril_indices(n, k, m))


def triu_indices(n, k=0, m=None):
    """``np.triu_indices`` (concrete index arrays)."""
    return tuple(_out(i.astype(np.int32)) for i in np.triu_indices(n, k, m))


def diag_indices(n, ndim=2):
    """``np.diag_indices`` (concrete index arrays)."""
    return tuple(_out(i.astype(np.int32)) for i in np.diag_indices(n, ndim))


def ix_(*args):
    """``np.ix_``: open-mesh index arrays (boolean ones must be concrete)."""
    out = []
    for k, a in enumerate(args):
        a = asvalue(a)
        if get_aval(a).dtype == np.bool_:
            a = _concrete(a, "ix_").nonzero()[0].astype(np.int32)
        if get_aval(a).ndim != 1:
            raise ValueError("ix_: cross index must be 1 dimensional")
        out.append(S.reshape(a, (1,) * k + (-1,) + (1,) * (len(args) - k - 1)))
    return tuple(out)


def unravel_index(indices, shape):
    """``np.unravel_index``: coordinate arrays of flat indices (concrete ones are bounds-checked)."""
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)
    idx = asvalue(indices)
    total = int(np.prod(shape, dtype=np.int64))
    c = concrete_or_none(idx)
    if c is not None:
        c = np.asarray(c)
        if c.size and (c.min() < 0 or c.max() >= total):
            raise ValueError(f"unravel_index: index {int(c.max() if c.max() >= total else c.min())} is out of "
                             f"bounds for array with size {total}")
        return tuple(_out(i.astype(get_aval(idx).dtype)) for i in np.unravel_index(c, shape))
    idx = normalize_index(idx, total)
    out = []
    for k, d in enumerate(shape):
        stride = int(np.prod(shape[k + 1:], dtype=np.int64))
        coord = E.int_div(idx, stride) if stride > 1 else idx
        out.append(E.rem(coord, d) if k else coord)
    return tuple(out)


def ravel_multi_index(multi_index, dims, mode="raise"):
    """``np.ravel_multi_index``: flat indices of coordinate arrays in an array of shape ``dims``."""
    dims = tuple(int(d) for d in dims)
    if len(multi_index) != len(dims):
        raise ValueError(f"ravel_multi_index: {len(multi_index)} coordinate arrays for {len(dims)} dimensions")
    flat = None
    for k, (i, d) in enumerate(zip(multi_index, dims)):
        i = asvalue(i)
        if mode == "wrap":
            i = E.rem(E.add(E.rem(i, d), d), d)
        elif mode == "clip":
            i = E.max(E.min(i, d - 1), 0)
        else:
            c = concrete_or_none(i)
            if c is not None and np.size(c) and (np.min(c) < 0 or np.max(c) >= d):
                raise ValueError("ravel_multi_index: invalid entry in coordinates array")
        stride = int(np.prod(dims[k + 1:], dtype=np.int64))
        term = E.mul(i, stride)
        flat = term if flat is None else E.add(flat, term)
    return flat


# ------------------------------------------------------------ registration


def _at(x):
    return _IndexUpdateHelper(x)


def _register():
    from fnflow.core.array import array_methods

    array_methods["at"] = _at


_register()

__all__ = ["take", "take_along_axis", "nonzero", "argwhere", "flatnonzero", "compress", "extract", "diagonal",
           "diag", "diagflat", "trace", "tril", "triu", "tril_indices", "triu_indices", "diag_indices", "ix_",
           "unravel_index", "ravel_multi_index", "NonConcreteBooleanIndexError"]
