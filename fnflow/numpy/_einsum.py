"""einsum: Einstein summation lowered to dot_general, transpose, reshape and reduce_sum.

Because only existing primitives are used, einsum is differentiable to any
order and batchable with no rules of its own. The steps:

1. parse the subscripts (explicit ``->`` output or NumPy's implicit one,
   ``...`` for broadcast axes aligned from the right);
2. per operand: take diagonals of repeated labels (multiply by an identity mask
   and sum one of the two axes: gather-free), drop size-1 axes that broadcast
   against a larger size elsewhere, and sum labels used by no one else;
3. contract operands pairwise (left to right, or greedily by smallest
   intermediate with ``optimize``), each pair in one ``dot_general`` whose batch
   axes are the labels still needed later;
4. transpose to the requested output order.
"""

from __future__ import annotations

import string

import numpy as np

from fnflow.core.abstract import get_aval
from fnflow.ops import elementwise as E
from fnflow.ops._util import promote
from fnflow.ops.linalg import dot_general
from fnflow.ops.reduce import reduce_sum
from fnflow.ops.shape import reshape, transpose

_ELL = "\x00"  # prefix of the labels that stand for the axes of an ellipsis


def _ell(k):
    """Label of the ellipsis axis ``k`` places from the right of the broadcast dims."""
    return f"{_ELL}{k}"


def _parse_term(term, ndim, i):
    if term.count("...") > 1:
        raise ValueError(f"einsum: operand {i} subscripts {term!r} contain more than one ellipsis")
    if "..." in term:
        pre, post = term.split("...")
        n_ell = ndim - len(pre) - len(post)
        if n_ell < 0:
            raise ValueError(f"einsum: operand {i} has {ndim} axes, fewer than the {len(pre) + len(post)} "
                             f"labels in {term!r}")
        labels = list(pre) + [_ell(n_ell - 1 - j) for j in range(n_ell)] + list(post)
    else:
        if len(term) != ndim:
            raise ValueError(f"einsum: operand {i} has {ndim} axes but its subscripts {term!r} name {len(term)}")
        labels = list(term)
    for c in term.replace("...", ""):
        if not c.isalpha():
            raise ValueError(f"einsum: invalid subscript {c!r} in {term!r} (letters and '...' only)")
    return labels, sum(lb[0] == _ELL for lb in labels)


def _parse(subscripts, shapes):
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        lhs, out = subscripts.split("->", 1)
        if "->" in out:
            raise ValueError(f"einsum: more than one '->' in {subscripts!r}")
    else:
        lhs, out = subscripts, None
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: {len(terms)} operand subscripts in {subscripts!r} but {len(shapes)} operands")
    ins, n_ell = [], 0
    for i, (term, shape) in enumerate(zip(terms, shapes)):
        labels, k = _parse_term(term, len(shape), i)
        ins.append(labels)
        n_ell = max(n_ell, k)
    ell_labels = [_ell(k) for k in reversed(range(n_ell))]
    if out is None:  # implicit: broadcast axes, then the labels used once, in alphabetical order
        counts = {}
        for labels in ins:
            for lb in labels:
                counts[lb] = counts.get(lb, 0) + 1
        outs = ell_labels + sorted(lb for lb, c in counts.items() if c == 1 and lb[0] != _ELL)
    else:
        if out.count("...") > 1:
            raise ValueError(f"einsum: output subscripts {out!r} contain more than one ellipsis")
        pre, _, post = out.partition("...")
        for c in pre + post:
            if not c.isalpha():
                raise ValueError(f"einsum: invalid output subscript {c!r} in {out!r}")
        outs = list(pre) + (ell_labels if "..." in out else []) + list(post)
        seen = set()
        used = {lb for labels in ins for lb in labels}
        for lb in outs:
            if lb in seen:
                raise ValueError(f"einsum: output subscript {lb!r} appears more than once in {out!r}")
            if lb not in used:
                raise ValueError(f"einsum: output subscript {lb!r} in {out!r} appears in no input")
            seen.add(lb)
    return ins, outs


def _sizes(ins, shapes):
    sizes = {}
    for i, (labels, shape) in enumerate(zip(ins, shapes)):
        for lb, d in zip(labels, shape):
            old = sizes.get(lb)
            if old is None or old == 1:
                sizes[lb] = d
            elif d != 1 and d != old:
                name = "an ellipsis axis" if lb[0] == _ELL else f"label {lb!r}"
                raise ValueError(f"einsum: {name} has size {old} in one operand and {d} in operand {i} "
                                 f"(shapes {', '.join(str(tuple(s)) for s in shapes)})")
    return sizes


def _diagonal(x, labels, i):
    """Merge repeated labels of one operand by taking the diagonal."""
    while True:
        dup = next((lb for lb in labels if labels.count(lb) > 1), None)
        if dup is None:
            return x, labels
        a = labels.index(dup)
        b = labels.index(dup, a + 1)
        shape = get_aval(x).shape
        if shape[a] != shape[b]:
            raise ValueError(f"einsum: label {dup!r} repeated in operand {i} with sizes {shape[a]} and {shape[b]}")
        mask_shape = [1] * len(shape)
        mask_shape[a] = mask_shape[b] = shape[a]
        x = reduce_sum(E.mul(x, np.eye(shape[a], dtype=get_aval(x).dtype).reshape(mask_shape)), (b,))
        labels = labels[:b] + labels[b + 1:]


def _sum_out(x, labels, drop):
    axes = tuple(i for i, lb in enumerate(labels) if lb in drop)
    if not axes:
        return x, labels
    return reduce_sum(x, axes), [lb for lb in labels if lb not in drop]


def _contract(x, xl, y, yl, keep):
    """One pairwise contraction; the labels in ``keep`` survive (as batch axes if shared)."""
    x, xl = _sum_out(x, xl, {lb for lb in xl if lb not in yl and lb not in keep})
    y, yl = _sum_out(y, yl, {lb for lb in yl if lb not in xl and lb not in keep})
    common = [lb for lb in xl if lb in yl]
    batch = [lb for lb in common if lb in keep]
    contract = [lb for lb in common if lb not in keep]
    dn = ((tuple(xl.index(lb) for lb in contract), tuple(yl.index(lb) for lb in contract)),
          (tuple(xl.index(lb) for lb in batch), tuple(yl.index(lb) for lb in batch)))
    out = dot_general(x, y, dn)
    labels = batch + [lb for lb in xl if lb not in common] + [lb for lb in yl if lb not in common]
    return out, labels


def _pair_cost(xl, yl, keep, sizes):
    out = [lb for lb in dict.fromkeys(xl + yl) if lb in keep]
    return int(np.prod([sizes[lb] for lb in out], dtype=np.int64))


def _interleaved(args):
    """``einsum(op0, sublist0, op1, sublist1, ..., [out])`` -> subscripts and operands."""
    def letters(sub):
        out = []
        for s in sub:
            if s is Ellipsis:
                out.append("...")
            else:
                out.append(string.ascii_letters[int(s)])
        return "".join(out)

    args = list(args)
    out = letters(args.pop()) if len(args) % 2 else None
    ops, subs = args[0::2], args[1::2]
    spec = ",".join(letters(s) for s in subs) + ("" if out is None else "->" + out)
    return spec, ops


def einsum(subscripts, *operands, optimize=False, dtype=None, precision=None):
    """Einstein summation, as ``numpy.einsum``.

    Explicit (``'ij,jk->ik'``) and implicit (``'ij,jk'``) outputs, ``...``,
    repeated labels within an operand (diagonals), labels summed within one
    operand, and any number of operands. ``optimize`` (True / 'greedy')
    contracts the pair with the smallest intermediate first; otherwise left
    to right. ``precision`` is accepted for JAX compatibility and ignored.
    """
    if not isinstance(subscripts, str):
        subscripts, operands = _interleaved((subscripts,) + operands)
    if not operands:
        raise ValueError("einsum: at least one operand is required")
    operands = promote(*operands) if dtype is None else promote(*operands, dtype=dtype)
    shapes = [get_aval(x).shape for x in operands]
    ins, outs = _parse(subscripts, shapes)
    sizes = _sizes(ins, shapes)

    ops = []
    for i, (x, labels) in enumerate(zip(operands, ins)):
        x, labels = _diagonal(x, labels, i)
        # size-1 axes that broadcast against a larger size elsewhere: squeeze them away
        ones = [j for j, lb in enumerate(labels) if get_aval(x).shape[j] == 1 and sizes[lb] != 1]
        if ones:
            x = reshape(x, tuple(d for j, d in enumerate(get_aval(x).shape) if j not in ones))
            labels = [lb for j, lb in enumerate(labels) if j not in ones]
        ops.append((x, labels))

    def needed(skip):
        return set(outs).union(*[set(lb) for k, (_, lb) in enumerate(ops) if k not in skip])

    # sum labels that only this operand uses
    ops = [_sum_out(x, lb, {b for b in lb if b not in needed({k})}) for k, (x, lb) in enumerate(ops)]
    while len(ops) > 1:
        if optimize and len(ops) > 2:
            pairs = [(i, j) for i in range(len(ops)) for j in range(i + 1, len(ops))]
            i, j = min(pairs, key=lambda p: _pair_cost(ops[p[0]][1], ops[p[1]][1], needed(set(p)), sizes))
        else:
            i, j = 0, 1
        keep = needed({i, j})
        new = _contract(*ops[i], *ops[j], keep)
        ops = [op for k, op in enumerate(ops) if k not in (i, j)]
        ops.insert(0 if not optimize else len(ops), new)
    x, labels = ops[0]
    x, labels = _sum_out(x, labels, {lb for lb in labels if lb not in outs})
    return transpose(x, tuple(labels.index(lb) for lb in outs))


__all__ = ["einsum"]
