"""Single-step adversaries (FGSM-RS, N-FGSM): the step the papers define, the ball each stays in,
a higher loss than the clean input, determinism and the input checks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from robust_model import small_classifier, synthetic_images, train_clean
from robustssl.attacks import (
    FGSMRS,
    NFGSM,
    SampleObjective,
    SingleStep,
    ThreatModel,
    classifier_objective,
    single_step,
)
from robustssl.attacks.threat import flat_norms
from robustssl.utils import make_generator

EPS = {"Linf": 0.05, "L2": 1.0}


@pytest.fixture(scope="module")
def model() -> nn.Module:
    return train_clean(small_classifier(width=8), *synthetic_images(2000))


@pytest.fixture(scope="module")
def data() -> tuple[Tensor, Tensor]:
    return synthetic_images(64, seed=5)


def ce(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    with torch.no_grad():
        return F.cross_entropy(model(x), y, reduction="none")


@pytest.mark.parametrize("kind", ["fgsm_rs", "n_fgsm"])
@pytest.mark.parametrize("norm", ["Linf", "L2"])
def test_raises_the_loss_over_the_clean_input(model, data, kind, norm):
    x, y = data
    adversary = single_step(kind, norm, EPS[norm])
    x_adv = adversary.perturb(classifier_objective(model, "ce", y), x, make_generator(0))
    clean, adv = ce(model, x, y), ce(model, x_adv, y)
    assert float(adv.mean()) > 2 * float(clean.mean()) + 0.1
    assert float((adv > clean).float().mean()) >= 0.9


def test_fgsm_rs_is_the_papers_step_from_its_start(model, data):
    """Uniform start in [−ε, ε] ∩ box, δ ← clip_ε(δ + 1.25ε·sign ∇), x + δ into the box."""
    x, y = data
    eps = 0.05
    adversary = single_step("fgsm_rs", "Linf", eps)
    start = adversary.start(x, make_generator(3))
    assert float((start - x).abs().max()) <= eps + 1e-7
    xs = start.clone().requires_grad_(True)
    F.cross_entropy(model(xs), y, reduction="sum").backward()
    delta = (start + 1.25 * eps * xs.grad.sign() - x).clamp(-eps, eps)
    expected = (x + delta).clamp(0, 1)
    got = adversary.perturb(classifier_objective(model, "ce", y), x, make_generator(3))
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)


def test_n_fgsm_is_the_papers_step_without_projection(model, data):
    """η ~ U(−2ε, 2ε) into the box, δ = η + ε·sign ∇ at x + η, x + δ into the box (no ε-clip)."""
    x, y = data
    eps = 0.05
    adversary = single_step("n_fgsm", "Linf", eps)
    start = adversary.start(x, make_generator(4))
    assert float((start - x).abs().max()) > 1.5 * eps  # the noise ball is 2ε, not ε
    xs = start.clone().requires_grad_(True)
    F.cross_entropy(model(xs), y, reduction="sum").backward()
    expected = (start + eps * xs.grad.sign()).clamp(0, 1)
    got = adversary.perturb(classifier_objective(model, "ce", y), x, make_generator(4))
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("norm", ["Linf", "L2"])
@pytest.mark.parametrize(
    "kind,options,bound",
    [
        ("fgsm_rs", {}, 1.0),
        ("n_fgsm", {}, 3.0),
        ("n_fgsm", {"clip": 1.0}, 1.0),
        ("n_fgsm", {"noise": 4.0}, 5.0),
    ],
)
def test_stays_in_its_ball_and_the_box(model, data, norm, kind, options, bound):
    x, y = data
    eps = EPS[norm]
    adversary = single_step(kind, norm, eps, **options)
    assert adversary.radius == pytest.approx(bound * eps)
    x_adv = adversary.perturb(classifier_objective(model, "ce", y), x, make_generator(1))
    norms = flat_norms(x_adv - x, norm)
    assert float(norms.max()) <= bound * eps * (1 + 1e-5)
    assert float(x_adv.min()) >= 0.0 and float(x_adv.max()) <= 1.0
    if bound > 1.0:  # N-FGSM is not silently projected back to the ε-ball
        assert float(norms.max()) > 1.2 * eps


@pytest.mark.parametrize("kind", ["fgsm_rs", "n_fgsm"])
def test_deterministic_with_a_seeded_generator(model, data, kind):
    x, y = data
    adversary = single_step(kind, "Linf", 0.05)
    objective = classifier_objective(model, "ce", y)
    a = adversary.perturb(objective, x, make_generator(11))
    b = adversary.perturb(objective, x, make_generator(11))
    c = adversary.perturb(objective, x, make_generator(12))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_subset_leaves_the_others_unchanged_and_matches_the_full_batch(model, data):
    x, y = data
    adversary = single_step("n_fgsm", "Linf", 0.05)
    objective = classifier_objective(model, "ce", y)
    active = torch.arange(len(x)) % 3 == 0
    part = adversary.perturb(objective, x, make_generator(2), active)
    full = adversary.perturb(objective, x, make_generator(2))
    assert torch.equal(part[~active], x[~active])
    torch.testing.assert_close(part[active], full[active], atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="SampleObjective"):
        adversary.perturb(lambda z: model(z).sum(1), x, make_generator(2), active)


def test_any_per_sample_objective_works_like_in_the_adversary_slot(model, data):
    """A feature-space loss (a plain closure, as methods give the PGD slot) is raised too."""
    x, _ = data
    encoder = model.encoder
    with torch.no_grad():
        target = encoder(x)

    def away(z: Tensor) -> Tensor:
        return -F.cosine_similarity(encoder(z), target, dim=1)

    x_adv = single_step("fgsm_rs", "Linf", 0.05).perturb(away, x, make_generator(0))
    with torch.no_grad():
        assert float(away(x_adv).mean()) > float(away(x).mean()) + 1e-3


def test_classifier_attacks_report_success_and_settings(model, data):
    x, y = data
    for cls, label in ((FGSMRS, "FGSM-RS"), (NFGSM, "N-FGSM")):
        attack = cls(model, "Linf", 0.1, seed=3)
        out = attack.run(x, y)
        with torch.no_grad():
            assert torch.equal(out.success, model(out.x_adv).argmax(1) != y)
        assert bool(out.success.any())
        assert attack.settings()["attack"] == label
        wider = attack.with_eps(0.2)
        assert float((wider(x, y) - x).abs().max()) > 0.1 + 1e-3


def test_bad_input_is_refused_before_compute(model, data):
    x, y = data
    with pytest.raises(ValueError, match="255"):
        FGSMRS(model, "Linf", 8)
    with pytest.raises(ValueError, match="L1"):
        single_step("n_fgsm", "L1", 1.0)
    with pytest.raises(ValueError, match="kind"):
        single_step("pgd", "Linf", 0.1)
    with pytest.raises(ValueError, match="noise"):
        single_step("n_fgsm", "Linf", 0.1, noise=-1.0)
    with pytest.raises(ValueError, match="clip"):
        single_step("n_fgsm", "Linf", 0.1, clip=0.0)
    with pytest.raises(ValueError, match="step"):
        single_step("fgsm_rs", "Linf", 0.1, step=float("nan"))
    with pytest.raises(ValueError, match="eps"):
        single_step("fgsm_rs", "Linf", 0.0)
    with pytest.raises(ValueError, match="noise"):  # built directly, still validated
        SingleStep("n_fgsm", ThreatModel("Linf", 0.1), -1.0, 1.0, None)
    with pytest.raises(ValueError, match="L1"):
        SingleStep("fgsm_rs", ThreatModel("L1", 1.0), 1.0, 1.25, 1.0)
    bad = x.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        NFGSM(model, "Linf", 0.1)(bad, y)
    with pytest.raises(ValueError, match="labels"):
        NFGSM(model, "Linf", 0.1)(x, torch.full_like(y, 10))


def test_sample_objective_subset_is_used_for_the_active_samples(model, data):
    x, y = data
    seen: list[int] = []

    def fn(z: Tensor, labels: Tensor) -> Tensor:
        seen.append(len(z))
        return F.cross_entropy(model(z), labels, reduction="none")

    active = torch.zeros(len(x), dtype=torch.bool)
    active[:5] = True
    single_step("fgsm_rs", "Linf", 0.05).perturb(
        SampleObjective(fn, (y,)), x, make_generator(0), active
    )
    assert seen == [5]
