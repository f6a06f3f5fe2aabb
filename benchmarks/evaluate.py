"""Issue 5 targets: SLF with cached features vs recomputing them every epoch (target ≥ 5×;
benchmarks/slf_cache.py) and batched tensor corruptions vs a per-image NumPy implementation of the
same corruptions (target ≥ 10×; benchmarks/evaluate_corrupt.py). One JSON record per line.

Run: ``python benchmarks/evaluate.py`` (a few minutes on 2 cores; SLF_BENCH_N and CORRUPT_BENCH_N
shrink it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from evaluate_corrupt import corrupt_records
from slf_cache import slf_records


def main() -> None:
    for record in [*slf_records(), *corrupt_records()]:
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
