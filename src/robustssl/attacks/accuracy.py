"""Robust accuracy over a stream of batches under one built attack: a point counts when the model
classifies it correctly both clean and at its x_adv (as AutoAttack and the evaluation suite's
``robustssl.evaluation.robust_accuracy`` count, so it never exceeds the clean accuracy). Used
where no evaluation suite runs, e.g. finetuning's per-epoch ``select`` score."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn

from robustssl.attacks.base import Attack
from robustssl.attacks.mode import ModelMode, attack_mode


def accuracy_under_attack(
    model: nn.Module,
    batches: Iterable[tuple[Tensor, Tensor]],
    attack: Attack,
    model_mode: ModelMode = "eval",
) -> float:
    """The fraction of points of ``batches`` correct clean and at ``attack(x, y)``, predictions
    in ``model_mode`` (every module's mode restored afterwards)."""
    correct, seen = 0, 0
    for x, y in batches:
        x_adv = attack(x, y)
        with attack_mode(model, model_mode), torch.no_grad():
            clean = model(x).argmax(1) == y
            correct += int((clean & (model(x_adv).argmax(1) == y)).sum())
        seen += len(y)
    return correct / max(seen, 1)
