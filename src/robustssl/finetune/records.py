"""Run-directory files of a finetuning run: per-epoch ``metrics.csv`` and the finished result read
back from ``summary.json``."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from robustssl.runs.atomic import atomic_write_text
from robustssl.runs.layout import SUMMARY, read_json_dict


def write_metrics(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """All epoch rows as CSV (columns in first-seen order), rewritten atomically."""
    fields = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def read_result(
    run_dir: Path, complete_only: bool = True
) -> tuple[Path, dict[str, float], float] | None:
    """(run dir, metrics, train seconds) from ``summary.json``; None when absent (or, with
    ``complete_only``, not complete)."""
    path = run_dir / SUMMARY
    if not path.is_file():
        return None
    summary = read_json_dict(path)
    if complete_only and summary.get("status") != "complete":
        return None
    return run_dir, dict(summary.get("metrics", {})), float(summary.get("train_seconds", 0.0))
