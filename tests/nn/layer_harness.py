"""A per-layer contract test (the idea of Keras's ``run_layer_test``).

``run_layer_test(layer, x, ...)`` checks, for one built layer and one input:

* the parameters: the names and shapes of the array fields (Keras's shapes),
  their dtype, and that the layer is a pytree whose static fields hash;
* the output shape(s);
* derivatives with ``fnflow.testing.check_grads`` (forward and reverse mode,
  to ``grad_order``) with respect to the parameters and the input, in float64;
* ``jit(call)(layer, x) == call(layer, x)``;
* ``vmap`` over an extra leading axis of inputs equals calling on each slice;
* a checkpoint round trip gives back the same layer (type, values, outputs);
* one small gradient step on ``sum(out**2)`` lowers it (the layer trains).

``call(layer, x)`` says how to apply the layer (default ``layer(x)``); it may
return a pytree (``return_state``, a stateful layer's ``(y, state)``).
"""

from __future__ import annotations

import attrs
import numpy as np

import fnflow
import fnflow.numpy as fnp
from fnflow import checkpoint
from fnflow.core import tree as tu
from fnflow.testing import check_grads


def _default_call(layer, x):
    return layer(x)


def _is_float(a):
    return np.issubdtype(np.asarray(a).dtype, np.floating)


def to_float64(tree):
    """The floating leaves of ``tree`` as float64 (integer leaves untouched)."""
    return tu.tree_map(lambda a: np.asarray(a, np.float64) if _is_float(a) else a, tree)


def param_shapes(layer):
    """``{field: shape}`` for the array fields of an attrs layer that are set (not None)."""
    out = {}
    for f in attrs.fields(type(layer)):
        if f.metadata.get("static"):
            continue
        v = getattr(layer, f.name)
        if v is not None and hasattr(v, "shape"):
            out[f.name] = tuple(v.shape)
    return out


def _variant(x):
    """A second input of the same shape and dtype (for the vmap check)."""
    x = np.asarray(x)
    if _is_float(x):
        return (0.5 * x - 0.25).astype(x.dtype)
    return np.flip(x, axis=0).copy() if x.ndim else x


def _close(a, b, atol, rtol, what):
    la, lb = tu.tree_leaves(a), tu.tree_leaves(b)
    assert tu.tree_structure(a) == tu.tree_structure(b), f"{what}: structures differ"
    for u, v in zip(la, lb):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), atol=atol, rtol=rtol, err_msg=what)


def _sum_squares(out):
    return sum(fnp.sum(fnp.square(o)) for o in tu.tree_leaves(out)
               if np.issubdtype(fnp.asarray(o).dtype, np.floating))


def run_layer_test(layer, x, *, call=None, weight_shapes=None, output_shape=None, param_dtype=np.float32,
                   grad_order=1, grad_wrt_input=True, grad_modes=("fwd", "rev"), check_jit=True, check_vmap=True,
                   check_checkpoint=True, check_training=True, tmp_path=None, atol=1e-5, rtol=1e-5):
    """Run the contract checks on ``layer`` at input ``x``; returns ``call(layer, x)``."""
    call = call or _default_call
    # --- parameters and pytree-ness
    if weight_shapes is not None:
        got = param_shapes(layer)
        want = {k: tuple(v) for k, v in weight_shapes.items()}
        assert got == want, f"{type(layer).__name__} parameter shapes {got} != expected {want}"
    for leaf in tu.tree_leaves(layer):
        if _is_float(leaf):
            assert np.asarray(leaf).dtype == param_dtype, f"parameter dtype {np.asarray(leaf).dtype}"
    leaves, treedef = tu.tree_flatten(layer)
    hash(treedef)
    rebuilt = treedef.unflatten(leaves)
    assert type(rebuilt) is type(layer)

    # --- forward
    out = call(layer, x)
    if output_shape is not None:
        shapes = tu.tree_map(lambda o: tuple(np.shape(o)), out)
        want = output_shape
        assert shapes == want, f"{type(layer).__name__} output shape {shapes} != expected {want}"

    # --- derivatives, in float64
    if grad_order:
        layer64, x64 = to_float64(layer), to_float64(x)
        if grad_wrt_input and _is_float(x):
            check_grads(call, (layer64, x64), order=grad_order, modes=grad_modes)
        else:
            check_grads(lambda lay: call(lay, x64), (layer64,), order=grad_order, modes=grad_modes)

    # --- jit
    if check_jit:
        _close(fnflow.jit(call)(layer, x), out, atol, rtol, "jit(layer)(x) vs layer(x)")

    # --- vmap over an extra leading axis
    if check_vmap:
        x2 = _variant(x)
        xs = np.stack([np.asarray(x), x2])
        batched = fnflow.vmap(lambda xi: call(layer, xi))(xs)
        each = [call(layer, x), call(layer, x2)]
        stacked = tu.tree_map(lambda *o: np.stack([np.asarray(v) for v in o]), *each)
        _close(batched, stacked, atol, rtol, "vmap(layer) vs per-example calls")

    # --- checkpoint round trip
    if check_checkpoint and tmp_path is not None:
        path = str(tmp_path / f"{type(layer).__name__}.npz")
        checkpoint.save(path, layer)
        back = checkpoint.load(path, like=layer)
        assert type(back) is type(layer)
        assert tu.tree_structure(back) == treedef
        _close(back, layer, 0, 0, "checkpoint round trip")
        _close(call(back, x), out, 0, 0, "output after a checkpoint round trip")

    # --- it trains: one gradient step lowers sum(out**2)
    if check_training and any(_is_float(p) for p in leaves):
        def loss(lay):
            return _sum_squares(call(lay, x))

        l0, g = fnflow.value_and_grad(loss)(layer)
        gnorm = sum(float(np.sum(np.square(np.asarray(v)))) for v in tu.tree_leaves(g) if _is_float(v))
        if gnorm > 0:
            lr = 1e-3 * float(l0) / gnorm  # a step that lowers a smooth loss by ~1e-3 of itself
            stepped = tu.tree_map(lambda p, d: fnp.subtract(p, fnp.multiply(d, np.asarray(lr, np.asarray(p).dtype)))
                                  if _is_float(p) else p, layer, g)
            assert float(loss(stepped)) < float(l0), "a gradient step did not lower the loss"
    return out
