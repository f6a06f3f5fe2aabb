"""Training for the toy study (seed 000 §6): full-batch standard and FGSM adversarial training on
the toy datasets, and standard training on the lazy extended dataset, streamed block by block.

As the thesis code: Adam and cross-entropy, models without bias; full batch on the 72 / 8 base
images (lr 0.1; FGSM AT lr 0.01); on the extended L-T dataset batches of 170 shuffled blocks of
729 samples (lr 0.1, 6 epochs; seed 000 §6.2.2).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from robustssl.attacks import FGSM
from robustssl.data.extended import ExtendedDataset, ExtendedLoader
from robustssl.models.toy import PatternMatcher
from robustssl.utils.allocator import keep_freed_memory_in_heap
from robustssl.utils.progress import tqdm


@dataclass
class TrainLog:
    """Mean loss per epoch, samples seen and wall time."""

    losses: list[float] = field(default_factory=list)
    samples: int = 0
    seconds: float = 0.0


def _check(epochs: int, lr: float) -> None:
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs={epochs!r} must be an int ≥ 1")
    if not lr > 0:
        raise ValueError(f"lr={lr!r} must be > 0")


def _step(model: PatternMatcher, opt: torch.optim.Optimizer, x: Tensor, y: Tensor) -> Tensor:
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()


def train_full_batch(
    model: PatternMatcher,
    x: Tensor,
    y: Tensor,
    *,
    epochs: int = 20,
    lr: float = 0.1,
    fgsm_eps: float | None = None,
) -> TrainLog:
    """Adam on the whole (tiny) dataset per step; with ``fgsm_eps``, on FGSM examples of the
    current model instead (FGSM adversarial training, seed 000 Figure 20)."""
    _check(epochs, lr)
    if fgsm_eps is not None and not 0 < fgsm_eps < 1:
        raise ValueError(f"fgsm_eps={fgsm_eps} must be in (0, 1)")
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    attack = FGSM(model, "Linf", fgsm_eps) if fgsm_eps is not None else None
    log, start = TrainLog(), time.perf_counter()
    model.train()
    for _ in range(epochs):
        inputs = attack(x, y) if attack is not None else x
        log.losses.append(float(_step(model, opt, inputs, y)))
        log.samples += len(y)
    model.eval()
    log.seconds = time.perf_counter() - start
    return log


def train_extended(
    model: PatternMatcher,
    loader: ExtendedLoader,
    *,
    epochs: int = 6,
    lr: float = 0.1,
    progress: bool = False,
) -> TrainLog:
    """Adam over the extended dataset's shuffled block batches, ``epochs`` times (§6.2.2)."""
    _check(epochs, lr)
    if loader.dataset.device.type == "cpu":
        keep_freed_memory_in_heap()  # no page faults from re-allocating each batch
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    log, start = TrainLog(), time.perf_counter()
    model.train()
    for epoch in range(epochs):
        loader.set_epoch(epoch)
        total, count = torch.zeros((), dtype=torch.float64), 0
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{epochs}", disable=not progress, leave=False)
        for x, y in bar:
            total += _step(model, opt, x, y).double() * len(y)
            count += len(y)
        log.losses.append(float(total) / max(count, 1))
        log.samples += count
    model.eval()
    log.seconds = time.perf_counter() - start
    return log


@torch.no_grad()
def extended_accuracy(
    model: PatternMatcher, dataset: ExtendedDataset, fraction: float = 1.0, seed: int = 12345
) -> tuple[float, int]:
    """(accuracy, number wrong) of ``model`` on every sample of ``dataset`` (``fraction`` = 1) or
    on a seeded random share of its blocks."""
    model.eval()
    wrong, count = 0, 0
    for x, y in dataset.loader(256, shuffle=fraction < 1, seed=seed, fraction=fraction):
        wrong += int((model(x).argmax(1) != y).sum())
        count += len(y)
    return 1.0 - wrong / max(count, 1), wrong
