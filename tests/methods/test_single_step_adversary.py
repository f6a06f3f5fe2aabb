"""The adversary slot with a single-step adversary: raises a training loss, stays in its ball,
restores the model (mode, parameter gradients, BN running statistics), repeats with a seed."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from robust_model import small_classifier
from robustssl.attacks import single_step
from robustssl.attacks.threat import flat_norms
from robustssl.methods.single_step_adversary import perturb_single_step
from robustssl.utils import make_generator


@pytest.mark.parametrize("bn_mode", ["train", "eval"])
@pytest.mark.parametrize("kind", ["fgsm_rs", "n_fgsm"])
def test_raises_the_loss_in_its_ball_and_restores_the_model(kind, bn_mode):
    model = small_classifier(width=8).train()
    x = torch.rand(16, 1, 28, 28, generator=make_generator(1))
    y = torch.randint(0, 10, (16,), generator=make_generator(2))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    adversary = single_step(kind, "Linf", 0.05)

    def loss(x_adv: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(model(x_adv), y, reduction="none")

    x_adv = perturb_single_step(loss, x, adversary, model, make_generator(0), bn_mode)
    assert model.training and all(p.requires_grad for p in model.parameters())
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())  # BN stats too
    assert float(flat_norms(x_adv - x, "Linf").max()) <= adversary.radius + 1e-6
    assert float(x_adv.min()) >= 0 and float(x_adv.max()) <= 1
    with torch.no_grad():
        model.train(bn_mode == "train")
        before, after = loss(x), loss(x_adv)
        model.train()
    assert float(after.mean()) > float(before.mean())
    again = perturb_single_step(loss, x, adversary, model, make_generator(0), bn_mode)
    assert torch.equal(again, x_adv)
