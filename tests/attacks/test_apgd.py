"""APGD (Croce & Hein 2020, Alg. 1): the checkpoint schedule, bookkeeping against the official
``pyautoattack`` code from the same start, the attack conventions, and strength on real data."""

from __future__ import annotations

import time
from functools import partial
from itertools import pairwise

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from pyautoattack.autopgd_base import APGDAttack, APGDAttack_targeted
from torch import nn

from robust_model import accuracy, small_classifier, synthetic_images, train_clean
from robustssl.attacks import APGD, PGD, SampleObjective, ThreatModel, apgd_checkpoints, dlr_loss
from robustssl.attacks.apgd import apgd_run, apgd_start
from robustssl.utils import make_generator


@pytest.fixture(scope="module")
def model() -> nn.Module:
    return train_clean(small_classifier(width=8), *synthetic_images(2000))


@pytest.fixture(scope="module")
def data() -> tuple[torch.Tensor, torch.Tensor]:
    return synthetic_images(64, seed=5)


def intervals(marks: list[int]) -> list[int]:
    return [b - a for a, b in pairwise([0, *marks])]


def test_checkpoints_for_100_steps_are_the_papers():
    assert intervals(apgd_checkpoints(100)) == [22, 19, 16, 13, 10, 7, 6, 6]
    assert apgd_checkpoints(100)[-1] == 99
    assert intervals(apgd_checkpoints(1000))[:3] == [220, 190, 160]
    assert apgd_checkpoints(1) == [1]


@given(st.integers(1, 3000))
def test_checkpoints_shrink_to_a_floor_and_fill_the_budget(steps):
    gaps = intervals(apgd_checkpoints(steps))
    floor = max(int(0.06 * steps), 1)
    assert gaps[0] == max(int(0.22 * steps), 1)
    assert all(a >= b >= floor for a, b in pairwise(gaps))
    assert steps - sum(gaps) < max(gaps[-1] - max(int(0.03 * steps), 1), floor)


def test_invalid_arguments_fail_clearly(model, data):
    with pytest.raises(ValueError, match="APGD supports norms Linf, L2"):
        APGD(model, norm="L1", eps=1.0)
    with pytest.raises(ValueError, match="steps must be ≥ 1"):
        APGD(model, steps=0)
    with pytest.raises(ValueError, match="n_restarts must be ≥ 1"):
        APGD(model, n_restarts=0)
    with pytest.raises(ValueError, match="eot_iter must be ≥ 1"):
        APGD(model, eot_iter=0)
    with pytest.raises(ValueError, match="loss must be one of ce, dlr"):
        APGD(model, loss="hinge")
    with pytest.raises(ValueError, match="rho must be in"):
        APGD(model, rho=1.5)
    with pytest.raises(ValueError, match="steps must be ≥ 1"):
        apgd_checkpoints(0)
    x, y = data
    with pytest.raises(ValueError, match="n_target_classes=10 needs more than 10 classes"):
        APGD(model, targeted=True, n_target_classes=10, loss="dlr")(x, y)
    two = nn.Sequential(nn.Flatten(), nn.Linear(784, 2))
    with pytest.raises(ValueError, match="DLR loss needs ≥ 3 classes"):
        APGD(two, loss="dlr")(x, y % 2)


def misclassified(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(x).argmax(1) != y


@pytest.mark.parametrize("norm,eps", [("Linf", 0.01), ("L2", 0.2)])
@pytest.mark.parametrize("targeted", [False, True])
def test_outputs_stay_in_the_threat_model_and_are_seeded(model, data, norm, eps, targeted):
    x, y = data
    kw = dict(steps=20, loss="dlr" if targeted else "ce", targeted=targeted, n_target_classes=3)
    attack = APGD(model, norm, eps, seed=3, **kw)
    out = attack.run(x, y)
    assert float(out.x_adv.min()) >= 0 and float(out.x_adv.max()) <= 1
    assert bool((ThreatModel(norm, eps).norms(out.x_adv - x) <= eps * (1 + 1e-5)).all())
    assert torch.equal(out.success, misclassified(model, out.x_adv, y))
    assert 0 < int(out.success.sum()) < len(x)  # the attack matters at this ε
    torch.testing.assert_close(attack(x, y), out.x_adv, atol=0, rtol=0)
    assert not torch.equal(APGD(model, norm, eps, seed=4, **kw)(x, y), out.x_adv)


@pytest.mark.parametrize("targeted", [False, True])
def test_active_mask_attacks_only_those_and_matches_the_full_run(model, data, targeted):
    x, y = data
    active = torch.zeros(len(x), dtype=torch.bool)
    active[::3] = True
    attack = APGD(model, eps=0.01, steps=20, n_restarts=2, targeted=targeted, n_target_classes=2)
    full, part = attack.run(x, y), attack.run(x, y, active=active)
    assert torch.equal(part.x_adv[~active], x[~active])
    assert not bool(part.success[~active].any())
    assert torch.equal(part.success[active], full.success[active])
    torch.testing.assert_close(part.x_adv[active], full.x_adv[active], atol=1e-5, rtol=0)


class Counting(nn.Module):
    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner, self.calls = inner, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.inner(x)


def test_budget_one_check_then_eot_passes_per_iterate(model, data):
    x, _ = data
    y = model(x).argmax(1).detach()
    counting = Counting(model)
    attack = APGD(counting, eps=0.0, steps=7, eot_iter=3)
    attack(x, y)  # ε = 0: nothing succeeds, all 7 steps
    # the first call also learns the class count (one forward of 2 rows, for the label check)
    assert counting.calls == 1 + 1 + 3 * (7 + 1)
    counting.calls = 0
    attack(x, y)
    assert counting.calls == 1 + 3 * (7 + 1)
    a = APGD(model, eps=0.01, steps=20, eot_iter=3)(x, y)
    torch.testing.assert_close(a, APGD(model, eps=0.01, steps=20)(x, y), atol=1e-6, rtol=0)


def test_clean_misclassified_points_are_returned_unchanged(model, data):
    x, y = data
    wrong = (y + 1) % 10
    out = APGD(model, eps=0.01, steps=5).run(x, wrong)
    assert bool(out.success.all())
    assert torch.equal(out.x_adv, x)


def test_apgd_100_is_at_least_as_strong_as_pgd_10(model):
    x, y = synthetic_images(160, seed=6)
    robust = {}
    for norm, eps in (("Linf", 0.01), ("L2", 0.2)):
        robust[norm] = accuracy(model, APGD(model, norm, eps, steps=100)(x, y), y)
        assert robust[norm] <= accuracy(model, PGD(model, norm, eps, steps=10)(x, y), y) + 0.01
    targeted = APGD(model, "Linf", 0.01, loss="dlr", targeted=True, n_target_classes=3)
    assert accuracy(model, targeted(x, y), y) <= robust["Linf"] + 0.01


def plain_objective(model: nn.Module, loss: str, y: torch.Tensor, flags: bool) -> SampleObjective:
    """CE or DLR; without success ``flags`` no sample leaves the batch (as in the official run)."""
    fn = dlr_loss if loss == "dlr" else partial(F.cross_entropy, reduction="none")

    def value(x_adv: torch.Tensor, t: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        logits = model(x_adv)
        return (fn(logits, t), logits.argmax(1) != t) if flags else fn(logits, t)

    return SampleObjective(value, (y,))


@pytest.mark.parametrize("loss", ["ce", "dlr"])
def test_single_run_follows_the_official_trajectory(model, loss):
    """From the same start our iterates are the official ones for almost every sample; only the
    first checkpoint's count differs (the official compares the first loss with an unset 0)."""
    x, y = synthetic_images(100, seed=7)
    threat, steps = ThreatModel("Linf", 0.01), 100
    start = apgd_start(x, threat, make_generator(0))
    reference = APGDAttack(model, n_iter=steps, eps=0.01, loss=loss, seed=0, device="cpu")
    reference.init_hyperparam(x)
    with torch.no_grad():
        x_best, robust, loss_best, _ = reference.attack_single_run(x, y, x_init=start)
    ours = apgd_run(plain_objective(model, loss, y, False), x, start, threat, steps)
    same = (ours.x_adv - x_best).flatten(1).abs().amax(1) < 1e-5
    assert float(same.float().mean()) >= 0.9
    assert float(ours.loss.mean()) >= float(loss_best.mean()) - 1e-3
    early = apgd_run(plain_objective(model, loss, y, True), x, start, threat, steps)
    assert float((early.success == ~robust).float().mean()) >= 0.95
    assert 0 < int(early.success.sum()) < len(x)


def official_accuracy(attack: APGDAttack, x: torch.Tensor, y: torch.Tensor, model: nn.Module):
    start = time.perf_counter()
    x_adv = attack.perturb(x, y)
    return accuracy(model, x_adv, y), time.perf_counter() - start


def our_accuracy(attack: APGD, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    start = time.perf_counter()
    out = attack.run(x, y)
    assert bool((out.x_adv - x).abs().amax() <= attack.eps + 1e-6)
    return accuracy(attack.model, out.x_adv, y), time.perf_counter() - start


@pytest.mark.realdata
@pytest.mark.parametrize("targeted", [False, True], ids=["apgd-ce", "apgd-t"])
def test_as_strong_as_the_official_apgd_on_fashion_mnist(robust_fmnist, targeted):
    model, x, y = robust_fmnist["model"], robust_fmnist["x"][:500], robust_fmnist["y"][:500]
    common = dict(n_iter=100, norm="Linf", eps=0.1, n_restarts=1, seed=0, device="cpu")
    if targeted:
        reference = APGDAttack_targeted(model, n_target_classes=9, **common)
        ours = APGD(model, "Linf", 0.1, loss="dlr", targeted=True, n_target_classes=9)
    else:
        reference = APGDAttack(model, loss="ce", **common)
        ours = APGD(model, "Linf", 0.1, loss="ce")
    for p in model.parameters():
        p.requires_grad_(False)  # as our attack does: input gradients only (a fair timing)
    try:
        official, t_official = official_accuracy(reference, x, y, model)
    finally:
        for p in model.parameters():
            p.requires_grad_(True)
    mine, t_mine = our_accuracy(ours, x, y)
    print(f"official {official:.3f} ({t_official:.1f} s), ours {mine:.3f} ({t_mine:.1f} s)")
    assert mine <= official + 0.005
    assert accuracy(model, x, y) - mine > 0.1  # the attack does break points
