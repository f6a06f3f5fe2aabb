"""NT-Xent / SupCon against lightly's NTXentLoss and closed forms."""

from __future__ import annotations

import math

import pytest
import torch
from lightly.loss import NTXentLoss

from robustssl.objectives import (
    grouped_contrastive_loss,
    multiview_ntxent_loss,
    ntxent_loss,
    supcon_loss,
)


@pytest.mark.parametrize("batch,dim", [(2, 3), (8, 16), (33, 128)])
@pytest.mark.parametrize("temperature", [0.07, 0.2, 0.5, 1.0])
def test_ntxent_matches_lightly(batch: int, dim: int, temperature: float) -> None:
    gen = torch.Generator().manual_seed(batch * 1000 + dim)
    z1, z2 = torch.randn(batch, dim, generator=gen), torch.randn(batch, dim, generator=gen)
    ours = ntxent_loss(z1, z2, temperature)
    ref = NTXentLoss(temperature=temperature)(z1, z2)
    assert torch.allclose(ours, ref, atol=1e-5, rtol=1e-5)


def test_ntxent_gradients_match_lightly() -> None:
    gen = torch.Generator().manual_seed(3)
    z1 = torch.randn(16, 32, generator=gen, requires_grad=True)
    z2 = torch.randn(16, 32, generator=gen, requires_grad=True)
    g_ours = torch.autograd.grad(ntxent_loss(z1, z2, 0.2), (z1, z2))
    g_ref = torch.autograd.grad(NTXentLoss(temperature=0.2)(z1, z2), (z1, z2))
    for a, b in zip(g_ours, g_ref, strict=True):
        assert torch.allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("batch", [2, 5, 64])
def test_collapsed_embeddings_closed_form(batch: int) -> None:
    z = torch.ones(batch, 4)
    expected = -math.log(1 / (2 * batch - 1))
    assert ntxent_loss(z, z.clone(), 0.5).item() == pytest.approx(expected, rel=1e-6)


def test_stable_at_small_temperature() -> None:
    gen = torch.Generator().manual_seed(0)
    z1 = torch.randn(64, 8, generator=gen) * 1e3
    z2 = z1 + 0.01 * torch.randn(64, 8, generator=gen)
    loss = ntxent_loss(z1, z2, 0.01)
    assert torch.isfinite(loss)
    assert torch.allclose(loss, NTXentLoss(temperature=0.01)(z1, z2), atol=1e-4)


def test_perfect_positives_far_negatives_give_near_zero() -> None:
    z = torch.eye(6)
    assert ntxent_loss(z, z.clone(), 0.05).item() < 1e-6


def test_multiview_with_two_views_equals_two_view_loss() -> None:
    gen = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(10, 7, generator=gen), torch.randn(10, 7, generator=gen)
    assert torch.allclose(multiview_ntxent_loss([z1, z2], 0.3), ntxent_loss(z1, z2, 0.3))


def test_multiview_brute_force() -> None:
    """m = 3 views, b = 4 against a direct loop over eq. 5 (mean over positives and anchors)."""
    gen = torch.Generator().manual_seed(2)
    views = [torch.randn(4, 5, generator=gen) for _ in range(3)]
    t = 0.4
    z = torch.nn.functional.normalize(torch.cat(views), dim=1)
    n, total = len(z), 0.0
    for i in range(n):
        denom = sum(math.exp(float(z[i] @ z[k]) / t) for k in range(n) if k != i)
        pos = [j for j in range(n) if j != i and j % 4 == i % 4]
        total += -sum(math.log(math.exp(float(z[i] @ z[j]) / t) / denom) for j in pos) / len(pos)
    assert multiview_ntxent_loss(views, t).item() == pytest.approx(total / n, rel=1e-5)


def test_supcon_with_one_sample_per_class_equals_ntxent() -> None:
    gen = torch.Generator().manual_seed(4)
    z1, z2 = torch.randn(9, 6, generator=gen), torch.randn(9, 6, generator=gen)
    labels = torch.randperm(9, generator=gen)
    assert torch.allclose(supcon_loss([z1, z2], labels, 0.5), ntxent_loss(z1, z2, 0.5))


def test_supcon_pulls_same_class_together() -> None:
    """Same-class rows are positives: class-clustered embeddings score lower than mixed ones."""
    labels = torch.tensor([0, 0, 1, 1])
    clustered = torch.tensor([[1.0, 0], [1, 0.01], [0, 1], [0.01, 1]])
    mixed = clustered[[0, 2, 1, 3]]
    good = supcon_loss([clustered, clustered], labels, 0.1)
    bad = supcon_loss([mixed, mixed], labels, 0.1)
    assert good < bad


def test_per_anchor_losses_and_missing_positives() -> None:
    z = torch.randn(5, 3, generator=torch.Generator().manual_seed(5))
    groups = torch.tensor([0, 0, 1, 1, 2])
    per = grouped_contrastive_loss(z, groups, 0.5, reduction="none")
    assert per.shape == (5,)
    assert torch.isnan(per[4]) and torch.isfinite(per[:4]).all()
    assert grouped_contrastive_loss(z, groups, 0.5).item() == pytest.approx(per[:4].mean().item())
    with pytest.raises(ValueError, match="no anchor has a positive"):
        grouped_contrastive_loss(z, torch.arange(5), 0.5)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: ntxent_loss(torch.ones(3, 2), torch.ones(4, 2)), "same"),
        (lambda: ntxent_loss(torch.ones(3, 2), torch.ones(3, 2), 0.0), "temperature"),
        (lambda: multiview_ntxent_loss([torch.ones(3, 2)]), "at least 2"),
        (lambda: supcon_loss([torch.ones(3, 2)] * 2, torch.ones(4)), "labels"),
    ],
)
def test_bad_inputs_raise(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()
