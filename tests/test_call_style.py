"""Keyword arguments past three positional ones (the project's style rule, issue 16): no call in
``src/robustssl`` passes 7 or more positional arguments."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "robustssl"
MAX_POSITIONAL = 6  # 7 or more positional arguments fail


def long_positional_calls(root: Path, limit: int = MAX_POSITIONAL) -> list[str]:
    """``path:line callee (n positional)`` for every call under ``root`` with > ``limit``
    positional arguments (a ``*args`` counts as one)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call) and len(node.args) > limit:
                where = f"{path.relative_to(root.parent)}:{node.lineno}"
                found.append(f"{where} {ast.unparse(node.func)} ({len(node.args)} positional)")
    return found


def test_no_call_passes_seven_or_more_positional_arguments() -> None:
    found = long_positional_calls(SRC)
    assert not found, "pass arguments past the third by keyword:\n" + "\n".join(found)


def test_the_checker_finds_a_long_call(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "m.py").write_text(
        "def f(*a, **k):\n    return a\n\n"
        "f(1, 2, 3, 4, 5, 6)\n"  # six: allowed by this rule
        "f(1, 2, 3, d=4, e=5, f=6, g=7)\n"  # keywords past three: fine
        "f(1, 2, 3, 4, 5, 6, 7)\n"  # seven positional: caught
    )
    assert long_positional_calls(pkg) == ["pkg/m.py:6 f (7 positional)"]
