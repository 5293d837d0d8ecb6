"""Jacobians and Hessians from jvp/vjp and vmap."""

from __future__ import annotations

import functools

import numpy as np

from fnflow.core import tree as tu
from fnflow.core.abstract import get_aval
from fnflow.core.errors import api_boundary
from fnflow.transforms.ad import _argnums_tuple, _as_value, _check_differentiable, jvp, vjp
from fnflow.transforms.batching import vmap


def _std_basis(leaves):
    """Rows of the identity over all leaves' elements, split back per leaf."""
    sizes = [get_aval(x).size for x in leaves]
    n = int(sum(sizes))
    dtype = np.result_type(*[get_aval(x).dtype for x in leaves]) if leaves else np.float32
    eye = np.eye(n, dtype=dtype)
    out, start = [], 0
    for x, s in zip(leaves, sizes):
        a = get_aval(x)
        out.append(eye[:, start:start + s].reshape((n,) + a.shape).astype(a.dtype))
        start += s
    return out, n


def _unravel(flat_rows, leaves, n, axis_front):
    """Split a (n, *out) or (*out, n) stacked Jacobian into per-input-leaf blocks."""
    from fnflow.numpy import reshape

    sizes = [get_aval(x).size for x in leaves]
    out, start = [], 0
    for x, s in zip(leaves, sizes):
        blk = flat_rows[start:start + s] if axis_front else flat_rows[..., start:start + s]
        shape = get_aval(x).shape
        out.append(reshape(blk, shape + get_aval(blk).shape[1:]) if axis_front
                   else reshape(blk, get_aval(blk).shape[:-1] + shape))
        start += s
    return out


def _prep(fun, args, argnums, name):
    single, nums = _argnums_tuple(argnums, len(args), name)
    for i in nums:
        _check_differentiable(args[i], i, name)
    dyn = tuple(args[i] for i in nums)

    def f_dyn(*d):
        full = list(args)
        for i, v in zip(nums, d):
            full[i] = v
        return fun(*full)

    return single, dyn, f_dyn


@api_boundary
def jacfwd(fun, argnums=0, has_aux=False):
    """Jacobian by forward mode (one jvp per input element, vectorised with vmap)."""

    @api_boundary
    @functools.wraps(fun)
    def jac(*args):
        single, dyn, f_dyn = _prep(fun, args, argnums, "jacfwd")
        leaves, tree = tu.tree_flatten(dyn)
        leaves = [_as_value(x, fun="jacfwd") for x in leaves]
        basis, n = _std_basis(leaves)
        aux_box = []

        def push(*t_leaves):
            out = jvp(lambda *ls: f_dyn(*tu.tree_unflatten(tree, ls)), tuple(leaves), tuple(t_leaves),
                      has_aux=has_aux)
            if has_aux:
                aux_box[:] = [out[2]]
            return out[1]

        tangents_out = vmap(push, in_axes=0, out_axes=-1)(*basis)
        out_jac = tu.tree_map(lambda j: _unravel(j, leaves, n, axis_front=False), tangents_out)
        res = tu.tree_map(lambda blocks: _regroup(blocks, tree, single), out_jac,
                          is_leaf=lambda x: isinstance(x, list))
        if has_aux:
            aux = jvp(lambda *ls: f_dyn(*tu.tree_unflatten(tree, ls)), tuple(leaves), tuple(basis_row(basis)),
                      has_aux=True)[2]
            return res, aux
        return res

    return jac


def basis_row(basis):
    return [b[0] for b in basis]


def _regroup(blocks, tree, single):
    g = tu.tree_unflatten(tree, blocks)
    return g[0] if single else tuple(g)


@api_boundary
def jacrev(fun, argnums=0, has_aux=False):
    """Jacobian by reverse mode (one vjp per output element, vectorised with vmap)."""

    @api_boundary
    @functools.wraps(fun)
    def jac(*args):
        single, dyn, f_dyn = _prep(fun, args, argnums, "jacrev")
        res = vjp(f_dyn, *dyn, has_aux=has_aux)
        out, pullback = res[0], res[1]
        out_leaves, out_tree = tu.tree_flatten(out)
        out_leaves = [_as_value(o, fun="jacrev") for o in out_leaves]
        basis, n = _std_basis(out_leaves)

        def pull(*ct_leaves):
            g = pullback(tu.tree_unflatten(out_tree, list(ct_leaves)))
            return g

        grads = vmap(pull)(*basis)  # pytree of dyn; each leaf (n, *in_shape)
        in_leaves, in_tree = tu.tree_flatten(grads)
        # for each output leaf, rows start:start+size of each input leaf's block
        sizes = [get_aval(o).size for o in out_leaves]
        from fnflow.numpy import reshape

        per_out = []
        start = 0
        for o, s in zip(out_leaves, sizes):
            blocks = [reshape(g[start:start + s], get_aval(o).shape + get_aval(g).shape[1:]) for g in in_leaves]
            g_tree = tu.tree_unflatten(in_tree, blocks)
            per_out.append(g_tree[0] if single else tuple(g_tree))
            start += s
        result = tu.tree_unflatten(out_tree, per_out)
        if has_aux:
            return result, res[2]
        return result

    return jac


@api_boundary
def hessian(fun, argnums=0, has_aux=False):
    """Hessian = jacfwd(jacrev(fun))."""
    return jacfwd(jacrev(fun, argnums, has_aux=has_aux), argnums, has_aux=has_aux)
