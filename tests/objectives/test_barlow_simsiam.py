"""Barlow Twins and SimSiam against lightly and closed forms."""

from __future__ import annotations

import pytest
import torch
from lightly.loss import BarlowTwinsLoss, NegativeCosineSimilarity

from robustssl.objectives import barlow_twins_loss, negative_cosine, simsiam_loss


@pytest.mark.parametrize("batch,dim", [(4, 3), (16, 32), (64, 128)])
@pytest.mark.parametrize("lam", [5e-3, 0.1, 1.0])
def test_barlow_twins_matches_lightly(batch: int, dim: int, lam: float) -> None:
    gen = torch.Generator().manual_seed(batch + dim)
    z1, z2 = torch.randn(batch, dim, generator=gen), torch.randn(batch, dim, generator=gen)
    ref = BarlowTwinsLoss(lambda_param=lam, gather_distributed=False)(z1, z2)
    assert torch.allclose(barlow_twins_loss(z1, z2, lam), ref, atol=1e-5, rtol=1e-5)


def test_barlow_twins_decorrelated_identical_views_is_zero() -> None:
    """Orthogonal standardised columns: C = I, so the loss is 0 (up to the BN eps)."""
    h = torch.tensor([[1.0, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]])
    z = h[:, 1:]  # three zero-mean, unit-variance, mutually orthogonal columns
    assert barlow_twins_loss(z, z.clone()).item() < 1e-4


def test_barlow_twins_needs_batch_of_two() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        barlow_twins_loss(torch.ones(1, 3), torch.ones(1, 3))


def test_negative_cosine_matches_lightly_and_stops_gradient() -> None:
    gen = torch.Generator().manual_seed(0)
    p = torch.randn(8, 5, generator=gen, requires_grad=True)
    z = torch.randn(8, 5, generator=gen, requires_grad=True)
    ours = negative_cosine(p, z)
    assert torch.allclose(ours, NegativeCosineSimilarity()(p, z.detach()))
    ours.backward()
    assert p.grad is not None and z.grad is None


def test_simsiam_symmetric_and_bounds() -> None:
    gen = torch.Generator().manual_seed(1)
    p1, p2, z1, z2 = (torch.randn(6, 4, generator=gen) for _ in range(4))
    loss = simsiam_loss(p1, p2, z1, z2)
    assert torch.allclose(loss, simsiam_loss(p2, p1, z2, z1))
    assert -1.0 <= loss.item() <= 1.0
    assert simsiam_loss(z2, z1, z1, z2).item() == pytest.approx(-1.0)


def test_cross_entropy_reductions_and_errors() -> None:
    from robustssl.objectives import cross_entropy_loss

    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    labels = torch.tensor([0, 2])
    per = cross_entropy_loss(logits, labels, reduction="none")
    expected = -torch.log_softmax(logits, 1)[torch.arange(2), labels]
    assert torch.allclose(per, expected)
    assert cross_entropy_loss(logits, labels).item() == pytest.approx(expected.mean().item())
    with pytest.raises(ValueError, match="labels must lie in"):
        cross_entropy_loss(logits, torch.tensor([0, -1]))
    with pytest.raises(ValueError, match=r"\(B, K\)"):
        cross_entropy_loss(logits[0], labels)
