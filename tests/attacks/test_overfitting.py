"""Catastrophic-overfitting checks: loud on a model that is flat around its data (FGSM sees no
gradient, PGD from a random start walks out), quiet on a linear model and a plain small CNN."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import Tensor, nn

from robust_model import small_classifier, synthetic_images, train_clean
from robustssl.attacks import FGSM, PGD, OverfittingMonitor, check_catastrophic_overfitting
from robustssl.utils import make_generator

GRID = 8  # data pixels are multiples of 1/8
EPS = 0.1


class Sharpen(nn.Module):
    """x + k·(x − q(x)), q rounding to the 1/8 grid (held constant): the same value on the data,
    a perturbation amplified (1 + k)-fold, so PGD accuracy falls gradually as k grows."""

    def __init__(self, k: float) -> None:
        super().__init__()
        self.k = k

    def forward(self, x: Tensor) -> Tensor:
        return x + self.k * (x - (torch.round(GRID * x) / GRID).detach())


class Staircase(nn.Module):
    """Per pixel, a continuous staircase: flat within ``tau`` of every multiple of 1/8 (the input
    gradient is exactly zero on the data), a linear ramp between that reaches the next step
    half-way. So FGSM does not move, while a random start ε ≫ τ away lands on a ramp and PGD can
    move each pixel one step (1/8) within ε = 0.1."""

    def __init__(self, tau: float = 0.01) -> None:
        super().__init__()
        self.flat = GRID * tau  # the dead zone in grid units

    def forward(self, x: Tensor) -> Tensor:
        q = GRID * x
        k = torch.floor(q + 0.5).detach()
        r = q - k  # in [−0.5, 0.5)
        ramp = torch.sign(r) * (r.abs() - self.flat).clamp_min(0) / (0.5 - self.flat) * 0.5
        return (k + ramp) / GRID


def linear_head(boundary: float = 0.5) -> nn.Module:
    """logit₁ − logit₀ = mean(pixels) − boundary."""
    head = nn.Linear(64, 2)
    with torch.no_grad():
        head.weight.copy_(torch.stack([-torch.ones(64), torch.ones(64)]) / 128)
        head.bias.copy_(torch.tensor([boundary, -boundary]) / 2)
    return nn.Sequential(nn.Flatten(), head)


def grid_data(n: int = 200, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Two classes of 8×8 images on the 1/8 grid: class 0 pixels 3/8 or 4/8 (mean ≈ 0.47), class
    1 pixels 4/8 or 5/8 (mean ≈ 0.53); a shift of every pixel by 1/8 crosses the boundary."""
    gen = make_generator(seed)
    y = torch.randint(0, 2, (n,), generator=gen)
    step = (torch.rand(n, 1, 8, 8, generator=gen) < 0.25).float()
    x = torch.where(y.view(-1, 1, 1, 1) == 0, 4 - step, 4 + step) / GRID
    return x, y


@pytest.fixture(scope="module")
def masked() -> nn.Module:
    return nn.Sequential(Staircase(), linear_head()).eval()


@pytest.fixture(scope="module")
def linear() -> nn.Module:
    return linear_head().eval()


def test_the_constructed_model_masks_fgsm_but_not_pgd(masked):
    """The premise of the next test: clean accuracy 100 %, FGSM 100 % (no gradient), PGD ≈ 0."""
    x, y = grid_data()
    with torch.no_grad():
        assert bool((masked(x).argmax(1) == y).all())
    assert not bool(FGSM(masked, "Linf", EPS).run(x, y).success.any())
    assert float(PGD(masked, "Linf", EPS, steps=10).run(x, y).success.float().mean()) > 0.9


def test_fires_on_the_masked_model(masked):
    x, y = grid_data()
    finding = check_catastrophic_overfitting(masked, x, y, "Linf", EPS, steps=10, seed=1)
    assert finding.severity == "warning", finding
    assert finding.value is not None and finding.value > 0.9
    assert "FGSM leaves 100.0%" in finding.message and "Fix:" in finding.message
    assert "200 held-out points" in finding.message


def test_quiet_on_a_linear_model_where_fgsm_is_optimal(linear):
    """For a binary linear classifier FGSM is the exact L∞ worst case: the gap is 0."""
    x, y = grid_data()
    finding = check_catastrophic_overfitting(linear, x, y, "Linf", 0.05, steps=10)
    assert finding.severity == "info", finding
    assert finding.value == 0.0


def test_quiet_on_a_plain_small_cnn():
    model = train_clean(small_classifier(width=8), *synthetic_images(2000))
    x, y = synthetic_images(100, seed=5)
    with torch.no_grad():
        assert float((model(x).argmax(1) == y).float().mean()) >= 0.9
    finding = check_catastrophic_overfitting(model, x, y, "Linf", 0.01, steps=10)
    assert finding.severity == "info", finding
    # PGD is somewhat stronger than FGSM on a non-linear model, but far from a collapse
    assert finding.value is not None and 0.0 < finding.value <= 0.3


def test_monitor_fires_when_pgd_robustness_collapses(linear):
    """At ε = 0.01 the linear model is robust on (almost) every point (margin ≈ 1/32 in the mean);
    at epoch 3 its boundary moves to 0.45, across every class-0 point (PGD accuracy ≈ ½)."""
    x, y = grid_data(100)
    monitor = OverfittingMonitor(x, y, "Linf", 0.01, steps=5)
    first = monitor.update(linear, 1)
    steady = monitor.update(linear, 2)
    assert first.severity == steady.severity == "info" and steady.value == 0.0
    assert monitor.history[0][1] == monitor.history[1][1] >= 0.95
    collapse = monitor.update(linear_head(boundary=0.45).eval(), 3)
    assert collapse.severity == "warning" and collapse.value is not None
    assert monitor.history[2][1] == pytest.approx(float((y == 1).float().mean()))
    assert collapse.value > 0.3
    assert "epoch 3" in collapse.message and "Fix:" in collapse.message
    assert monitor.collapsed_at == 3 and monitor.best_epoch == 2
    assert monitor.update(linear, 4).severity == "info"  # recovers: no new collapse
    assert monitor.collapsed_at == 3 and monitor.best_epoch == 2


def test_monitor_fires_on_a_gradual_collapse_that_the_reference_rule_misses():
    """PGD-5 accuracy 0.98, 0.93, 0.78, 0.65, 0.55, 0.43: no drop above 0.2, but below ½ × best."""
    x, y = grid_data(100)
    models = [nn.Sequential(Sharpen(k), linear_head()).eval() for k in (1, 1.5, 2, 2.25, 2.5, 2.75)]
    ours = OverfittingMonitor(x, y, "Linf", 0.01, steps=5)
    reference = OverfittingMonitor(x, y, "Linf", 0.01, steps=5, min_ratio=None)
    for epoch, model in enumerate(models, start=1):
        finding = ours.update(model, epoch)
        assert reference.update(model, epoch).severity == "info"
        assert finding.severity == ("warning" if epoch == 6 else "info"), finding
    accs = [acc for _, acc in ours.history]
    assert all(a > b for a, b in itertools.pairwise(accs))
    assert max(a - b for a, b in itertools.pairwise(accs)) <= 0.2
    assert accs[-1] < 0.5 * accs[0]
    assert ours.collapsed_at == 6 and ours.best_epoch == 1
    assert reference.collapsed_at is None and reference.best_epoch == 1


def test_monitor_refuses_bad_settings_and_epoch_order(linear):
    x, y = grid_data(20)
    with pytest.raises(ValueError, match="max_drop"):
        OverfittingMonitor(x, y, max_drop=0.0)
    with pytest.raises(ValueError, match="steps"):
        OverfittingMonitor(x, y, steps=0)
    with pytest.raises(ValueError, match="min_ratio"):
        OverfittingMonitor(x, y, min_ratio=1.0)
    monitor = OverfittingMonitor(x, y, "Linf", EPS, steps=2)
    monitor.update(linear, 1)
    with pytest.raises(ValueError, match="epoch 1"):
        monitor.update(linear, 1)
    with pytest.raises(ValueError, match="labels"):
        OverfittingMonitor(x, torch.full_like(y, 5)).update(linear, 1)
    with pytest.raises(ValueError, match="max_gap"):
        check_catastrophic_overfitting(linear, x, y, max_gap=1.5)
