"""Matrix products: dot, matmul, vdot, inner, outer, tensordot, einsum."""

from __future__ import annotations

from fnflow.core.abstract import get_aval
from fnflow.ops._util import asvalue, promote
from fnflow.ops.linalg import dot_general
from fnflow.ops.shape import reshape


def matmul(a, b):
    """Matrix product with NumPy's rules for 1-D operands and broadcast batch axes."""
    a, b = promote(a, b)
    sa, sb = get_aval(a).shape, get_aval(b).shape
    if not sa or not sb:
        raise ValueError(f"matmul: operands must not be scalars, got shapes {sa} and {sb}")
    a1, b1 = len(sa) == 1, len(sb) == 1
    if a1:
        a = reshape(a, (1,) + sa)
    if b1:
        b = reshape(b, sb + (1,))
    sa, sb = get_aval(a).shape, get_aval(b).shape
    if sa[-1] != sb[-2]:
        raise ValueError(f"matmul: shapes {tuple(get_aval(a).shape) if not a1 else sa[1:]} and "
                         f"{sb if not b1 else sb[:-1]} are not aligned: {sa[-1]} (last axis) != {sb[-2]} "
                         f"(second-to-last axis)")
    from fnflow.core.abstract import broadcast_shapes
    from fnflow.ops.shape import broadcast_to

    batch = broadcast_shapes(sa[:-2], sb[:-2], op="matmul")
    nb = len(batch)
    if nb and len(sb) == 2:
        # (..., M, K) @ (K, N): one 2-D GEMM over the flattened leading axes, no copy of b per batch
        out = dot_general(reshape(a, (-1, sa[-1])), b, (((1,), (0,)), ((), ())))
        out = reshape(out, sa[:-1] + (sb[-1],))
    elif nb == 0:
        out = dot_general(a, b, (((len(sa) - 1,), (0,)), ((), ())))
    else:
        a = broadcast_to(a, batch + sa[-2:]) if sa[:-2] != batch else a
        b = broadcast_to(b, batch + sb[-2:]) if sb[:-2] != batch else b
        out = dot_general(a, b, (((nb + 1,), (nb,)), (tuple(range(nb)), tuple(range(nb)))))
    shape = get_aval(out).shape
    if a1 and b1:
        return reshape(out, shape[:-2])
    if a1:
        return reshape(out, shape[:-2] + shape[-1:])
    if b1:
        return reshape(out, shape[:-1])
    return out


def dot(a, b):
    """NumPy's dot: scalars multiply, 1-D/2-D use matmul, N-D contracts a's last with b's second-to-last."""
    a, b = promote(a, b)
    na, nb = get_aval(a).ndim, get_aval(b).ndim
    if na == 0 or nb == 0:
        from fnflow.ops.elementwise import mul

        return mul(a, b)
    if nb == 1:
        return dot_general(a, b, (((na - 1,), (0,)), ((), ())))
    return dot_general(a, b, (((na - 1,), (nb - 2,)), ((), ())))


def vdot(a, b):
    """Dot product of the flattened arrays."""
    return dot(reshape(asvalue(a), (-1,)), reshape(asvalue(b), (-1,)))


def inner(a, b):
    """Contraction over the last axes of both."""
    a, b = promote(a, b)
    na, nb = get_aval(a).ndim, get_aval(b).ndim
    if na == 0 or nb == 0:
        from fnflow.ops.elementwise import mul

        return mul(a, b)
    return dot_general(a, b, (((na - 1,), (nb - 1,)), ((), ())))


def outer(a, b):
    """Outer product of the flattened arrays."""
    a, b = promote(a, b)
    return dot_general(reshape(a, (-1, 1)), reshape(b, (1, -1)), (((1,), (0,)), ((), ())))


def tensordot(a, b, axes=2):
    """Sum products over the given axes (an int n: last n of a with first n of b)."""
    a, b = promote(a, b)
    na, nb = get_aval(a).ndim, get_aval(b).ndim
    if isinstance(axes, int):
        ax_a, ax_b = tuple(range(na - axes, na)), tuple(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = (ax_a,) if isinstance(ax_a, int) else tuple(ax_a)
        ax_b = (ax_b,) if isinstance(ax_b, int) else tuple(ax_b)
    ax_a = tuple(i % na for i in ax_a)
    ax_b = tuple(i % nb for i in ax_b)
    return dot_general(a, b, ((ax_a, ax_b), ((), ())))


def kron(a, b):
    """Kronecker product."""
    a, b = promote(a, b)
    sa, sb = get_aval(a).shape, get_aval(b).shape
    nd = max(len(sa), len(sb))
    sa, sb = (1,) * (nd - len(sa)) + sa, (1,) * (nd - len(sb)) + sb
    a, b = reshape(a, sa), reshape(b, sb)
    from fnflow.ops.elementwise import mul

    ea = reshape(a, tuple(x for d in sa for x in (d, 1)))
    eb = reshape(b, tuple(x for d in sb for x in (1, d)))
    return reshape(mul(ea, eb), tuple(x * y for x, y in zip(sa, sb)))


__all__ = ["matmul", "dot", "vdot", "inner", "outer", "tensordot", "kron"]
