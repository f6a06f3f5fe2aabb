"""The README's main job, ``robustssl quickstart``, against issue 7's targets (≤ 10 min, ≤ 4 GiB).

Runs the quickstart study (configs/quickstart.yaml, 20 stages, then the HTML report) in a fresh
temporary study directory as a child process, then runs it again to check that a finished study
is not recomputed. Needs Fashion-MNIST (``apt-get install -y dataset-fashion-mnist``).

Prints one JSON object per line: {"name", "ours", "baseline", "unit", "ratio", "target"}:

- quickstart_wall_time: seconds of the first (complete) run;
- quickstart_peak_rss: peak resident memory of the child process in GiB;
- quickstart_rerun_time: seconds of the second run (every stage cached; report rebuilt).

For the first two, ``baseline`` is the issue's target (600 s, 4 GiB) and ``ratio`` = baseline /
ours, so ≥ 1 (``target``) meets it. The rerun is compared with the first run (ratio = first /
rerun; no target). Run: ``python benchmarks/quickstart.py`` (about 5 minutes on 2 cores).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 600.0
TARGET_GIB = 4.0


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


def run_quickstart(study: Path) -> float:
    """Seconds of one ``robustssl quickstart`` into ``study``; raises when it fails."""
    cmd = [sys.executable, "-m", "robustssl", "quickstart", f"study_dir={study}", "--no-progress"]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        study = Path(tmp) / "quickstart"
        first = run_quickstart(study)
        peak_gib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20  # KiB → GiB
        rerun = run_quickstart(study)
    record("quickstart_wall_time", first, TARGET_SECONDS, "s", 1.0)
    record("quickstart_peak_rss", peak_gib, TARGET_GIB, "GiB", 1.0)
    record("quickstart_rerun_time", rerun, first, "s", None)


if __name__ == "__main__":
    main()
