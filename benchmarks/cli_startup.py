"""``robustssl --help`` against issue 18's target (< 1.5 s): sub-commands import torch and the
rest only when they run, so asking for help is quick.

Prints one JSON object per line: {"name", "ours", "baseline", "unit", "ratio", "target"}:

- cli_help_seconds: median wall time of ``python -m robustssl --help`` over 7 runs; ``baseline``
  is the 1.5 s target and ``ratio`` = baseline / ours (≥ 1 meets it);
- cli_help_vs_torch_import: the same against ``python -c "import torch"`` (ratio > 1: help is
  quicker than importing torch alone; no target).

Run: ``python benchmarks/cli_startup.py`` (about 30 s).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

TARGET_SECONDS = 1.5
RUNS = 7


def seconds(cmd: list[str]) -> float:
    """Median wall time of ``cmd`` over RUNS runs (after one warm-up)."""
    subprocess.run(cmd, check=True, capture_output=True)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def record(name: str, ours: float, baseline: float, unit: str, target: float | None) -> None:
    row = {
        "name": name,
        "ours": round(ours, 3),
        "baseline": round(baseline, 3),
        "unit": unit,
        "ratio": round(baseline / ours, 3),
        "target": target,
    }
    print(json.dumps(row), flush=True)


def main() -> None:
    help_s = seconds([sys.executable, "-m", "robustssl", "--help"])
    torch_s = seconds([sys.executable, "-c", "import torch"])
    record("cli_help_seconds", help_s, TARGET_SECONDS, "s", 1.0)
    record("cli_help_vs_torch_import", help_s, torch_s, "s", None)


if __name__ == "__main__":
    main()
