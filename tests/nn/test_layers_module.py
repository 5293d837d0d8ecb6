"""The module system: attrs layers as pytrees, static fields, tree_at, grad/jit over modules."""

import attrs
import numpy as np
import pytest

import fnflow
import fnflow.nn as nn
import fnflow.numpy as fnp
import fnflow.random as fr
from fnflow.tree_util import tree_leaves, tree_structure


def test_layers_are_pytrees_with_static_config():
    d = nn.Dense.init(fr.key(0), 3, 2, activation="relu")
    assert len(tree_leaves(d)) == 2
    d2 = attrs.evolve(d, activation="tanh")
    assert tree_structure(d) != tree_structure(d2)  # configuration is aux data
    g = fnflow.grad(lambda m: fnp.sum(m(np.ones((1, 3), np.float32))))(d)
    assert isinstance(g, nn.Dense) and g.activation == "relu"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        d.kernel = None


def test_static_fields_must_hash():
    @attrs.frozen
    class Bad(nn.Module):
        w: object
        cfg: object = nn.static_field(default=None)

    with pytest.raises(TypeError, match="hashable"):
        Bad(np.ones(2), cfg=[1, 2])


def test_tree_at():
    model = nn.Sequential([nn.Dense.init(fr.key(0), 3, 4), nn.Dense.init(fr.key(1), 4, 2, use_bias=False)])
    new = nn.tree_at(lambda m: m.layers[0].bias, model, fnp.ones(4))
    np.testing.assert_array_equal(new.layers[0].bias, np.ones(4))
    np.testing.assert_array_equal(model.layers[0].bias, np.zeros(4))  # the original is untouched
    assert new.layers[1].kernel is model.layers[1].kernel
    # several nodes, a None field, a whole subtree, replace_fn
    new = nn.tree_at(lambda m: (m.layers[1].bias, m.layers[0].kernel), model, (fnp.zeros(2), fnp.ones((3, 4))))
    assert new.layers[1].bias.shape == (2,) and float(new.layers[0].kernel.sum()) == 12
    swapped = nn.tree_at(lambda m: m.layers[1], model, nn.Dense.init(fr.key(2), 4, 5))
    assert swapped.layers[1].units == 5
    doubled = nn.tree_at(lambda m: m.layers[0].kernel, model, replace_fn=lambda k: fnp.multiply(k, 2.0))
    np.testing.assert_allclose(doubled.layers[0].kernel, 2 * np.asarray(model.layers[0].kernel))
    with pytest.raises(ValueError, match="not a node"):
        nn.tree_at(lambda m: np.ones(3), model, 1.0)
    with pytest.raises(ValueError, match="exactly one"):
        nn.tree_at(lambda m: m.layers[0].bias, model)
    with pytest.raises(ValueError, match="values"):
        nn.tree_at(lambda m: (m.layers[0].bias, m.layers[0].kernel), model, (1.0,))


def test_get_activation():
    assert nn.get_activation("swish") is nn.silu
    assert nn.get_activation(None)(3) == 3
    with pytest.raises(TypeError):
        nn.get_activation(3)


def test_functional_reexported_when_present():
    import importlib.util

    if importlib.util.find_spec("fnflow.nn.functional") is None:
        pytest.skip("fnflow.nn.functional not written yet")
    from fnflow.nn import functional

    for name in getattr(functional, "__all__", []):
        assert getattr(nn, name) is getattr(functional, name)
