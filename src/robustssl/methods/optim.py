"""Optimizers and lr schedules from a typed config (SGD/Adam/LARS; warmup-cosine/step)."""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

from robustssl.methods.lars import LARS, TrustRatio


class OptimConfig(BaseModel):
    """Optimizer + schedule. ``lr`` is the base rate for ``batch_size`` 256 scaled linearly
    when ``scale_lr_with_batch`` (SimCLR's rule: lr = base·B/256).

    ``exclude_bias_and_norm``: biases and norm-layer tensors (1-D) get no weight decay and, with
    LARS, no trust ratio (SimCLR); ``false`` decays and scales every tensor (ACL's and RoCL's
    LARS). ``lars_trust_ratio`` and ``lars_lr_in_momentum``: see :mod:`robustssl.methods.lars`.
    """

    model_config = ConfigDict(extra="forbid")
    name: Literal["sgd", "adam", "adamw", "lars"] = "adam"
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-6, ge=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    nesterov: bool = False  # SGD only (Adv-SS-Pretraining's optimiser)
    exclude_bias_and_norm: bool = True
    scale_lr_with_batch: bool = False
    schedule: Literal["warmup_cosine", "step", "constant"] = "warmup_cosine"
    warmup_epochs: float = Field(0.0, ge=0)
    min_lr_ratio: float = Field(0.0, ge=0, le=1)
    milestones: list[int] = Field(default_factory=list)
    gamma: float = Field(0.1, gt=0, le=1)
    lars_trust_ratio: TrustRatio = "update_norm"
    lars_lr_in_momentum: bool = False

    @model_validator(mode="after")
    def _lars_options_need_lars(self) -> OptimConfig:
        if self.nesterov and (self.name != "sgd" or self.momentum == 0):
            raise ValueError(
                "nesterov needs name=sgd with momentum > 0; remove optim.nesterov or set "
                "optim.name=sgd"
            )
        if self.name != "lars" and (
            self.lars_trust_ratio != "update_norm" or self.lars_lr_in_momentum
        ):
            raise ValueError(
                f"lars_trust_ratio / lars_lr_in_momentum only apply to name=lars, not "
                f"name={self.name}; remove them or set optim.name=lars"
            )
        return self


def parameter_groups(module: nn.Module, weight_decay: float, exclude: bool) -> list[dict]:
    """Two groups: weights with decay; biases and norm params (1-D) without it if ``exclude``."""
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for _, param in module.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if exclude and param.ndim <= 1 else decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0, "lars_exclude": True})
    return groups


def build_optimizer(
    module: nn.Module, cfg: OptimConfig, batch_size: int = 256
) -> torch.optim.Optimizer:
    lr = cfg.lr * batch_size / 256 if cfg.scale_lr_with_batch else cfg.lr
    groups = parameter_groups(module, cfg.weight_decay, cfg.exclude_bias_and_norm)
    if cfg.name == "lars":
        return LARS(
            groups,
            lr=lr,
            momentum=cfg.momentum,
            weight_decay=cfg.weight_decay,
            trust_ratio=cfg.lars_trust_ratio,
            lr_in_momentum=cfg.lars_lr_in_momentum,
        )
    for group in groups:
        group.pop("lars_exclude", None)
    if cfg.name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=cfg.momentum, nesterov=cfg.nesterov)
    if cfg.name == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    return torch.optim.Adam(groups, lr=lr)


def lr_factor(cfg: OptimConfig, step: int, steps_per_epoch: int, total_steps: int) -> float:
    """Multiplier of the base lr at optimizer step ``step`` (0-based), stepped every iteration."""
    warmup = round(cfg.warmup_epochs * steps_per_epoch)
    if step < warmup:
        return (step + 1) / warmup
    if cfg.schedule == "constant":
        return 1.0
    if cfg.schedule == "step":
        epoch = step // max(steps_per_epoch, 1)
        return cfg.gamma ** sum(epoch >= m for m in cfg.milestones)
    progress = (step - warmup) / max(total_steps - warmup, 1)
    cosine = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * cosine


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: OptimConfig, steps_per_epoch: int, epochs: int
) -> torch.optim.lr_scheduler.LambdaLR:
    total = steps_per_epoch * epochs
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(cfg, step, steps_per_epoch, total)
    )
