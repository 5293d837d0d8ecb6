"""The ```python blocks of the guide pages run, and what they say they show is what they show.

Each page's blocks run in order in one namespace (a block may use names from
an earlier one), in a temporary working directory. Two comment forms in the
blocks are checked, so the pages cannot drift from the code:

- ``expr  # -> shown``: ``expr`` is evaluated and printed as in the docs
  (``str`` of arrays, tuples/lists/dicts of them) must equal ``shown``, up to
  whitespace and a relative 1e-5 on the numbers;
- a block that ends with a comment ``# SomeError: message`` must raise that
  exception from its last statement, with a message that starts with
  ``message`` (a trailing ``...`` means "and more").
"""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"
PAGES = ["jit.md", "control-flow.md", "random.md", "checkpoint-and-data.md", "transforms.md", "numpy.md", "scipy.md"]

_BLOCK = re.compile(r"```python\n(.*?)```", re.S)
_SHOWN = re.compile(r"^(?P<expr>\S.*?)\s+# -> (?P<shown>.*)$")
_ERROR = re.compile(r"^# (?P<name>\w+(?:Error|Exception|Warning)): (?P<msg>.*)$")
_NUMBER = re.compile(r"-?\d+\.?\d*(?:e[-+]?\d+)?")


def show(value, nested=False) -> str:
    """How the docs write a value: NumPy's str for arrays, Python's for containers of them."""
    if isinstance(value, (np.ndarray, np.generic)):
        return str(value)
    if isinstance(value, tuple):
        inner = ", ".join(show(v, True) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(show(v, True) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {show(v, True)}" for k, v in value.items()) + "}"
    return repr(value) if nested and isinstance(value, str) else str(value)


def _squash(text: str) -> str:
    text = re.sub(r"\s+", " ", text.strip())
    return re.sub(r" ([\])])", r"\1", re.sub(r"([\[(]) ", r"\1", text))


def same(got: str, shown: str) -> bool:
    """Equal up to whitespace, and up to a relative 1e-5 on each number."""
    got, shown = _squash(got), _squash(shown)
    if got == shown:
        return True
    if _NUMBER.sub("#", got) != _NUMBER.sub("#", shown):
        return False
    a = [float(x) for x in _NUMBER.findall(got)]
    b = [float(x) for x in _NUMBER.findall(shown)]
    return len(a) == len(b) and np.allclose(a, b, rtol=1e-5, atol=1e-7)


def _check(value, shown, line):
    got = show(value)
    assert same(got, shown), f"{line!r}\n  the docs show: {shown}\n  it gives:      {got}"


def _instrument(block: str) -> str:
    """Turn each top-level ``expr  # -> shown`` line into a checked call."""
    out = []
    for line in block.splitlines():
        m = _SHOWN.match(line)
        if m and not line.startswith((" ", "\t")):
            out.append(f"_check(({m['expr']}), {m['shown']!r}, {line!r})")
        else:
            out.append(line)
    return "\n".join(out)


def _expected_error(block: str):
    lines = [ln for ln in block.strip().splitlines() if ln.strip()]
    m = _ERROR.match(lines[-1].strip()) if lines else None
    return (m["name"], m["msg"].removesuffix("...").rstrip()) if m else None


def run_page(name: str):
    path = DOCS / name
    blocks = _BLOCK.findall(path.read_text())
    assert blocks, f"{name} has no python blocks"
    namespace = {"_check": _check}
    for i, block in enumerate(blocks):
        code = compile(_instrument(block), f"{path}:block{i + 1}", "exec")
        expected = _expected_error(block)
        if expected is None:
            exec(code, namespace)
            continue
        err_name, msg = expected
        try:
            exec(code, namespace)
        except Exception as e:  # noqa: BLE001  (checked by name below)
            names = [c.__name__ for c in type(e).__mro__]
            assert err_name in names, f"{name} block {i + 1}: expected {err_name}, got {type(e).__name__}: {e}"
            assert str(e).startswith(msg), f"{name} block {i + 1}: the docs show\n  {msg}\nbut the error is\n  {e}"
        else:
            raise AssertionError(f"{name} block {i + 1}: expected {err_name}, nothing was raised")
    return len(blocks)


@pytest.mark.parametrize("page", PAGES)
def test_page_examples(page, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run_page(page) >= 3


def test_numpy_coverage_table_names_exist():
    import fnflow.numpy as fnp

    table = (DOCS / "numpy.md").read_text().split("## What is covered")[1].split("\n## ")[0]
    rows = [r for r in table.splitlines() if r.startswith("| ") and not r.startswith("| family")]
    assert len(rows) > 20
    missing = []
    for row in rows:
        family, names = row.split(" | ", 1)
        module = fnp.linalg if "linalg" in family else fnp
        for name in re.findall(r"`([A-Za-z_][\w]*)`", names.split("(below)")[0]):
            if name not in ("x", "fnp") and not hasattr(module, name):
                missing.append(f"{family.strip('| ')}: {name}")
    assert not missing, missing


def test_checker_catches_wrong_output():
    assert same("[0. 1.]", "[0.  1.]") and same("0.19957110", "0.1995711")
    assert not same("[0. 1.]", "[0. 2.]") and not same("(1.0, 2.0)", "[1.0, 2.0]")
    with pytest.raises(AssertionError):
        _check(np.float32(2.0), "3.0", "x  # -> 3.0")
    assert _expected_error("f(1)\n# TypeError: bad thing ...\n") == ("TypeError", "bad thing")
    assert _instrument("x  # -> 1") == "_check((x), '1', 'x  # -> 1')"
