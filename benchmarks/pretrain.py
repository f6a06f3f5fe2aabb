"""Speed of one full SimCLR training step against the conventional pipeline (issue 3 targets).

Prints one JSON object per line: {"name", "ours", "baseline", "unit", "ratio", "target"}.

- step_vs_conventional_small_cnn / _resnet18: images/s of one full SimCLR step (our on-device views
  + forward + backward + optimizer, with the model in channels-last as ``robustssl pretrain`` runs
  it by default) for the small CNN on 1×28×28 (batch 256) and the CIFAR ResNet-18 on 3×32×32
  (batch 128), over the conventional pipeline: per-sample PIL transforms in 2 DataLoader workers
  feeding the same model (PyTorch's default NCHW layout, as the DataLoader collates), loss and
  optimizer. Both count source images per second.
- step_vs_conventional_nhwc_small_cnn (no target; for the record): the same, with the
  conventional side also given the channels-last model, i.e. what the view pipeline alone gains.
- step_vs_model_only_small_cnn: the full step over the same step on views made in advance
  (how close the view pipeline comes to free).
- flop_efficiency_resnet18: FLOP/s achieved by our ResNet-18 step (FLOPs counted with
  torch.utils.flop_counter) over this machine's dense float32 matmul FLOP/s, both measured here.
  The counter counts nominal direct-convolution FLOPs; oneDNN's 3×3 kernels may need fewer, so
  the ratio can exceed 1.

Each rate is timed after warm-up steps, in rounds that alternate the sides (so neither profits
from the other's warmed-up allocator); each record is the median over the rounds. The
conventional loader runs alone (it is shut down before anything else is timed) and is timed once
its prefetch queue is in steady state.

Run: ``python benchmarks/pretrain.py`` (a few minutes on 2 cores).
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from conventional import conventional_loader, simclr_pil_transform
from robustssl.data.views import SimCLRViewConfig
from robustssl.methods.common import ProjectionConfig
from robustssl.methods.simclr import SimCLR, SimCLRConfig
from robustssl.models import build_encoder
from robustssl.objectives import ntxent_loss
from robustssl.utils import make_generator
from robustssl.utils.allocator import keep_freed_memory_in_heap

WARMUP = 3
SETTINGS = {  # name: (backbone, channels, side, batch, timed steps, rounds)
    "small_cnn": ("small_cnn", 1, 28, 256, 12, 3),
    "resnet18": ("resnet18", 3, 32, 128, 4, 1),
}


def build(
    backbone: str, channels: int, side: int, nhwc: bool = True
) -> tuple[SimCLR, torch.optim.Optimizer]:
    torch.manual_seed(0)
    encoder = build_encoder(backbone, channels, (0.5,) * channels, (0.25,) * channels)
    views = SimCLRViewConfig(crop_scale=(0.2, 1.0)) if channels == 1 else SimCLRViewConfig()
    cfg = SimCLRConfig(projection=ProjectionConfig(hidden_dim=512, out_dim=128), views=views)
    method = SimCLR(encoder, cfg)
    if nhwc:
        method = method.to(memory_format=torch.channels_last)
    return method, torch.optim.Adam(method.parameters(), lr=1e-3)


def images(channels: int, side: int, n: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, side, side, channels), dtype=np.uint8)


def rate(step: Callable[[], int], steps: int, warmup: int = WARMUP) -> float:
    """Images/s of ``step`` (returns images processed) after ``warmup`` untimed calls."""
    for _ in range(warmup):
        step()
    start, done = time.perf_counter(), 0
    for _ in range(steps):
        done += step()
    return done / (time.perf_counter() - start)


def optimise(
    method: SimCLR, opt: torch.optim.Optimizer, v1: torch.Tensor, v2: torch.Tensor
) -> None:
    z1, z2 = method.projector(method.encoder(torch.cat([v1, v2]))).chunk(2)
    loss = ntxent_loss(z1, z2, method.cfg.temperature)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def conventional_rate(name: str, nhwc: bool) -> float:
    """Timed in steady state (after the workers' prefetch queue has filled), then shut down so its
    workers do not compete with the other measurements."""
    backbone, channels, side, batch, steps, _ = SETTINGS[name]
    method, opt = build(backbone, channels, side, nhwc)
    arrays = images(channels, side, batch * 4)
    passes = -(-(WARMUP + steps) // 4) + 1
    scale = (0.2, 1.0) if channels == 1 else (0.08, 1.0)
    loader = conventional_loader(arrays, simclr_pil_transform(side, scale), batch, passes=passes)
    live = {"batches": iter(loader)}

    def conventional() -> int:
        v1, v2 = next(live["batches"])
        optimise(method, opt, v1, v2)
        return batch

    try:
        return rate(conventional, steps)
    finally:
        live.clear()
        del loader
        gc.collect()


def our_rates(name: str) -> dict[str, float]:
    """Our full step, and the same step on views made in advance."""
    backbone, channels, side, batch, steps, _ = SETTINGS[name]
    x = torch.from_numpy(images(channels, side, batch)).permute(0, 3, 1, 2).float().div(255)
    method, opt = build(backbone, channels, side)
    gen = make_generator(0)
    labels = torch.zeros(batch, dtype=torch.long)

    def ours() -> int:
        loss = method.step(x, labels, gen).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return batch

    premade = method.views.views(x, 2, gen)

    def model_only() -> int:
        optimise(method, opt, *premade)
        return batch

    rates = {"ours": rate(ours, steps), "model_only": rate(model_only, steps)}
    if name == "resnet18":
        rates["flops_per_image"] = step_flops(method, x) / batch
    return rates


def measure(name: str, nhwc_baseline: bool = False) -> dict[str, float]:
    """Median rates over rounds that alternate the sides."""
    rounds: list[dict[str, float]] = []
    for _ in range(SETTINGS[name][-1]):
        r = {"conventional": conventional_rate(name, nhwc=False), **our_rates(name)}
        if nhwc_baseline:
            r["conventional_nhwc"] = conventional_rate(name, nhwc=True)
        rounds.append(r)
    return {k: float(np.median([r[k] for r in rounds])) for k in rounds[0]}


def step_flops(method: SimCLR, x: torch.Tensor) -> float:
    counter = FlopCounterMode(display=False)
    with counter:
        loss = method.step(x, torch.zeros(len(x), dtype=torch.long), make_generator(1)).loss
        loss.backward()
    return float(counter.get_total_flops())


def matmul_flops(n: int = 1024, repeats: int = 20) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - start)


def record(name: str, ours: float, baseline: float, unit: str, target: float | None) -> None:
    print(
        json.dumps(
            {
                "name": name,
                "ours": round(ours, 2),
                "baseline": round(baseline, 2),
                "unit": unit,
                "ratio": round(ours / baseline, 3),
                "target": target,
            }
        ),
        flush=True,
    )


def main() -> None:
    keep_freed_memory_in_heap()  # as pretrain() does on the CPU (robustssl.utils.allocator)
    small = measure("small_cnn", nhwc_baseline=True)
    record("step_vs_conventional_small_cnn", small["ours"], small["conventional"], "images/s", 1.4)
    nhwc = small["conventional_nhwc"]
    record("step_vs_conventional_nhwc_small_cnn", small["ours"], nhwc, "images/s", None)
    record("step_vs_model_only_small_cnn", small["ours"], small["model_only"], "images/s", 0.9)
    resnet = measure("resnet18")
    record("step_vs_conventional_resnet18", resnet["ours"], resnet["conventional"], "images/s", 1.0)
    achieved = resnet["ours"] * resnet["flops_per_image"]
    record("flop_efficiency_resnet18", achieved / 1e9, matmul_flops() / 1e9, "GFLOP/s", 0.4)


if __name__ == "__main__":
    main()
