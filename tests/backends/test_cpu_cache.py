"""The kernel cache: generated modules on disk, reused by a second process; unwritable folders."""

import json
import os
import subprocess
import sys
import warnings

import numpy as np

import fnflow
import fnflow.numpy as fnp
from fnflow.backends.cpu import cache, compile_graph

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = """
import json, numpy as np, fnflow, fnflow.numpy as fnp
from fnflow.backends.cpu import cache, compile_graph
x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
f = lambda x: (fnp.sum(fnp.sinh(x) * 3 - 1, axis=1), fnp.arctan(x) + x)
exe = compile_graph(fnflow.make_graph(f)(x))
out = [o.tolist() for o in exe(x)]
print(json.dumps({"stats": cache.stats, "dir": cache.cache_dir(), "out": out}))
"""


def _run(tmp_path):
    env = dict(os.environ, FNFLOW_CACHE_DIR=str(tmp_path), PYTHONPATH=ROOT)
    res = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_second_process_loads_kernels_from_disk(tmp_path):
    first = _run(tmp_path)
    assert first["stats"]["compiled"] == 2 and first["stats"]["disk"] == 0
    assert first["dir"].startswith(str(tmp_path))
    sources = [f for f in os.listdir(first["dir"]) if f.endswith(".py")]
    assert len(sources) == 2 and all(len(f.rsplit("_", 1)[1]) == len("0" * 64) + 3 for f in sources)
    second = _run(tmp_path)
    assert second["stats"]["compiled"] == 0 and second["stats"]["disk"] == 2
    assert second["out"] == first["out"]


def test_unwritable_cache_dir_warns_once_and_compiles(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("FNFLOW_CACHE_DIR", str(blocker / "cache"))  # cannot be created, even by root
    monkeypatch.setattr(cache, "_dir_state", {})
    monkeypatch.setattr(cache, "_kernels", {})
    x = np.linspace(-1, 1, 6, dtype=np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a = compile_graph(fnflow.make_graph(lambda x: fnp.cosh(x) * 2)(x))(x)[0]
        b = compile_graph(fnflow.make_graph(lambda x: fnp.sum(fnp.cosh(x) - x))(x))(x)[0]
    msgs = [str(w.message) for w in caught if "not writable" in str(w.message)]
    assert len(msgs) == 1, msgs
    assert cache.cache_dir() is None
    np.testing.assert_allclose(a, np.cosh(x) * 2, rtol=1e-6)
    np.testing.assert_allclose(b, np.sum(np.cosh(x) - x), rtol=1e-6)


def test_key_depends_on_types_and_versions():
    from fnflow.backends.cpu.codegen import KernelSource

    src = "def kernel(a0, o1):\n    pass\n"
    k32 = cache.kernel_key(KernelSource("k", src, [], (("array", np.dtype("f4"), 1),), ""))
    k64 = cache.kernel_key(KernelSource("k", src, [], (("array", np.dtype("f8"), 1),), ""))
    assert k32 != k64 and len(k32) == 64
    assert fnflow.__version__ in cache._versions()
