"""Pytrees: containers, key paths, registration, static attrs fields and mismatch errors."""

from collections import namedtuple

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fnflow
import fnflow.numpy as fnp
from fnflow import tree_util as tu

Point = namedtuple("Point", "x y")


@attrs.frozen
class Dense:
    w: object
    b: object
    activation: str = tu.static_field(default="relu")


@attrs.frozen
class Raw:
    w: object
    cfg: object = attrs.field(default="x", metadata={"static": True})


@attrs.frozen
class Checked:
    w: object
    cfg: object = attrs.field(default="x", metadata={"static": True})

    def __attrs_post_init__(self):
        tu.check_static_fields(self)


def test_containers_flatten_in_order():
    tree = {"b": (1, [2, 3]), "a": None, "c": Point(4, 5)}
    leaves, td = fnflow.tree.flatten(tree)
    assert leaves == [1, 2, 3, 4, 5]  # dict keys sorted: a (None, no leaves), b, c
    assert fnflow.tree.unflatten(td, leaves) == tree
    assert td.num_leaves == 5
    assert str(td) == "PyTreeDef({'a': None, 'b': (*, [*, *]), 'c': Point[None](*, *)})"


def test_dict_keys_sorted_regardless_of_insertion():
    a = fnflow.tree.structure({"x": 1, "y": 2})
    b = fnflow.tree.structure({"y": 2, "x": 1})
    assert a == b and hash(a) == hash(b)
    assert fnflow.tree.leaves({"y": 2, "x": 1}) == [1, 2]


def test_none_is_an_empty_node_and_arrays_are_leaves():
    assert fnflow.tree.leaves(None) == []
    x = np.ones(3)
    assert fnflow.tree.leaves([x, None])[0] is x
    assert fnflow.tree.structure(x) == fnflow.tree.structure(1.0)


def test_namedtuple_roundtrip_and_paths():
    p = Point(np.ones(2), {"k": 3})
    out = fnflow.tree.map(lambda v: v * 2, p)
    assert isinstance(out, Point) and out.y == {"k": 6}
    paths = [fnflow.tree.keystr(k) for k, _ in fnflow.tree.flatten_with_path(p)[0]]
    assert paths == [".x", ".y['k']"]


def test_attrs_static_fields_are_aux_data():
    d = Dense(np.ones((2, 3)), np.zeros(3), activation="tanh")
    leaves, td = fnflow.tree.flatten(d)
    assert len(leaves) == 2
    assert td != fnflow.tree.structure(Dense(np.ones((2, 3)), np.zeros(3)))  # aux differs
    d2 = fnflow.tree.map(lambda v: v + 1, d)
    assert isinstance(d2, Dense) and d2.activation == "tanh"
    np.testing.assert_array_equal(d2.b, np.ones(3))
    paths = [fnflow.tree.keystr(k) for k, _ in fnflow.tree.flatten_with_path(d)[0]]
    assert paths == [".w", ".b"]


def test_attrs_gradient_keeps_static_fields():
    d = Dense(np.ones((2, 3)), np.zeros(3), activation="tanh")
    g = fnflow.grad(lambda m, x: fnp.sum(fnp.tanh(x @ m.w + m.b)))(d, np.ones((1, 2)))
    assert isinstance(g, Dense) and g.activation == "tanh"
    assert g.w.shape == (2, 3)


def test_static_field_checked_at_construction():
    with pytest.raises(TypeError, match=r"Dense\.activation is a static field .* must be hashable, got list"):
        Dense(1.0, 2.0, activation=["relu"])
    with pytest.raises(TypeError, match=r"Checked\.cfg is a static field"):
        Checked(1.0, cfg={"a": 1})


def test_raw_static_metadata_checked_when_flattened():
    r = Raw(1.0, cfg=[1, 2])  # raw metadata: not validated at construction ...
    with pytest.raises(TypeError, match=r"Raw\.cfg is a static field"):
        fnflow.tree.flatten(r)  # ... but as soon as it is used as a pytree


class Pair:
    def __init__(self, a, b):
        self.a, self.b = a, b


fnflow.tree.register_pytree_node(
    Pair, lambda p: ((p.a, p.b), None), lambda _, c: Pair(*c),
    lambda p: (((tu.GetAttrKey("a"), p.a), (tu.GetAttrKey("b"), p.b)), None))


def test_register_pytree_node_with_transforms():
    p = Pair(np.ones(2), np.arange(2.0))
    out = fnflow.tree.map(lambda v: v + 1, p)
    assert isinstance(out, Pair)
    np.testing.assert_array_equal(out.b, [1.0, 2.0])
    g = fnflow.grad(lambda p: fnp.sum(p.a * p.b))(p)
    assert isinstance(g, Pair)
    np.testing.assert_allclose(g.a, [0.0, 1.0])
    np.testing.assert_allclose(g.b, [1.0, 1.0])
    assert [fnflow.tree.keystr(k) for k, _ in fnflow.tree.flatten_with_path(p)[0]] == [".a", ".b"]


def test_tree_map_with_path_and_multiple_trees():
    t = {"w": np.ones(2), "layers": [np.zeros(1), np.zeros(1)]}
    names = fnflow.tree.map_with_path(lambda p, x: fnflow.tree.keystr(p), t)
    assert names == {"w": "['w']", "layers": ["['layers'][0]", "['layers'][1]"]}
    s = fnflow.tree.map(lambda a, b: a + b, {"a": 1, "b": (2, 3)}, {"a": 10, "b": (20, 30)})
    assert s == {"a": 11, "b": (22, 33)}
    assert tu.tree_map_with_path is fnflow.tree.map_with_path


def test_short_names_match_tree_util():
    for short, long in [("map", "tree_map"), ("flatten", "tree_flatten"), ("unflatten", "tree_unflatten"),
                        ("leaves", "tree_leaves"), ("structure", "tree_structure"), ("reduce", "tree_reduce"),
                        ("all", "tree_all"), ("flatten_with_path", "tree_flatten_with_path")]:
        assert getattr(fnflow.tree, short) is getattr(tu, long)
    assert fnflow.tree.reduce(lambda a, b: a + b, [1, (2, 3)]) == 6
    assert fnflow.tree.all([True, (1, 2)]) and not fnflow.tree.all([True, 0])


def test_mismatch_error_names_path_and_both_structures():
    with pytest.raises(ValueError) as e:
        fnflow.tree.map(lambda a, b: a + b, {"a": 1, "b": (1, 2)}, {"a": 1, "b": (1,)})
    msg = str(e.value)
    assert "key path ['b']" in msg and "tuple of length 2 vs 1" in msg
    assert "PyTreeDef({'a': *, 'b': (*, *)})" in msg and "PyTreeDef({'a': *, 'b': (*,)})" in msg
    with pytest.raises(ValueError, match=r"key path \['p'\]\[0\]: dict with keys \['w'\] vs \['v'\]"):
        fnflow.tree.map(lambda a, b: a, {"p": [{"w": 1}]}, {"p": [{"v": 1}]})
    with pytest.raises(ValueError, match=r"key path <root>: expected a list, got tuple"):
        fnflow.tree.map(lambda a, b: a, [1], (1,))


def test_unflatten_leaf_count_errors():
    td = fnflow.tree.structure((1, 2))
    with pytest.raises(ValueError, match="too few leaves"):
        fnflow.tree.unflatten(td, [1])
    with pytest.raises(ValueError, match="too many leaves"):
        fnflow.tree.unflatten(td, [1, 2, 3])


_leaf = st.integers(-5, 5)
_trees = st.recursive(
    _leaf | st.none(),
    lambda kids: st.lists(kids, max_size=3) | st.tuples(kids, kids)
    | st.dictionaries(st.sampled_from("abc"), kids, max_size=3),
    max_leaves=8)


@given(_trees)
def test_flatten_unflatten_roundtrip(tree):
    leaves, td = fnflow.tree.flatten(tree)
    assert fnflow.tree.unflatten(td, leaves) == tree
    assert fnflow.tree.map(lambda x: x, tree) == tree
    assert len(fnflow.tree.flatten_with_path(tree)[0]) == td.num_leaves == len(leaves)
