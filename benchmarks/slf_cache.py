"""SLF with cached features vs recomputing them every epoch (issue 5 target: ≥ 5×).

Prints one JSON object per line: {"name", "ours", "baseline", "unit", "ratio", "target"}.

- slf_cached_features_vs_recompute_small_cnn: SLF epochs per second on Fashion-MNIST's train set
  with a small CNN encoder (width 32, as configs/fashion_mnist/simclr.yaml; random weights: the
  speed does not depend on them) and a linear head, SGD, batch 512, exactly what
  ``robustssl finetune`` runs (``finetune()`` on the shared Lightning Trainer, the per-epoch state
  saved), timed by the run's own ``train_seconds``. ours = E / (the one-time feature pass + E
  head-only epochs over the cached-feature dataset), amortised over E = 10 epochs
  (configs/fashion_mnist/finetune_slf.yaml); baseline = epochs per second with
  ``cache_features=false``, where every step runs the frozen encoder (channels-last, eval mode,
  no parameter gradients) before the head, timed over 2 epochs (every epoch costs the same).

Skipped with a message on stderr when Fashion-MNIST is not installed. ``SLF_BENCH_N`` limits the
number of training images (default: all 60 000) for a quick check. Run:
``python benchmarks/slf_cache.py`` (about a minute on 2 cores for the full set).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import torch

from robustssl.data import find_local
from robustssl.finetune import FinetuneConfig, finetune
from robustssl.utils.allocator import keep_freed_memory_in_heap

EPOCHS = 10
BASELINE_EPOCHS = 2
BATCH, EVAL_BATCH = 512, 1024
TRAIN_IMAGES = 60_000
TARGET = 5.0


def _seconds(out: Path, name: str, *, cache: bool, epochs: int, n: int) -> float:
    """The training seconds of one SLF run on the first ``n`` (stratified) training images."""
    cfg = FinetuneConfig.model_validate(
        {
            "name": name,
            "output_dir": str(out),
            "device": "cpu",
            "progress_bar": False,
            "model": {"backbone": "small_cnn", "backbone_kwargs": {"width": 32}},
            "protocol": "slf",
            "cache_features": cache,
            "data": {
                "dataset": "fashion_mnist",
                "batch_size": BATCH,
                "eval_batch_size": EVAL_BATCH,
                "label_fraction": min(n / TRAIN_IMAGES, 1.0),
            },
            "optim": {"epochs": epochs, "milestones": []},
        }
    )
    return finetune(cfg).seconds


def slf_records() -> list[dict[str, object]]:
    """The benchmark record (empty when Fashion-MNIST is absent)."""
    if find_local("fashion_mnist") is None:
        print("slf_cache: Fashion-MNIST is not installed; skipped", file=sys.stderr)
        return []
    keep_freed_memory_in_heap()
    n = int(os.environ.get("SLF_BENCH_N", TRAIN_IMAGES))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        _seconds(out, "warm-up", cache=True, epochs=1, n=min(n, 1024))
        ours = EPOCHS / _seconds(out, "cached", cache=True, epochs=EPOCHS, n=n)
        baseline = BASELINE_EPOCHS / _seconds(
            out, "recompute", cache=False, epochs=BASELINE_EPOCHS, n=n
        )
    print(f"slf_cache: {n} images, {torch.get_num_threads()} threads", file=sys.stderr)
    return [
        {
            "name": "slf_cached_features_vs_recompute_small_cnn",
            "ours": round(ours, 3),
            "baseline": round(baseline, 3),
            "unit": "epochs/s",
            "ratio": round(ours / baseline, 2),
            "target": TARGET,
        }
    ]


def main() -> None:
    for record in slf_records():
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
