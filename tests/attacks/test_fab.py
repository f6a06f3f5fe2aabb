"""FAB: the boundary projections (official fab_projections.py as reference), exact minimum norms
on linear models, the threat-model property, determinism, `active`, and strength on real data
against the official FABAttack_PT."""

from __future__ import annotations

import math
import time

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pyautoattack.fab_projections import projection_l1, projection_l2, projection_linf
from pyautoattack.fab_pt import FABAttack_PT
from torch import nn

from robust_model import accuracy
from robustssl.attacks import FAB, ThreatModel, attack_mode
from robustssl.attacks.fab import boundary_step

OFFICIAL = {"Linf": projection_linf, "L2": projection_l2, "L1": projection_l1}
P = {"Linf": math.inf, "L2": 2, "L1": 1}


def tiny_model(seed: int, hidden: int = 12, classes: int = 4) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Flatten(), nn.Linear(16, hidden), nn.ReLU(), nn.Linear(hidden, classes)
    ).eval()


def tiny_data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 4, 4, generator=gen), torch.randint(0, 4, (n,), generator=gen)


def mostly_correct(model: nn.Module, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs labelled with the model's prediction, except every 4th (a random label)."""
    x, y = tiny_data(n, seed)
    with torch.no_grad():
        pred = model(x).argmax(1)
    return x, torch.where(torch.arange(n) % 4 == 0, y, pred)


@pytest.mark.parametrize("norm", ["Linf", "L2", "L1"])
def test_boundary_step_matches_the_official_projection(norm):
    gen = torch.Generator().manual_seed(0)
    t, w, z = (torch.rand(200, 40, generator=gen) for _ in range(3))
    w = w * 2 - 1
    w[:, :5] = 0.0  # coordinates the hyperplane ignores
    b = (w * z).sum(1)  # the hyperplane meets the box at z
    ours = boundary_step(t, w, b - (w * t).sum(1), norm)
    ref = OFFICIAL[norm](t, w, b)
    torch.testing.assert_close((w * (t + ours)).sum(1), b, atol=1e-4, rtol=0)
    assert float((t + ours).min()) >= -1e-6 and float((t + ours).max()) <= 1 + 1e-6
    torch.testing.assert_close(
        ours.norm(p=P[norm], dim=1), ref.norm(p=P[norm], dim=1), atol=1e-5, rtol=1e-5
    )
    assert bool((ours[:, :5] == 0).all())


def test_boundary_step_closed_forms():
    t = torch.full((3, 4), 0.5)
    w = torch.tensor([[1.0, 2.0, 0.0, -2.0]] * 3)
    r = torch.tensor([0.09, -0.09, 0.0])
    # L2 without a binding box: δ = r·w/‖w‖²
    torch.testing.assert_close(boundary_step(t, w, r, "L2"), r[:, None] * w / 9)
    # L∞: every useful coordinate moves by r/‖w‖₁; L1: only the largest |w_j| (a tie: either)
    linf = boundary_step(t, w, r, "Linf")
    torch.testing.assert_close(linf, r[:, None] / 5 * w.sign())
    l1 = boundary_step(t, w, r, "L1")
    torch.testing.assert_close(l1.abs().sum(1), r.abs() / 2)
    # the box cannot reach the plane: every coordinate goes to its useful bound
    far = boundary_step(t[:1], w[:1], torch.tensor([100.0]), "L2")
    torch.testing.assert_close(far, torch.tensor([[0.5, 0.5, 0.0, -0.5]]))


def linear_problem(n: int = 60, d: int = 40, classes: int = 5):
    gen = torch.Generator().manual_seed(3)
    model = nn.Linear(d, classes).requires_grad_(False)
    model.weight.copy_(torch.randn(classes, d, generator=gen))
    model.bias.copy_(torch.randn(classes, generator=gen))
    x = (0.5 + 0.05 * torch.randn(n, d, generator=gen)).clamp(0, 1)
    return model.eval(), x, model(x).argmax(1)


@pytest.mark.parametrize("norm", ["L2", "Linf"])
@pytest.mark.parametrize("targeted", [False, True])
def test_radii_are_the_exact_boundary_distance_of_a_linear_model(norm, targeted):
    model, x, y = linear_problem()
    logits, weight = model(x), model.weight
    gaps = logits.gather(1, y[:, None]) - logits  # f_y − f_k ≥ 0
    normal = weight[None] - weight[y][:, None]  # ∇(f_k − f_y), (n, C, d)
    dual = {"L2": 2, "Linf": 1}[norm]
    dist = (gaps / normal.norm(p=dual, dim=2)).scatter(1, y[:, None], math.inf)
    exact, k = dist.min(1)
    w = normal[torch.arange(len(x)), k]
    direction = w / w.norm(dim=1, keepdim=True) if norm == "L2" else w.sign()
    closest = x + exact[:, None] * direction  # the closest boundary point, without the box
    assert float(closest.min()) > 0 and float(closest.max()) < 1  # so the box does not bind
    fab = FAB(model, norm, eps=0.1, steps=60, targeted=targeted, n_target_classes=4)
    x_adv, radius = fab.minimum_norm(x, y)
    assert bool((radius >= exact * (1 - 1e-4)).all())
    assert bool((radius <= exact * 1.02).all())
    assert bool((model(x_adv).argmax(1) != y).all())
    torch.testing.assert_close(ThreatModel(norm, 1.0).norms(x_adv - x), radius)


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    norm=st.sampled_from(["Linf", "L2", "L1"]),
    eps=st.floats(0.01, 2.0),
    targeted=st.booleans(),
)
def test_outputs_stay_in_the_threat_model(seed, norm, eps, targeted):
    model = tiny_model(seed)
    x, y = tiny_data(16, seed)
    kw = dict(targeted=targeted, n_target_classes=2, allow_large_eps=True)  # ε up to 2 in L∞ too
    out = FAB(model, norm, eps, steps=8, n_restarts=2, **kw).run(x, y)
    assert float(out.x_adv.min()) >= 0 and float(out.x_adv.max()) <= 1
    norms = ThreatModel(norm, eps).norms(out.x_adv - x)
    assert bool((norms <= eps * (1 + 1e-6)).all())
    with torch.no_grad():
        wrong = model(out.x_adv).argmax(1) != y
    assert bool((wrong[out.success]).all())
    assert torch.equal(out.x_adv[~out.success], x[~out.success])
    torch.testing.assert_close(-out.loss[out.success], norms[out.success])


@pytest.mark.parametrize("targeted", [False, True])
def test_seeded_and_active_samples_are_independent(targeted):
    model = tiny_model(1)
    x, y = mostly_correct(model, 32, 1)
    fab = FAB(model, "L2", 0.12, steps=20, n_restarts=2, targeted=targeted, n_target_classes=3)
    full = fab.run(x, y)
    again = fab.run(x, y)
    assert torch.equal(full.x_adv, again.x_adv) and torch.equal(full.success, again.success)
    assert 0 < int(full.success.sum()) < len(x)
    active = torch.arange(len(x)) % 3 != 0
    part = fab.run(x, y, active)
    assert torch.equal(part.x_adv[~active], x[~active]) and not bool(part.success[~active].any())
    assert torch.equal(part.success[active], full.success[active])
    torch.testing.assert_close(part.x_adv[active], full.x_adv[active], atol=1e-6, rtol=0)


def test_success_is_radius_within_eps_and_restarts_only_help():
    model = tiny_model(2)
    x, y = mostly_correct(model, 48, 2)
    eps = 0.07
    one = FAB(model, "Linf", eps, steps=15)
    radius = one.radii(x, y)
    assert torch.equal(one.run(x, y).success, radius <= eps)
    with torch.no_grad():
        wrong = model(x).argmax(1) != y
    assert bool(wrong.any()) and bool((radius[wrong] == 0).all())
    assert bool(torch.isfinite(radius).all())
    more = FAB(model, "Linf", eps, steps=15, n_restarts=3).radii(x, y)
    assert bool((more <= radius).all()) and bool((more < radius).any())
    active = torch.arange(len(x)) % 2 == 0
    part = one.radii(x, y, active)
    assert bool(part[~active].isnan().all())
    torch.testing.assert_close(part[active], radius[active], atol=1e-6, rtol=0)


def test_clear_errors():
    model, (x, y) = tiny_model(0), tiny_data(4, 0)
    with pytest.raises(ValueError, match="steps"):
        FAB(model, steps=0)
    with pytest.raises(ValueError, match="beta"):
        FAB(model, beta=1.0)
    with pytest.raises(ValueError, match="norm"):
        FAB(model, norm="L3")
    with pytest.raises(ValueError, match="n_target_classes=4"):
        FAB(model, targeted=True, n_target_classes=4).run(x, y)
    with pytest.raises(ValueError, match="active"):
        FAB(model).radii(x, y, active=torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        FAB(model).radii(x * 2, y)


@pytest.mark.realdata
def test_fab_t_at_least_as_strong_as_official(robust_fmnist):
    model, x, y = robust_fmnist["model"], robust_fmnist["x"][:500], robust_fmnist["y"][:500]
    start = time.perf_counter()
    ours = FAB(model, "Linf", 0.1, steps=100, targeted=True, n_target_classes=9).run(x, y)
    ours_seconds = time.perf_counter() - start
    assert bool((ThreatModel("Linf", 0.1).norms(ours.x_adv - x) <= 0.1 + 1e-7).all())
    official = FABAttack_PT(
        model,
        norm="Linf",
        n_restarts=1,
        n_iter=100,
        eps=0.1,
        seed=0,
        targeted=True,
        n_target_classes=9,
    )
    start = time.perf_counter()
    with attack_mode(model):  # frozen parameters: no weight gradients in the official code
        x_ref = official.perturb(x, y)
    ref_seconds = time.perf_counter() - start
    ours_acc, ref_acc = accuracy(model, ours.x_adv, y), accuracy(model, x_ref, y)
    print(
        f"FAB-T robust accuracy ours {ours_acc:.3f} ({ours_seconds:.0f} s), official "
        f"{ref_acc:.3f} ({ref_seconds:.0f} s)"
    )
    assert ours_acc <= ref_acc + 0.005
