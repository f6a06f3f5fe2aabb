"""Optimizers, weight-decay exclusions, schedules and LARS."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from robustssl.utils.lars import LARS
from robustssl.utils.optim import OptimConfig, build_optimizer, build_scheduler, lr_factor


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


def _linear(weight: list[float], bias: float) -> nn.Linear:
    layer = nn.Linear(2, 1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([weight]))
        layer.bias.fill_(bias)
    layer.weight.grad = torch.tensor([[0.0, 10.0]])
    layer.bias.grad = torch.tensor([2.0])
    return layer


def test_lars_with_bias_and_norm_exclusion_matches_hand_step() -> None:
    """SimCLR's LARS: w = (3, 4), g = (0, 10), λ = 0.1, η = 0.001, lr = 0.5.
    u = g + λw = (0.3, 10.4); trust = η‖w‖/‖u‖ = 0.005/√108.25; bias: plain SGD, no decay."""
    layer = _linear([3.0, 4.0], 1.0)
    cfg = OptimConfig(name="lars", lr=0.5, momentum=0.0, weight_decay=0.1)
    build_optimizer(layer, cfg).step()
    trust = 0.001 * 5.0 / math.sqrt(0.3**2 + 10.4**2)
    expected_w = [3.0 - 0.5 * trust * 0.3, 4.0 - 0.5 * trust * 10.4]
    assert layer.weight.detach()[0].tolist() == pytest.approx(expected_w, rel=1e-6)
    assert layer.bias.item() == pytest.approx(1.0 - 0.5 * 2.0)


def test_lars_without_exclusion_sum_of_norms_matches_hand_step() -> None:
    """ACL / torchlars: every tensor decayed and scaled by η‖w‖/(‖g‖ + λ‖w‖).
    Weight: trust = 0.001·5/(10 + 0.5); bias: trust = 0.001·1/(2 + 0.1), u = 2 + 0.1·1."""
    layer = _linear([3.0, 4.0], 1.0)
    cfg = OptimConfig(
        name="lars",
        lr=0.5,
        momentum=0.0,
        weight_decay=0.1,
        exclude_bias_and_norm=False,
        lars_trust_ratio="sum_of_norms",
    )
    build_optimizer(layer, cfg).step()
    trust_w = 0.001 * 5.0 / 10.5
    expected_w = [3.0 - 0.5 * trust_w * 0.3, 4.0 - 0.5 * trust_w * 10.4]
    assert layer.weight.detach()[0].tolist() == pytest.approx(expected_w, rel=1e-6)
    trust_b = 0.001 * 1.0 / 2.1
    assert layer.bias.item() == pytest.approx(1.0 - 0.5 * trust_b * 2.1, rel=1e-7)
    # the two ratios differ on the weight: ‖g + λw‖ = 10.404 ≠ ‖g‖ + λ‖w‖ = 10.5
    other = _linear([3.0, 4.0], 1.0)
    build_optimizer(other, cfg.model_copy(update={"lars_trust_ratio": "update_norm"})).step()
    assert not torch.allclose(other.weight, layer.weight, rtol=0, atol=1e-9)


def test_lars_learning_rate_inside_momentum_as_acl() -> None:
    """Excluded tensor, constant gradient g = 1, momentum 0.9, lr 1 then 0.5:
    outside (ours): w₂ = w₀ − 1·g − 0.5·(0.9g + g) = −1.95;
    inside (ACL): w₂ = w₀ − g − (0.9g + 0.5g) = −2.4."""
    for inside, expected in ((False, -1.95), (True, -2.4)):
        b = nn.Parameter(torch.tensor([0.0]))
        opt = LARS([{"params": [b], "lars_exclude": True}], lr=1.0, lr_in_momentum=inside)
        for lr in (1.0, 0.5):
            opt.param_groups[0]["lr"] = lr
            b.grad = torch.tensor([1.0])
            opt.step()
        assert b.item() == pytest.approx(expected)


def test_lars_options_refused_for_other_optimizers() -> None:
    with pytest.raises(ValueError, match="only apply to name=lars"):
        OptimConfig(name="sgd", lars_trust_ratio="sum_of_norms")
    with pytest.raises(ValueError, match="trust_ratio"):
        LARS([nn.Parameter(torch.zeros(1))], lr=0.1, trust_ratio="bogus")  # type: ignore[arg-type]
