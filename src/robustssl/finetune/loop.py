"""One training epoch and clean accuracy: plain loops with a progress bar, device-agnostic.

``prepare(x, y, step)`` turns a clean batch into the training batch (augmentation, then the
attack for ALF / AFF); the model is put in train mode after it, so an attack may use its own mode.
``loss_fn(model, batch)`` gives the batch's loss and the logits its accuracy is counted on:
cross-entropy on ``batch.x`` by default, TRADES (robustssl.finetune.trades) with ``loss: trades``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from robustssl.utils.progress import tqdm

Batches = Iterable[tuple[Tensor, Tensor]]


@dataclass(frozen=True)
class TrainBatch:
    """One training batch: ``x`` what the classifier trains on (augmented; adversarial for ALF /
    AFF), ``y`` its labels, ``natural`` the augmented clean images when the loss needs them."""

    x: Tensor
    y: Tensor
    natural: Tensor | None = None


Prepare = Callable[[Tensor, Tensor, int], TrainBatch]
BatchLoss = Callable[[nn.Module, TrainBatch], tuple[Tensor, Tensor]]


def cross_entropy_step(model: nn.Module, batch: TrainBatch) -> tuple[Tensor, Tensor]:
    """(mean cross-entropy of ``model`` on ``batch.x``, its logits)."""
    logits = model(batch.x)
    return F.cross_entropy(logits, batch.y), logits


@dataclass(frozen=True)
class EpochStats:
    loss: float
    accuracy: float
    seconds: float


def train_epoch(
    model: nn.Module,
    batches: Batches,
    optimizer: torch.optim.Optimizer,
    prepare: Prepare | None = None,
    *,
    loss_fn: BatchLoss = cross_entropy_step,
    total: int | None = None,
    desc: str = "finetune",
    progress: bool = True,
) -> EpochStats:
    """One pass of ``loss_fn`` steps over ``batches``; mean loss and accuracy of the pass."""
    start = time.perf_counter()
    loss_sum: Tensor | float = 0.0
    correct: Tensor | int = 0
    seen = 0
    for step, (x, y) in enumerate(
        tqdm(batches, total=total, desc=desc, disable=not progress, leave=False, unit="batch")
    ):
        batch = prepare(x, y, step) if prepare is not None else TrainBatch(x, y)
        model.train()
        loss, logits = loss_fn(model, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum = loss_sum + loss.detach() * len(y)
        correct = correct + (logits.detach().argmax(1) == y).sum()
        seen += len(y)
    if seen == 0:
        raise ValueError("the training split yielded no batches; check data.batch_size")
    mean_loss = float(loss_sum) / seen
    if not math.isfinite(mean_loss):
        raise FloatingPointError(
            f"training loss became {mean_loss}; lower optim.lr (now "
            f"{optimizer.param_groups[0]['lr']:g}) or check the data"
        )
    return EpochStats(mean_loss, float(correct) / seen, time.perf_counter() - start)


@torch.no_grad()
def accuracy(model: nn.Module, batches: Batches) -> float:
    """Top-1 accuracy of ``model`` (eval mode, restored afterwards) over ``batches``."""
    was_training = model.training
    model.eval()
    correct, seen = 0, 0
    try:
        for x, y in batches:
            correct += int((model(x).argmax(1) == y).sum())
            seen += len(y)
    finally:
        model.train(was_training)
    return correct / max(seen, 1)
