"""Adversarial loss landscape (seed 001 Fig. 6; Li et al. 2018 filter normalisation): exact
restoration of the model, (0, 0) equal to the plain adversarial loss, filter norms."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from robust_model import small_classifier, synthetic_images, train_clean
from robustssl.evaluation.landscape import (
    adversarial_landscape,
    adversarial_loss,
    filter_normalized_direction,
    loss_landscape,
)

EPS = 0.1


@pytest.fixture(scope="module")
def trained() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    x, y = synthetic_images(256, seed=0)
    model = train_clean(small_classifier(width=4), x, y, steps=40)
    return model, x[:32], y[:32]


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_filter_normalised_direction(trained: tuple) -> None:
    model = trained[0]
    d = filter_normalized_direction(model, seed=3)
    assert [t.shape for t in d] == [p.shape for p in model.parameters()]
    for t, p in zip(d, model.parameters(), strict=True):
        if p.dim() <= 1:
            assert torch.count_nonzero(t) == 0  # biases and BN left alone
        else:
            d_norm = t.reshape(len(t), -1).norm(dim=1)
            w_norm = p.detach().reshape(len(p), -1).norm(dim=1)
            torch.testing.assert_close(d_norm, w_norm, rtol=1e-5, atol=1e-6)
    again = filter_normalized_direction(model, seed=3)
    other = filter_normalized_direction(model, seed=4)
    assert all(torch.equal(a, b) for a, b in zip(d, again, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(d, other, strict=True))
    with_1d = filter_normalized_direction(model, seed=3, ignore_1d=False)
    assert any(
        p.dim() == 1 and t.abs().sum() > 0 for t, p in zip(with_1d, model.parameters(), strict=True)
    )


def test_landscape_restores_model_and_matches_adversarial_loss_at_origin(trained: tuple) -> None:
    model, x, y = trained
    model.train()  # a mode flag that must come back
    before = _snapshot(model)
    grads = [p.requires_grad for p in model.parameters()]
    grid = [-0.5, 0.0, 0.5]
    land = adversarial_landscape(model, x, y, grid, grid, eps=EPS, steps=3, seed=7)
    assert model.training and all(m.training for m in model.modules())
    assert [p.requires_grad for p in model.parameters()] == grads
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    model.eval()
    plain = adversarial_loss(model, x, y, "Linf", EPS, steps=3, seed=7)
    assert land.losses[1, 1] == plain  # exactly: same weights, same attack seed
    assert land.losses.shape == (3, 3) and land.alphas.tolist() == grid
    # the trained model sits in a valley: moving along the directions raises the loss
    assert land.losses.max() > plain
    with torch.no_grad():
        clean = nn.functional.cross_entropy(model(x), y).item()
    assert plain > clean


def test_restored_even_when_the_loss_fails(trained: tuple) -> None:
    model = trained[0]
    before = _snapshot(model)
    calls = []

    def failing(m: nn.Module) -> float:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("out of memory (simulated)")
        return 0.0

    with pytest.raises(RuntimeError, match="simulated"):
        loss_landscape(model, failing, [0.0, 1.0], [0.0, 1.0])
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_only_named_parameters_move(trained: tuple) -> None:
    model = trained[0]
    head = [n for n, _ in model.named_parameters() if n.startswith("head")]
    seen: list[torch.Tensor] = []

    def record(m: nn.Module) -> float:
        seen.append(
            torch.cat(
                [p.detach().flatten() for n, p in m.named_parameters() if not n.startswith("head")]
            )
        )
        with torch.no_grad():
            return float(sum(p.sum() for n, p in m.named_parameters() if n.startswith("head")))

    land = loss_landscape(model, record, [0.0, 1.0], [0.0], names=head)
    assert torch.equal(seen[0], seen[1])  # the encoder never moved
    assert land.losses[0, 0] != land.losses[1, 0]  # the head did
    with pytest.raises(ValueError, match="unknown parameter names"):
        loss_landscape(model, record, [0.0], [0.0], names=["nope"])
    with pytest.raises(ValueError, match="one tensor per parameter"):
        loss_landscape(model, record, [0.0], [0.0], directions=([], []))
    assert land.losses.shape == (2, 1)
