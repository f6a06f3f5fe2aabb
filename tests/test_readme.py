"""The README's Python blocks run (issue 18): every ```python block of README.md, top to bottom
in one namespace, in an empty temporary directory. A block that needs a dataset, a run directory
or long compute starts with ``# not run: <why>`` and is skipped (CONTRIBUTING.md)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SKIP = re.compile(r"#\s*not run:\s*(.*)")


def python_blocks(text: str) -> list[str]:
    """The bodies of the fenced ```python blocks, in order."""
    return re.findall(r"^```python[ \t]*\n(.*?)^```[ \t]*$", text, flags=re.S | re.M)


def runnable(blocks: list[str]) -> list[str]:
    """The blocks not marked ``# not run: <why>``; a mark without a reason is an error."""
    kept = []
    for i, block in enumerate(blocks):
        mark = SKIP.match(block.lstrip().splitlines()[0]) if block.strip() else None
        if mark is None:
            kept.append(block)
        elif not mark.group(1).strip():
            raise AssertionError(f"README python block {i + 1}: '# not run:' needs a reason")
    return kept


def test_the_block_parser_sees_every_block_and_the_marks() -> None:
    text = "a\n```python\nx = 1\n```\n```bash\nls\n```\n```python\n# not run: needs data\ny\n```\n"
    assert python_blocks(text) == ["x = 1\n", "# not run: needs data\ny\n"]
    assert runnable(python_blocks(text)) == ["x = 1\n"]
    with pytest.raises(AssertionError, match="needs a reason"):
        runnable(["# not run:\nz\n"])


def test_readme_python_blocks_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks(README.read_text())
    run = runnable(blocks)
    assert len(blocks) >= 3 and len(run) >= 2  # the README keeps runnable examples
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "readme"}
    for i, block in enumerate(run):
        exec(compile(block, f"README.md python block {i + 1}", "exec"), namespace)
    # what the blocks promise: the summary table and the records with the dataset named
    from robustssl.evaluation import read_records

    assert {r.dataset for r in read_records(tmp_path / "my_eval" / "records.json")} == {"my_data"}
    x, x_adv, curve = namespace["x"], namespace["x_adv"], namespace["curve"]
    assert float((x_adv - x).abs().max()) <= 8 / 255 + 1e-6  # type: ignore[operator]
    accuracy = curve.accuracy  # type: ignore[attr-defined]
    assert len(accuracy) == 4 and all(a >= b for a, b in itertools.pairwise(accuracy))
