"""The code blocks of docs/optim.md run."""

import pathlib
import re

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "optim.md"


def test_doc_snippets_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) >= 3
    namespace = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    loss, count, lr = capsys.readouterr().out.split()
    assert float(loss) < 1e-6 and int(count) == 300 and abs(float(lr) - 0.01) < 1e-8
