"""Optimizers, weight-decay exclusions, schedules and LARS."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from robustssl.methods.lars import LARS
from robustssl.methods.optim import OptimConfig, build_optimizer, build_scheduler, lr_factor


def _model() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))


def test_weight_decay_excludes_bias_and_norm() -> None:
    opt = build_optimizer(_model(), OptimConfig(name="sgd", lr=0.1, weight_decay=0.5))
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.5 and no_decay["weight_decay"] == 0.0
    assert all(p.ndim == 2 for p in decay["params"])
    assert len(no_decay["params"]) == 4  # two biases + BN weight and bias
    opt = build_optimizer(_model(), OptimConfig(name="sgd", exclude_bias_and_norm=False))
    assert len(opt.param_groups) == 1


def test_lr_scaled_with_batch() -> None:
    opt = build_optimizer(
        _model(), OptimConfig(name="lars", lr=0.3, scale_lr_with_batch=True), batch_size=512
    )
    assert isinstance(opt, LARS)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.6)


def test_warmup_cosine_values() -> None:
    cfg = OptimConfig(schedule="warmup_cosine", warmup_epochs=1, min_lr_ratio=0.1)
    steps, total = 10, 50
    assert lr_factor(cfg, 0, steps, total) == pytest.approx(0.1)
    assert lr_factor(cfg, 9, steps, total) == pytest.approx(1.0)
    assert lr_factor(cfg, 10, steps, total) == pytest.approx(1.0)
    mid = 10 + 20
    assert lr_factor(cfg, mid, steps, total) == pytest.approx(
        0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5))
    )
    assert lr_factor(cfg, total, steps, total) == pytest.approx(0.1)
    values = [lr_factor(cfg, s, steps, total) for s in range(10, total)]
    assert values == sorted(values, reverse=True)


def test_step_schedule() -> None:
    cfg = OptimConfig(schedule="step", milestones=[2, 4], gamma=0.1)
    assert [lr_factor(cfg, e * 5, 5, 30) for e in range(6)] == pytest.approx(
        [1, 1, 0.1, 0.1, 0.01, 0.01]
    )


def test_scheduler_drives_optimizer() -> None:
    model = _model()
    opt = build_optimizer(
        model, OptimConfig(name="sgd", lr=1.0, schedule="warmup_cosine", warmup_epochs=1)
    )
    sched = build_scheduler(
        opt, OptimConfig(name="sgd", lr=1.0, warmup_epochs=1), steps_per_epoch=4, epochs=2
    )
    lrs = []
    for _ in range(8):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert lrs[4] == pytest.approx(1.0) and lrs[7] < lrs[5]


def test_lars_trust_ratio_step() -> None:
    w = nn.Parameter(torch.tensor([3.0, 4.0]))  # ‖w‖ = 5
    w.grad = torch.tensor([0.0, 10.0])  # ‖g‖ = 10
    LARS([w], lr=1.0, momentum=0.0, weight_decay=0.0, trust_coefficient=0.01).step()
    # update = g · 0.01 · 5 / 10 = 0.005 g
    assert torch.allclose(w.detach(), torch.tensor([3.0, 4.0 - 0.05]))


def test_lars_excluded_group_is_plain_sgd() -> None:
    b = nn.Parameter(torch.tensor([1.0]))
    b.grad = torch.tensor([2.0])
    LARS([{"params": [b], "lars_exclude": True, "weight_decay": 0.0}], lr=0.1, momentum=0.0).step()
    assert b.item() == pytest.approx(0.8)


def test_lars_trains_a_model() -> None:
    torch.manual_seed(0)
    x = torch.randn(64, 4)
    y = (x[:, 0] > 0).long()
    model = _model()
    opt = build_optimizer(model, OptimConfig(name="lars", lr=2.0, weight_decay=1e-6))
    first = None
    for _ in range(60):
        loss = nn.functional.cross_entropy(model(x), y)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first
