"""Model mode during an attack: explicit, and restored afterwards (ARCHITECTURE.md conventions)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import torch
from torch import Tensor, nn

ModelMode = Literal["eval", "train"]


@contextmanager
def attack_mode(model: nn.Module, mode: ModelMode = "eval") -> Iterator[nn.Module]:
    """Put every module in ``mode`` and stop parameter gradients for the attack; restore each
    module's own ``training`` flag and each parameter's ``requires_grad`` on exit.

    "train" keeps BatchNorm in batch-statistics mode (and updates its running stats), as some
    adversarial-training recipes do; say so in the method's config.
    """
    if mode not in ("eval", "train"):
        raise ValueError(f"model mode must be 'eval' or 'train', got {mode!r}")
    flags = {m: m.training for m in model.modules()}
    grads = {p: p.requires_grad for p in model.parameters()}
    model.train(mode == "train")
    for p in grads:
        p.requires_grad_(False)
    try:
        yield model
    finally:
        for m, flag in flags.items():
            m.training = flag
        for p, flag in grads.items():
            p.requires_grad_(flag)


def clean_correct(model: nn.Module, x: Tensor, y: Tensor, mode: ModelMode = "eval") -> Tensor:
    """(B,) bool: the model, in ``mode`` (restored afterwards), classifies x correctly."""
    with attack_mode(model, mode), torch.no_grad():
        return model(x).argmax(1) == y
