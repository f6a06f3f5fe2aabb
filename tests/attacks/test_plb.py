"""PLB (ProxLogBarrier): exact distances on linear models, the run/radii contract, and strength
against the official FAB on the PGD-trained Fashion-MNIST CNN."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from robustssl.attacks import PGD, PLB, flat_norms
from robustssl.attacks.plb import norm_prox
from robustssl.utils import make_generator

DUAL = {"L2": 2.0, "Linf": 1.0}


def linear_problem(classes: int, n: int = 32, d: int = 40) -> tuple[nn.Module, torch.Tensor]:
    """A linear classifier whose boundaries cross the middle of the box, and points near 0.5 so
    that the box never binds at the minimal perturbation."""
    gen = make_generator(1)
    model = nn.Linear(d, classes)
    with torch.no_grad():
        model.weight.copy_(torch.randn(classes, d, generator=gen))
        model.bias.copy_(-0.5 * model.weight.sum(1))
    return model, 0.5 + 0.1 * (torch.rand(n, d, generator=gen) * 2 - 1)


def boundary_distance(model: nn.Linear, x: Tensor, y: Tensor, norm: str) -> Tensor:
    """Closed form: min_{k≠y} (f_y − f_k)(x) / ‖w_y − w_k‖_dual (the union of half-spaces)."""
    w, logits = model.weight.detach(), model(x).detach()
    gap = logits.gather(1, y[:, None]) - logits
    dist = gap / (w[y][:, None, :] - w[None]).norm(p=DUAL[norm], dim=2)
    return dist.scatter(1, y[:, None], float("inf")).amin(1)


@pytest.mark.parametrize("norm", ["L2", "Linf"])
def test_radii_match_the_closed_form_distance_on_a_linear_model(norm):
    model, x = linear_problem(classes=5)
    y = model(x).argmax(1).detach()
    true = boundary_distance(model, x, y, norm)
    x_adv, radii = PLB(model, norm=norm).search(x, y)
    ratio = radii / true
    assert float(ratio.min()) >= 1 - 1e-4  # never below the true minimum
    assert float(ratio.median()) <= 1.005 and float(ratio.max()) <= 1.03
    assert bool((model(x_adv).argmax(1) != y).all())
    torch.testing.assert_close(flat_norms(x_adv - x, norm), radii)


@pytest.mark.parametrize("norm,tol", [("L2", 0.01), ("Linf", 0.03)])
def test_the_barrier_alone_converges_from_a_far_start(norm, tol):
    # two classes: the adversarial set is one half-space; start_steps=0 leaves only the batch
    # start (another point of the other class), so the log-barrier iterations do the work
    model, x = linear_problem(classes=2)
    y = model(x).argmax(1).detach()
    assert 0 < int(y.sum()) < len(y)
    true = boundary_distance(model, x, y, norm)
    radii = PLB(model, norm=norm, start_steps=0).radii(x, y)
    assert float((radii / true).min()) >= 1 - 1e-4
    assert float((radii / true).max()) <= 1 + tol


def test_run_succeeds_exactly_within_eps_and_leaves_the_rest():
    model, x = linear_problem(classes=5)
    y = model(x).argmax(1).detach()
    y[:3] = (y[:3] + 1) % 5  # already misclassified: radius 0
    attack = PLB(model, norm="L2")
    radii = attack.radii(x, y)
    assert bool((radii[:3] == 0).all()) and bool((radii[3:] > 0).all())
    ordered = radii[3:].sort().values
    eps = float(ordered[10:12].mean())  # between two radii: no tie at ε
    active = torch.ones_like(y, dtype=torch.bool)
    active[-4:] = False
    out = attack.with_eps(eps).run(x, y, active=active)
    expected = (radii <= eps) & active
    assert torch.equal(out.success, expected)
    assert bool((flat_norms(out.x_adv - x, "L2")[out.success] <= eps + 1e-6).all())
    torch.testing.assert_close(out.x_adv[~out.success], x[~out.success], atol=0, rtol=0)
    assert bool((model(out.x_adv[out.success]).argmax(1) != y[out.success]).all())


def test_a_sample_radius_does_not_depend_on_which_samples_are_active():
    model, x = linear_problem(classes=5)
    y = model(x).argmax(1).detach()
    attack = PLB(model, norm="Linf", steps=60)
    full = attack.radii(x, y)
    active = torch.arange(len(y)) % 3 == 0
    part = attack.radii(x, y, active=active)
    torch.testing.assert_close(part[active], full[active], rtol=1e-5, atol=1e-7)
    assert bool(part[~active].isnan().all())


class Constant(nn.Module):
    """Always predicts class 0: no adversarial example exists."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.tensor([1.0, 0.0, 0.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bias.expand(len(x), 3) + 0 * x.flatten(1).sum(1, keepdim=True)


def test_no_start_point_gives_infinite_radius_and_no_success():
    x, y = torch.rand(4, 6, generator=make_generator(0)), torch.zeros(4, dtype=torch.long)
    attack = PLB(Constant(), norm="L2", eps=10.0, steps=5, start_steps=3)
    assert bool(attack.radii(x, y).isinf().all())
    out = attack.run(x, y)
    assert not bool(out.success.any()) and torch.equal(out.x_adv, x)


def test_norm_prox_closed_forms():
    delta = torch.tensor([[3.0, -4.0], [0.3, 0.4]])
    t = torch.tensor([1.0, 1.0])
    torch.testing.assert_close(norm_prox(delta, t, "L2"), torch.tensor([[2.4, -3.2], [0.0, 0.0]]))
    # prox of t‖·‖∞: lower the largest |coordinates| together so that t of L1 mass is removed
    torch.testing.assert_close(
        norm_prox(torch.tensor([[3.0, -4.0, 0.5]]), torch.tensor([1.5]), "Linf"),
        torch.tensor([[2.75, -2.75, 0.5]]),
    )


def test_bad_arguments_fail_early():
    model = nn.Linear(4, 3)
    with pytest.raises(ValueError, match="L1"):
        PLB(model, norm="L1")
    with pytest.raises(ValueError, match="steps"):
        PLB(model, steps=0)
    with pytest.raises(ValueError, match="mu"):
        PLB(model, mu=(1e-3, 0.1))


@pytest.mark.realdata
@pytest.mark.parametrize("norm,eps", [("Linf", 0.1), ("L2", 1.5)])
def test_plb_matches_official_fab_and_beats_pgd_on_the_robust_model(robust_fmnist, norm, eps):
    from pyautoattack.fab_pt import FABAttack_PT

    model, x, y = robust_fmnist["model"], robust_fmnist["x"][:64], robust_fmnist["y"][:64]
    radii = PLB(model, norm=norm).radii(x, y)
    fab = FABAttack_PT(model, norm=norm, n_iter=100, seed=0)
    with torch.no_grad():
        adv = fab.attack_single_run(x, y)
        fooled = model(adv).argmax(1) != y
    fab_radii = flat_norms(adv - x, norm).masked_fill(~fooled, float("inf"))
    both = (radii > 0) & radii.isfinite() & fab_radii.isfinite()
    assert int(both.sum()) >= 20
    ratio = radii[both] / fab_radii[both]
    assert float(ratio.median()) <= 1.02 and float(ratio.mean()) <= 1.03
    pgd = PGD(model, norm, eps, steps=20).run(x, y)
    with torch.no_grad():
        clean = model(x).argmax(1) == y
    assert float((radii > eps).float().mean()) <= float((clean & ~pgd.success).float().mean())
