"""The PGD core and the PGD / FGSM classifier attacks (torchattacks is the reference)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchattacks
from torch import nn

from robust_model import small_classifier, synthetic_images, train_clean
from robustssl.attacks import FGSM, PGD, SampleObjective, ThreatModel, maximise
from robustssl.utils import make_generator


@pytest.fixture(scope="module")
def model() -> nn.Module:
    return train_clean(small_classifier(width=8), *synthetic_images(2000))


@pytest.fixture(scope="module")
def data() -> tuple[torch.Tensor, torch.Tensor]:
    return synthetic_images(48, seed=5)


def torchattacks_start(x: torch.Tensor, norm: str, eps: float) -> torch.Tensor:
    """The random start torchattacks draws after torch.manual_seed (its PGD / PGDL2 code path)."""
    if norm == "Linf":
        return torch.empty_like(x).uniform_(-eps, eps)
    d = torch.empty_like(x).normal_()
    n = d.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    return d * torch.zeros_like(n).uniform_(0, 1) / n * eps


@pytest.mark.parametrize("norm,eps", [("Linf", 0.1), ("L2", 1.5)])
def test_pgd_equals_torchattacks_from_the_same_start(model, data, norm, eps):
    x, y = data
    torch.manual_seed(7)
    delta0 = torchattacks_start(x, norm, eps)
    reference = (torchattacks.PGD if norm == "Linf" else torchattacks.PGDL2)(
        model, eps=eps, alpha=eps / 4, steps=10
    )
    torch.manual_seed(7)
    expected = reference(x, y)
    ours = PGD(model, norm, eps, steps=10, step_size=eps / 4, early_stop=False, select="last")
    ours.init = delta0
    torch.testing.assert_close(ours(x, y), expected, atol=1e-6, rtol=0)


def test_fgsm_is_one_signed_step(model, data):
    x, y = data
    xr = x.clone().requires_grad_(True)
    F.cross_entropy(model(xr), y, reduction="sum").backward()
    expected = (x + 0.05 * xr.grad.sign()).clamp(0, 1)
    torch.testing.assert_close(FGSM(model, eps=0.05)(x, y), expected)
    torch.testing.assert_close(
        FGSM(model, eps=0.05)(x, y), torchattacks.FGSM(model, eps=0.05)(x, y), atol=1e-6, rtol=0
    )


@pytest.mark.parametrize("norm,eps", [("Linf", 0.05), ("L2", 1.0), ("L1", 8.0)])
def test_pgd_stays_in_the_threat_model_and_is_seeded(model, data, norm, eps):
    x, y = data
    a = PGD(model, norm, eps, steps=5, seed=3)
    out = a(x, y)
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    assert bool((ThreatModel(norm, eps).norms(out - x) <= eps * (1 + 1e-5)).all())
    torch.testing.assert_close(out, a(x, y))
    assert not torch.equal(out, PGD(model, norm, eps, steps=5, seed=4)(x, y))


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def test_early_stop_best_and_restarts_are_never_weaker(model, data):
    x, y = data
    y = model(x).argmax(1).detach()  # all clean-correct, so accuracy measures the attack
    eps = 0.01
    last = PGD(model, eps=eps, steps=5, early_stop=False, select="last", seed=1)
    best = PGD(model, eps=eps, steps=5, seed=1)
    more = PGD(model, eps=eps, steps=5, restarts=3, seed=1)
    acc_last, acc_best, acc_more = (accuracy(model, a(x, y), y) for a in (last, best, more))
    assert acc_best <= acc_last
    assert acc_more <= acc_best
    assert 0.1 < acc_last < 0.9  # the attack matters at this ε


def test_active_mask_attacks_only_those_and_matches_the_full_run(model, data):
    x, y = data
    active = torch.zeros(len(x), dtype=torch.bool)
    active[::3] = True
    a = PGD(model, eps=0.05, steps=4, seed=2)
    full, part = a.run(x, y), a.run(x, y, active=active)
    assert torch.equal(part.x_adv[~active], x[~active])
    assert not bool(part.success[~active].any())
    torch.testing.assert_close(part.x_adv[active], full.x_adv[active], atol=1e-5, rtol=0)


def test_targeted_pgd_reaches_the_target(model, data):
    x, _ = data
    y = model(x).argmax(1).detach()
    target = (y + 1) % 10
    out = PGD(model, eps=0.5, steps=30, step_size=0.05).run_targeted(x, y, target)
    with torch.no_grad():
        reached = model(out.x_adv).argmax(1) == target
    assert torch.equal(reached, out.success)
    assert float(reached.float().mean()) > 0.9


def test_model_mode_and_requires_grad_are_restored(data):
    x, y = data
    model = small_classifier(width=8).train()
    bn = model.encoder.backbone.block1[1]
    stats = bn.running_mean.clone()
    PGD(model, eps=0.05, steps=2)(x, y)
    assert model.training and all(m.training for m in model.modules())
    assert all(p.requires_grad for p in model.parameters())
    torch.testing.assert_close(bn.running_mean, stats)  # eval mode during the attack


def test_core_maximises_any_per_sample_loss(model, data):
    """A representation loss ‖f(x′) − f(x)‖², like a contrastive objective, bound per sample."""
    x, _ = data
    with torch.no_grad():
        clean = model(x)

    def shift(x_adv: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return (model(x_adv) - ref).pow(2).sum(1)

    threat = ThreatModel("Linf", 0.05)
    out = maximise(
        SampleObjective(shift, (clean,)),
        x,
        threat,
        steps=10,
        step_size=0.01,
        generator=make_generator(0),
    )
    noise = threat.random_start(x, make_generator(1))
    with torch.no_grad():
        assert float(shift(out.x_adv, clean).mean()) > 3 * float(shift(noise, clean).mean())
    plain = maximise(
        lambda xa: shift(xa, clean),
        x,
        threat,
        steps=10,
        step_size=0.01,
        generator=make_generator(0),
    )
    torch.testing.assert_close(plain.x_adv, out.x_adv)


def test_bad_inputs_fail_clearly(model, data):
    x, y = data
    with pytest.raises(ValueError, match=r"x must be in \[0, 1\]"):
        PGD(model)(x * 255, y)
    with pytest.raises(ValueError, match="y must be a long tensor"):
        PGD(model)(x, y.float())
    with pytest.raises(ValueError, match="loss must be one of"):
        PGD(model, loss="hinge")
    with pytest.raises(ValueError, match="need steps"):
        PGD(model, steps=0)
