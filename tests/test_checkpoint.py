"""fnflow.checkpoint: round trips, structure checks, atomic writes, no pickle."""

import collections
import os

import attrs
import numpy as np
import pytest

from fnflow import checkpoint
from fnflow.tree_util import static_field

Pair = collections.namedtuple("Pair", "a b")


@attrs.frozen
class Layer:
    w: np.ndarray
    b: np.ndarray
    name: str = static_field(default="dense")


def _tree():
    return {"layers": [Layer(np.arange(6.0, dtype=np.float32).reshape(2, 3), np.zeros(3, np.float32)),
                       Layer(np.ones((3, 1), np.float32), np.ones(1, np.float32), name="out")],
            "step": np.int32(7), "pair": Pair(np.float64(1.5), None)}


def test_round_trip_with_like(tmp_path):
    t = _tree()
    path = checkpoint.save(tmp_path / "ck", t)
    assert path.endswith(".npz")
    back = checkpoint.load(path, like=t)
    assert isinstance(back["layers"][1], Layer) and back["layers"][1].name == "out"
    np.testing.assert_array_equal(back["layers"][0].w, t["layers"][0].w)
    assert back["step"] == 7 and back["step"].dtype == np.int32
    assert back["pair"].a == 1.5 and back["pair"].b is None
    assert not back["layers"][0].w.flags.writeable


def test_load_without_like_gives_key_paths(tmp_path):
    path = checkpoint.save(tmp_path / "ck.npz", {"w": np.ones(2), "b": [np.zeros(1)]})
    flat = checkpoint.load(path)
    assert sorted(flat) == ["['b'][0]", "['w']"]


def test_structure_mismatch_names_the_key_path(tmp_path):
    path = checkpoint.save(tmp_path / "ck", {"w": np.ones(2), "b": np.zeros(1)})
    with pytest.raises(ValueError, match=r"missing from the file: \[\"\['c'\]\"\]"):
        checkpoint.load(path, like={"w": np.ones(2), "b": np.zeros(1), "c": np.zeros(1)})
    with pytest.raises(ValueError, match=r"leaf \['w'\] is float64\[2\] in the file but float64\[3\]"):
        checkpoint.load(path, like={"w": np.ones(3), "b": np.zeros(1)})


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    path = checkpoint.save(tmp_path / "ck", {"w": np.ones(2)})
    with pytest.raises(TypeError, match=r"leaf at \['bad'\]"):
        checkpoint.save(path, {"w": np.zeros(2), "bad": object()})
    with pytest.raises(TypeError, match="not a numeric array"):
        checkpoint.save(path, {"w": np.zeros(2), "s": "text"})
    np.testing.assert_array_equal(checkpoint.load(path)["['w']"], np.ones(2))
    assert [f for f in os.listdir(tmp_path) if f.startswith(".tmp")] == []


def test_never_unpickles(tmp_path):
    p = tmp_path / "evil.npz"
    np.savez(p, __meta__=np.array([object()], dtype=object))
    with pytest.raises(ValueError, match="pickle"):
        checkpoint.load(p)


def test_overwrite_false(tmp_path):
    path = checkpoint.save(tmp_path / "ck", {"w": np.ones(2)})
    with pytest.raises(FileExistsError):
        checkpoint.save(path, {"w": np.ones(2)}, overwrite=False)
