"""The examples of docs/scipy.md run and show what they say (same checker as tests/test_docs_examples.py)."""

import importlib.util
import pathlib


def _checker():
    path = pathlib.Path(__file__).resolve().parents[1] / "test_docs_examples.py"
    spec = importlib.util.spec_from_file_location("_docs_examples", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_scipy_page_examples(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _checker().run_page("scipy.md") >= 3
