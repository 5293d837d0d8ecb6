"""Nested structures of lists, tuples and dicts (leaves are everything else, None included)."""

from __future__ import annotations


def flatten(x):
    """The leaves of ``x`` in order (dicts by sorted key, as Keras's ``tree.flatten``)."""
    if isinstance(x, (list, tuple)):
        return [leaf for e in x for leaf in flatten(e)]
    if isinstance(x, dict):
        return [leaf for k in sorted(x) for leaf in flatten(x[k])]
    return [x]


def pack_sequence_as(structure, flat):
    """Rebuild ``structure`` with the leaves ``flat``."""
    it = iter(flat)

    def build(s):
        if isinstance(s, (list, tuple)):
            items = [build(e) for e in s]
            if hasattr(s, "_fields"):
                return type(s)(*items)
            return type(s)(items)
        if isinstance(s, dict):
            return {k: build(s[k]) for k in sorted(s)} if type(s) is dict else type(s)(
                (k, build(s[k])) for k in sorted(s))
        return next(it)

    return build(structure)


def map_structure(fn, x):
    """``x`` with ``fn`` applied to every leaf."""
    return pack_sequence_as(x, [fn(leaf) for leaf in flatten(x)])


def is_nested(x) -> bool:
    return isinstance(x, (list, tuple, dict))


def is_shape(x) -> bool:
    """A tuple of ints / None (a shape), as opposed to a structure of shapes."""
    return isinstance(x, tuple) and all(d is None or (isinstance(d, int) and not isinstance(d, bool))
                                        or type(d).__name__.startswith("int") for d in x)


def map_shape_structure(fn, x):
    """Apply ``fn`` to every shape (tuple of ints/None) in a structure of shapes."""
    if is_shape(x):
        return fn(x)
    if isinstance(x, (list, tuple)):
        return type(x)(map_shape_structure(fn, e) for e in x)
    if isinstance(x, dict):
        return {k: map_shape_structure(fn, v) for k, v in x.items()}
    return fn(x)
