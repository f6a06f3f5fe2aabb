"""Training speed of the robust pretraining methods against plain SimCLR (issue 6).

One full training step (views + attack(s) + forward + backward + Adam) of each method in
``ENTRIES``, built from its ``configs/fashion_mnist`` config (small CNN width 32, attack budgets as
there), on 1×28×28 inputs, batch 256, channels-last as ``robustssl pretrain`` runs it; timed
after warm-up steps, in the same run as plain SimCLR.
Prints one JSON object per line:

    {"name": "robust_pretrain_<entry>", "ours": images/s, "baseline": SimCLR images/s,
     "unit": "images/s", "ratio": ours / baseline, "target": null}

AdvCL is timed with random pseudo-labels in place of
ClusterFit's (k-means runs once before training and is not part of a step).

Run: ``python benchmarks/robust_pretrain.py`` (minutes on 2 cores). ``ROBUST_PRETRAIN_STEPS``
(default 8) and ``ROBUST_PRETRAIN_WARMUP`` (default 2) set the timed and warm-up steps;
``ROBUST_PRETRAIN_ONLY=acl_ds,advcl`` times a subset.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import torch

from robustssl.methods import PretrainConfig
from robustssl.methods.base import PretrainMethod
from robustssl.methods.registry import build_method
from robustssl.models import build_encoder
from robustssl.utils import make_generator
from robustssl.utils.allocator import keep_freed_memory_in_heap
from robustssl.utils.config import load_config

BATCH, SIDE = 256, 28
STEPS = int(os.environ.get("ROBUST_PRETRAIN_STEPS", "8"))
WARMUP = int(os.environ.get("ROBUST_PRETRAIN_WARMUP", "2"))
CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "fashion_mnist"

# (entry name, configs/fashion_mnist/<stem>.yaml, key=value overrides); the first is the baseline.
# Other helpers append their methods here.
ENTRIES: list[tuple[str, str, list[str]]] = [
    ("simclr", "simclr", []),
    ("adv_simclr", "adv_simclr", []),
    ("acl_a2a", "acl", ["method.mode=a2a"]),
    ("acl_a2s", "acl", ["method.mode=a2s"]),
    ("acl_ds", "acl", ["method.mode=dual_stream"]),
    ("rocl", "rocl", []),
    ("advcl", "advcl", []),
    ("advcl_no_clusterfit", "advcl", ["method.clusterfit=null"]),
    # supervised side (seed 003 AT / SS-in-AT / P1–P2, seed 004 Tikhonov / layer-wise)
    ("supervised_at", "supervised_at", []),
    ("supervised_tikhonov", "supervised_tikhonov", []),
    ("simclr_tikhonov", "simclr_tikhonov", []),
    ("layerwise_simclr", "layerwise_simclr", []),
    ("ss_at_t0", "ss_at", ["method.scheme=T0"]),
    ("ss_at_t1", "ss_at", ["method.scheme=T1"]),
    ("ss_at_t2", "ss_at", ["method.scheme=T2"]),
    ("ss_at_t3", "ss_at", ["method.scheme=T3"]),
    ("ss_at_eq7", "ss_at", ["method.scheme=eq7"]),
    ("rotation_adv_l2", "rotation_adv_l2", []),
    ("rotation_adv_linf", "rotation_adv_linf", []),
]


def build(stem: str, overrides: list[str]) -> tuple[PretrainMethod, torch.optim.Optimizer]:
    """The method of a fashion_mnist config (its model and method sections) with Adam."""
    cfg = load_config(CONFIGS / f"{stem}.yaml", PretrainConfig, overrides)
    torch.manual_seed(0)
    m = cfg.model
    encoder = build_encoder(m.backbone, 1, (0.286,), (0.353,), **m.backbone_kwargs)
    method = build_method(cfg.method, encoder, 10).to(memory_format=torch.channels_last)
    return method, torch.optim.Adam(method.parameters(), lr=1e-3)


def labels_for(method: PretrainMethod, y: torch.Tensor) -> torch.Tensor:
    """The batch's label columns: (label, pseudo-label per K) for methods with pseudo-label heads
    (AdvCL with ClusterFit), else the labels."""
    heads = getattr(method, "heads", None)
    if not heads:
        return y
    g = make_generator(1)
    cols = [torch.randint(0, h.fc.out_features, (len(y),), generator=g) for h in heads]
    return torch.stack([y, *cols], 1)


def images_per_second(stem: str, overrides: list[str]) -> float:
    method, opt = build(stem, overrides)
    g = make_generator(0)
    x = torch.rand(BATCH, 1, SIDE, SIDE, generator=g)
    y = labels_for(method, torch.randint(0, 10, (BATCH,), generator=g))
    views = make_generator(2)

    def step() -> None:
        loss = method.step(x, y, views).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    method.train()
    for _ in range(WARMUP):
        step()
    start = time.perf_counter()
    for _ in range(STEPS):
        step()
    return BATCH * STEPS / (time.perf_counter() - start)


def main() -> None:
    keep_freed_memory_in_heap()  # as pretrain() does on the CPU
    only = {s for s in os.environ.get("ROBUST_PRETRAIN_ONLY", "").split(",") if s}
    (_, base_stem, base_overrides), *rest = ENTRIES
    baseline = images_per_second(base_stem, base_overrides)
    for name, stem, overrides in rest:
        if only and name not in only:
            continue
        ours = images_per_second(stem, overrides)
        record = {
            "name": f"robust_pretrain_{name}",
            "ours": round(ours, 2),
            "baseline": round(baseline, 2),
            "unit": "images/s",
            "ratio": round(ours / baseline, 4),
            "target": None,
        }
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
