"""Throughput of the batched tensor corruptions vs a per-image NumPy/SciPy/PIL implementation.

``corrupt_records()`` returns one record per image shape (CIFAR 3×32×32, Fashion-MNIST 1×28×28):
{"name": "corrupt_all_sev3_<N>x<C>x<H>x<W>", "ours", "baseline", "unit": "images/s", "ratio",
"target": 10.0}, where images/s counts corrupted images over all 15 families at severity 3.

- ours: ``robustssl.data.corruptions.corrupt`` on the whole batch of N random images (float32,
  on ``CORRUPT_BENCH_DEVICE``, default cpu), with ``CORRUPT_BENCH_THREADS`` torch threads
  (default 1, the same single core as the baseline);
- baseline: ``_numpy_corruptions.corrupt_batch``, the same corruptions one image at a time with
  NumPy / scipy.ndimage / PIL, as the official ``make_cifar_c.py`` does.

Both run in the same process, one family after the other, each after a small warm-up; the
per-family times go to stderr. ``CORRUPT_BENCH_N`` sets N (default 1000). Run:
``python benchmarks/evaluate_corrupt.py`` (prints one JSON object per line).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _numpy_corruptions import corrupt_batch
from robustssl.data.corruptions import corrupt, corruption_names

SEVERITY = 3
TARGET = 10.0
SHAPES = ((3, 32, 32), (1, 28, 28))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ours(x: torch.Tensor, name: str) -> float:
    """Seconds for one batched call (after a warm-up on 8 images)."""
    corrupt(x[:8], name, SEVERITY, seed=0)
    _sync(x.device)
    start = time.perf_counter()
    corrupt(x, name, SEVERITY, seed=0)
    _sync(x.device)
    return time.perf_counter() - start


def time_baseline(x: np.ndarray, name: str) -> float:
    """Seconds for the per-image loop over all images (after a warm-up on 2 images)."""
    corrupt_batch(x[:2], name, SEVERITY, seed=0)
    start = time.perf_counter()
    corrupt_batch(x, name, SEVERITY, seed=0)
    return time.perf_counter() - start


def measure(n: int, shape: tuple[int, int, int], device: torch.device) -> dict[str, object]:
    """One record: all 15 families at severity 3 on n random images of ``shape``."""
    arrays = np.random.default_rng(0).random((n, *shape), dtype=np.float32)
    x = torch.from_numpy(arrays).to(device)
    ours_total = base_total = 0.0
    for name in corruption_names():
        ours, base = time_ours(x, name), time_baseline(arrays, name)
        ours_total, base_total = ours_total + ours, base_total + base
        print(
            f"{name:18s} ours {n / ours:10.0f} img/s  baseline {n / base:8.0f} img/s  "
            f"ratio {base / ours:6.1f}",
            file=sys.stderr,
        )
    count = n * len(corruption_names())
    ours_rate, base_rate = count / ours_total, count / base_total
    c, h, w = shape
    return {
        "name": f"corrupt_all_sev{SEVERITY}_{n}x{c}x{h}x{w}",
        "ours": round(ours_rate, 1),
        "baseline": round(base_rate, 1),
        "unit": "images/s",
        "ratio": round(ours_rate / base_rate, 2),
        "target": TARGET,
    }


def corrupt_records() -> list[dict[str, object]]:
    """The benchmark records (sizes and threads from the CORRUPT_BENCH_* environment)."""
    n = int(os.environ.get("CORRUPT_BENCH_N", "1000"))
    threads = int(os.environ.get("CORRUPT_BENCH_THREADS", "1"))
    device = torch.device(os.environ.get("CORRUPT_BENCH_DEVICE", "cpu"))
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return [measure(n, shape, device) for shape in SHAPES]
    finally:
        torch.set_num_threads(previous)


def main() -> None:
    for record in corrupt_records():
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
