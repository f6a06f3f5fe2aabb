"""Run directories on disk: where a run's ``records.json`` files are, and its JSON files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from robustssl.evaluation.records import RECORDS_FILE


def find_records_files(target: str | Path) -> list[Path]:
    """The records files of a run dir (``evaluation/*/records.json``, sorted), of an evaluation
    folder, or the file itself."""
    target = Path(target)
    if target.is_file():
        return [target]
    if not target.is_dir():
        raise FileNotFoundError(f"no run directory or records file at {target}")
    if (target / RECORDS_FILE).is_file():
        return [target / RECORDS_FILE]
    files = sorted((target / "evaluation").glob(f"*/{RECORDS_FILE}"))
    if not files:
        raise FileNotFoundError(
            f"{target} holds no evaluation/*/{RECORDS_FILE}; evaluate the run first "
            f"(`robustssl evaluate {target}`)"
        )
    return files


def run_root(target: Path) -> Path:
    """The run directory of a run dir, an evaluation folder or a records file."""
    if target.is_file():
        target = target.parent
    if target.parent.name == "evaluation":
        return target.parent.parent
    return target


def read_dict(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return raw if isinstance(raw, dict) else {}
