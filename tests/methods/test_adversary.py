"""The adversary slot: PGD on a training loss raises it, stays in the ball, restores the model."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from robust_model import small_classifier
from robustssl.attacks.adversary import PretrainAdversaryConfig
from robustssl.methods.adversary import perturb
from robustssl.utils import make_generator


def _setup():
    model = small_classifier(width=8).train()
    x = torch.rand(16, 1, 28, 28, generator=make_generator(1))
    y = torch.randint(0, 10, (16,), generator=make_generator(2))
    return model, x, y


@pytest.mark.parametrize("bn_mode", ["train", "eval"])
@pytest.mark.parametrize("norm,eps", [("Linf", 0.05), ("L2", 1.0)])
def test_raises_the_loss_inside_the_ball_and_restores_the_model(norm, eps, bn_mode):
    model, x, y = _setup()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    cfg = PretrainAdversaryConfig(norm=norm, eps=eps, steps=5, bn_mode=bn_mode)

    def loss(x_adv):
        return F.cross_entropy(model(x_adv), y, reduction="none")

    x_adv = perturb(loss, x, cfg, model, make_generator(0))
    assert model.training and all(p.requires_grad for p in model.parameters())
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())  # BN stats too
    delta = (x_adv - x).flatten(1)
    norms = delta.abs().amax(1) if norm == "Linf" else delta.norm(dim=1)
    assert bool((norms <= eps + 1e-5).all()) and x_adv.min() >= 0 and x_adv.max() <= 1
    with torch.no_grad():
        model.eval() if bn_mode == "eval" else None
        before, after = loss(x), loss(x_adv)
        model.train()
    assert float((after > before).float().mean()) >= 0.9
    again = perturb(loss, x, cfg, model, make_generator(0))
    assert torch.equal(again, x_adv)


def test_batch_loss_over_concatenated_views():
    """Two views perturbed jointly through one batch-level loss (ACL's A2A)."""
    model, x, _ = _setup()
    v1, v2 = x, x.flip(3)

    def loss(both):
        a, b = model.encoder(both).chunk(2)
        return (-F.cosine_similarity(a, b)).expand(len(both) // 2).repeat(2)

    cfg = PretrainAdversaryConfig(eps=0.05, steps=3)
    adv = perturb(loss, torch.cat([v1, v2]), cfg, model, make_generator(0))
    assert adv.shape == (32, 1, 28, 28)
    with torch.no_grad():
        model.eval()
        assert float(loss(adv).mean()) > float(loss(torch.cat([v1, v2])).mean())


def test_config_rejects_pixel_scale_mistakes():
    with pytest.raises(ValueError, match="8/255"):
        PretrainAdversaryConfig(eps=8)
    assert PretrainAdversaryConfig(eps=0.1, steps=10).alpha == pytest.approx(0.025)


def test_use_best_trains_on_the_highest_loss_iterate() -> None:
    """The robustness library's ``use_best``: per sample, the iterate (random start included)
    with the highest loss; without it the last iterate. The closure below oscillates, so the two
    differ."""
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []

    def loss(x_adv: torch.Tensor) -> torch.Tensor:
        value = torch.sin(40 * x_adv.flatten(1).sum(1))
        seen.append((x_adv.detach().clone(), value.detach().clone()))
        return value

    x = torch.rand(32, 1, 4, 4, generator=make_generator(3))
    model = torch.nn.Identity()
    kw = {"norm": "Linf", "eps": 0.1, "steps": 6, "step_size": 0.04, "bn_mode": "eval"}
    last = perturb(loss, x, PretrainAdversaryConfig(**kw), model, make_generator(0))
    seen.clear()
    best = perturb(loss, x, PretrainAdversaryConfig(**kw, use_best=True), model, make_generator(0))
    iterates = torch.stack([v for _, v in seen])  # (steps + 1, B): start … last
    assert len(seen) == 7 and torch.equal(seen[-1][0], last)  # same path as without use_best
    with torch.no_grad():
        best_loss, last_loss = torch.sin(40 * best.flatten(1).sum(1)), iterates[-1]
    assert torch.allclose(best_loss, iterates.max(0).values)
    assert bool((best_loss >= last_loss).all()) and bool((best_loss > last_loss + 0.1).any())
