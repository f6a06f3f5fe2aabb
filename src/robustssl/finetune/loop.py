"""One training epoch and clean accuracy: plain loops with a progress bar, device-agnostic.

``prepare(x, y, step)`` turns a clean batch into the training batch (augmentation, then the
attack for ALF / AFF); the model is put in train mode after it, so an attack may use its own mode.
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
Prepare = Callable[[Tensor, Tensor, int], Tensor]


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
    total: int | None = None,
    desc: str = "finetune",
    progress: bool = True,
) -> EpochStats:
    """One pass of cross-entropy steps over ``batches``; mean loss and accuracy of the pass."""
    start = time.perf_counter()
    loss_sum: Tensor | float = 0.0
    correct: Tensor | int = 0
    seen = 0
    for step, (x, y) in enumerate(
        tqdm(batches, total=total, desc=desc, disable=not progress, leave=False)
    ):
        if prepare is not None:
            x = prepare(x, y, step)
        model.train()
        logits = model(x)
        loss = F.cross_entropy(logits, y)
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
