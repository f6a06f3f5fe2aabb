"""Throughput of the batched SimCLR view pipeline vs the conventional per-sample PIL pipeline.

Prints one JSON object per line: {"name", "ours", "baseline", "unit", "ratio", "target"}.

- ours: ``SimCLRViews`` (default CIFAR config, output size = input size, no blur) on a CPU batch
  of 256, two views per image (``views.views(x, 2)``).
- baseline: a Dataset of the same 256 images as PIL images ("L" or "RGB") with torchvision
  transforms (RandomResizedCrop, RandomHorizontalFlip, RandomApply([ColorJitter(.4, .4, .4, .1)],
  p=.8), RandomGrayscale(.2), ToTensor), two views per item, iterated through
  DataLoader(batch_size=256, num_workers=2, persistent_workers=True). Each epoch passes over the
  256 images ``EPOCH_PASSES`` times, so both workers are busy (with one batch per epoch only one
  worker would work).

Both sides count images produced (views) per second. After a warm-up, the two are timed in
alternation (one baseline epoch, then ours) for ``TRIALS`` rounds so that both see the same load
from other processes, and each reports its best round. Ours is timed with 1 and 2 torch threads
and reports the better; the per-setting numbers go to stderr. With another process on one core,
2-thread OpenMP regions stall. Like robustssl's CPU training, the run keeps freed memory in the heap
(robustssl.utils.allocator). Run: ``python benchmarks/views.py`` (well under a minute on an idle
2-core machine).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import torch
from torch.utils.data import DataLoader

from conventional import conventional_loader, simclr_pil_transform
from robustssl.data.views import SimCLRViews
from robustssl.utils import make_generator
from robustssl.utils.allocator import keep_freed_memory_in_heap

BATCH = 256
N_VIEWS = 2
EPOCH_PASSES = 4
TRIALS = 6
CALLS_PER_TRIAL = 8
THREADS = (1, 2)
TARGET = 5.0


def make_arrays(channels: int, side: int) -> np.ndarray:
    """256 random uint8 images (N, H, W, C)."""
    return np.random.default_rng(0).integers(0, 256, (BATCH, side, side, channels), dtype=np.uint8)


def time_baseline_epoch(loader: DataLoader) -> float:
    """Views per second over one full epoch."""
    start, produced = time.perf_counter(), 0
    for a, b in loader:
        produced += a.shape[0] + b.shape[0]
    return produced / (time.perf_counter() - start)


def time_ours(views: SimCLRViews, x: torch.Tensor, gen: torch.Generator, threads: int) -> float:
    """Views per second of ``CALLS_PER_TRIAL`` calls of ``views.views(x, 2)``."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        start, produced = time.perf_counter(), 0
        for _ in range(CALLS_PER_TRIAL):
            produced += sum(v.shape[0] for v in views.views(x, N_VIEWS, gen))
        return produced / (time.perf_counter() - start)
    finally:
        torch.set_num_threads(previous)


def measure(channels: int, side: int) -> dict[str, object]:
    """One benchmark record for a batch of 256 images of shape (channels, side, side)."""
    arrays = make_arrays(channels, side)
    x = torch.from_numpy(arrays).permute(0, 3, 1, 2).float().div(255).contiguous()
    views, gen = SimCLRViews(), make_generator(0)
    loader = conventional_loader(arrays, simclr_pil_transform(side), BATCH, passes=EPOCH_PASSES)
    time_baseline_epoch(loader)  # warm-up: starts the workers
    for threads in THREADS:
        time_ours(views, x, gen, threads)
    baseline, ours = 0.0, dict.fromkeys(THREADS, 0.0)
    for _ in range(TRIALS):
        baseline = max(baseline, time_baseline_epoch(loader))
        for threads in THREADS:
            ours[threads] = max(ours[threads], time_ours(views, x, gen, threads))
    del loader
    best = max(ours.values())
    print(f"{channels}x{side}x{side} ours by torch threads: {ours}", file=sys.stderr)
    return {
        "name": f"simclr_views_{BATCH}x{channels}x{side}x{side}",
        "ours": round(best, 1),
        "baseline": round(baseline, 1),
        "unit": "images/s",
        "ratio": round(best / baseline, 2),
        "target": TARGET,
    }


def main() -> None:
    keep_freed_memory_in_heap()  # as robustssl's CPU training does (robustssl.utils.allocator)
    for channels, side in ((1, 28), (3, 32)):
        print(json.dumps(measure(channels, side)), flush=True)


if __name__ == "__main__":
    main()
