"""The epoch-wise step schedule of finetuning (AdvCL's finetuning: SGD, lr ÷10 at epochs 15 and 20
of 25; seed 000 §4.2 uses Adam lr 1e-2 for the readout). The optimizer itself comes from the one
owner, :func:`robustssl.utils.optim.build_optimizer` (``FinetuneOptimConfig.optimizer()``)."""

from __future__ import annotations

import torch

from robustssl.finetune.config import FinetuneOptimConfig
from robustssl.utils.optim import step_decay


def lr_at_epoch(cfg: FinetuneOptimConfig, epoch: int) -> float:
    """``lr · gamma^(number of milestones ≤ epoch)`` for 0-based ``epoch``."""
    return cfg.lr * step_decay(cfg.gamma, cfg.milestones, epoch)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
