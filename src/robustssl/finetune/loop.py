"""A training batch, its loss and clean accuracy.

``loss_fn(model, batch)`` gives the batch's loss and the logits its accuracy is counted on:
cross-entropy on ``batch.x`` by default, TRADES (robustssl.finetune.trades) with ``loss: trades``.
The training step itself is :class:`robustssl.finetune.module.FinetuneModule`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Batches = Iterable[tuple[Tensor, Tensor]]


@dataclass(frozen=True)
class TrainBatch:
    """One training batch: ``x`` what the classifier trains on (augmented; adversarial for ALF /
    AFF), ``y`` its labels, ``natural`` the augmented clean images when the loss needs them."""

    x: Tensor
    y: Tensor
    natural: Tensor | None = None


BatchLoss = Callable[[nn.Module, TrainBatch], tuple[Tensor, Tensor]]


def cross_entropy_step(model: nn.Module, batch: TrainBatch) -> tuple[Tensor, Tensor]:
    """(mean cross-entropy of ``model`` on ``batch.x``, its logits)."""
    logits = model(batch.x)
    return F.cross_entropy(logits, batch.y), logits


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
