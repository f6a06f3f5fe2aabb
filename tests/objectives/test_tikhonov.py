"""Tikhonov input-gradient penalties (seed 004 eq. 2–3): finite differences, closed forms, and
gradients that reach the weights through the double backprop."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from robustssl.models import build_encoder
from robustssl.objectives import multiview_ntxent_loss
from robustssl.objectives.tikhonov import (
    contrastive_penalty,
    contrastive_tikhonov,
    supervised_tikhonov,
)
from robustssl.utils import make_generator


def _fd_grad(f, x: torch.Tensor, h: float = 1e-6) -> torch.Tensor:
    """Central finite-difference gradient of the scalar f at x (float64)."""
    grad = torch.zeros_like(x)
    flat, gflat = x.view(-1), grad.view(-1)
    for i in range(flat.numel()):
        old = float(flat[i])
        flat[i] = old + h
        up = float(f(x))
        flat[i] = old - h
        down = float(f(x))
        flat[i] = old
        gflat[i] = (up - down) / (2 * h)
    return grad


def _tiny_classifier() -> nn.Module:
    torch.manual_seed(0)
    encoder = build_encoder("small_cnn", 1, (0.5,), (0.25,), width=2, feature_dim=4)
    return nn.Sequential(encoder, nn.Linear(4, 3)).double()


@pytest.mark.parametrize("train_mode", [False, True])
def test_supervised_penalty_matches_finite_differences(train_mode: bool) -> None:
    model = _tiny_classifier().train(train_mode)
    x = torch.rand(3, 1, 8, 8, generator=make_generator(0), dtype=torch.float64)
    y = torch.tensor([0, 2, 1])

    def losses(inp: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(model(inp), y, reduction="none")

    terms = supervised_tikhonov(losses, x)
    with torch.no_grad():
        fd = _fd_grad(lambda inp: losses(inp).sum(), x.clone())
        expected = fd.flatten(1).pow(2).sum(1).mean()
        assert float(terms.loss) == pytest.approx(float(losses(x).mean()), rel=1e-12)
    assert float(expected) > 1e-6
    assert float(terms.penalty.detach()) == pytest.approx(float(expected), rel=1e-5)


def test_contrastive_penalty_matches_finite_differences() -> None:
    torch.manual_seed(1)
    net = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 4)).double()
    gen = make_generator(2)
    views = [torch.rand(3, 1, 4, 4, generator=gen, dtype=torch.float64) for _ in range(2)]

    def batch_loss(vs: list[torch.Tensor]) -> torch.Tensor:
        return multiview_ntxent_loss([net(v) for v in vs], 0.5)

    terms = contrastive_tikhonov(batch_loss, views)
    with torch.no_grad():  # (the loss normalises in float32: a larger step, a looser tolerance)
        g1 = _fd_grad(lambda v: batch_loss([v, views[1]]), views[0].clone(), h=1e-3)
        g2 = _fd_grad(lambda v: batch_loss([views[0], v]), views[1].clone(), h=1e-3)
    # eq. 3: Σ_k (‖∇_{x̃_2k−1} L‖² + ‖∇_{x̃_2k} L‖²) / 2, summed over the images
    expected = (g1.flatten(1).pow(2).sum(1) + g2.flatten(1).pow(2).sum(1)).sum() / 2
    assert float(expected) > 1e-4
    assert float(terms.penalty.detach()) == pytest.approx(float(expected), rel=2e-3)


def test_contrastive_penalty_closed_form_sums_over_images_and_averages_over_views() -> None:
    views = [torch.rand(5, 2, 3, 3, generator=make_generator(i)) for i in range(3)]
    c = 0.3

    def loss(vs: list[torch.Tensor]) -> torch.Tensor:  # ∇_v = 2c·v
        return c * sum(v.pow(2).sum() for v in vs)

    terms = contrastive_tikhonov(loss, views)
    expected = sum((2 * c * v).pow(2).sum() for v in views) / 3
    assert float(terms.penalty.detach()) == pytest.approx(float(expected), rel=1e-6)


def test_penalty_gradient_reaches_the_weights_and_is_correct() -> None:
    """The penalty is trained through (create_graph): its weight gradient passes gradcheck."""
    torch.manual_seed(3)
    net = nn.Sequential(nn.Flatten(), nn.Linear(12, 6), nn.Tanh(), nn.Linear(6, 3)).double()
    x = torch.rand(4, 1, 3, 4, generator=make_generator(4), dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 1])
    params = dict(net.named_parameters())

    def penalty_of(weight: torch.Tensor) -> torch.Tensor:
        p = {**params, "1.weight": weight}
        return supervised_tikhonov(
            lambda inp: F.cross_entropy(functional_call(net, p, (inp,)), y, reduction="none"), x
        ).penalty

    weight = params["1.weight"].detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(penalty_of, (weight,), eps=1e-6, atol=1e-6)
    penalty_of(weight).backward()
    assert float(weight.grad.abs().sum()) > 0


def test_bad_loss_closures_are_rejected() -> None:
    x = torch.rand(2, 1, 4, 4)
    with pytest.raises(ValueError, match="one loss per sample"):
        supervised_tikhonov(lambda inp: inp.sum(), x)
    with pytest.raises(ValueError, match="scalar"):
        contrastive_penalty(x.sum(1), [x])
