"""Optimizer over the trainable parameters and the epoch-wise step schedule (AdvCL's finetuning:
SGD, lr ÷10 at epochs 15 and 20 of 25; seed 000 §4.2 uses Adam lr 1e-2 for the readout)."""

from __future__ import annotations

import torch
from torch import nn

from robustssl.finetune.config import FinetuneOptimConfig


def trainable_parameters(model: nn.Module) -> list[nn.Parameter]:
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("nothing to train: every parameter is frozen")
    return params


def build_optimizer(model: nn.Module, cfg: FinetuneOptimConfig) -> torch.optim.Optimizer:
    """SGD (with momentum) or Adam on ``model``'s trainable parameters, weight decay on all."""
    params = trainable_parameters(model)
    if cfg.name == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
    return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def lr_at_epoch(cfg: FinetuneOptimConfig, epoch: int) -> float:
    """``lr · gamma^(number of milestones ≤ epoch)`` for 0-based ``epoch``."""
    return cfg.lr * cfg.gamma ** sum(epoch >= m for m in cfg.milestones)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
