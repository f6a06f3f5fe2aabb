"""Exact L∞ certificates for conv + max-pool models: the hand-made model's closed form, agreement
with exhaustive corner enumeration on L-T, no certificate PGD can break, verified counter-examples,
and a concrete counter-example to the seed's Assumption 1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from torch import nn

from robustssl.attacks import PGD
from robustssl.data.extended import extended_dataset
from robustssl.data.toy import patterns, placements, toy_spec, toy_tensors
from robustssl.evaluation.certify.conv_maxpool import CertificationResult as CertResult
from robustssl.evaluation.certify.conv_maxpool import certify
from robustssl.evaluation.certify.corners import corner_margins
from robustssl.models.toy import PatternMatcher, hand_made_model
from robustssl.toy.train import train_extended, train_full_batch

EPS_GRID = (0.05, 0.1, 0.2, 0.3, 0.4, 0.45)


def margins(model: PatternMatcher, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """max_{c≠y} logit_c − logit_y by the forward pass, float64."""
    with torch.no_grad():
        logits = model.double()(x.double())
        model.float()
    other = logits.scatter(1, y[:, None], -torch.inf).amax(1)
    return other - logits.gather(1, y[:, None]).squeeze(1)


@pytest.fixture(scope="module")
def lt_models() -> dict[str, PatternMatcher]:
    x, y = toy_tensors("lt")
    models = {"hand-made": hand_made_model(patterns("lt"))}
    for seed in range(4):
        model = PatternMatcher(2, 3, seed=seed)
        train_full_batch(model, x, y, epochs=20, lr=0.1)
        models[f"standard-{seed}"] = model
    model = PatternMatcher(2, 3, seed=0)
    train_full_batch(model, x, y, epochs=40, lr=0.01, fgsm_eps=0.1)
    models["fgsm"] = model
    model = PatternMatcher(2, 3, seed=0)
    train_extended(model, extended_dataset("lt").loader(170, fraction=0.003), epochs=1)
    models["extended-short"] = model
    return models


def overlap_deficit(name: str) -> torch.Tensor:
    """min over the other class's placements of |its pixels outside the sample's pattern|."""
    spec, pats = toy_spec(name), patterns(name)
    k, out = spec.pattern_size, []

    def canvas(i: int, j: int, c: int) -> torch.Tensor:
        image = torch.zeros(spec.canvas, spec.canvas)
        image[i : i + k, j : j + k] = pats[c]
        return image

    for i, j, c in placements(name):
        own = canvas(i, j, c)
        others = [canvas(a, b, 1 - c) for a, b, d in placements(name) if d == 1 - c]
        out.append(min(int(((o == 1) & (own == 0)).sum()) for o in others))
    return torch.tensor(out, dtype=torch.float64)


@pytest.mark.parametrize(
    ("name", "eps_list"), [("lt", (0.1, 0.3, 0.49)), ("triangle_square", (0.3,))]
)
def test_hand_made_margin_has_the_closed_form_of_the_proof(name: str, eps_list: tuple):
    """docs/toy.md: worst margin = −(m/n)(1 − 2ε), m = smallest count of other-class pixels off
    the sample's pattern, n = pixels per pattern; so certified iff ε < 0.5."""
    x, y = toy_tensors(name)
    model = hand_made_model(patterns(name))
    m, n = overlap_deficit(name), float(patterns(name)[0].sum())
    assert float(m.min()) >= 1
    for eps in eps_list:
        result = certify(model, x, y, eps)
        assert torch.allclose(result.margin, -(m / n) * (1 - 2 * eps), atol=1e-7)
        assert result.certified_accuracy == 1.0 and not bool(result.flipped.any())


def test_hand_made_model_is_refuted_from_half_with_verified_counterexamples():
    x, y = toy_tensors("lt")
    model = hand_made_model(patterns("lt"))
    tie = certify(model, x, y, 0.5)
    assert tie.certified_accuracy == 0.0 and bool((tie.margin.abs() < 1e-7).all())
    for eps in (0.51, 0.6):
        result = certify(model, x, y, eps)
        assert result.certified_accuracy == 0.0 and bool(result.flipped.all())
        adv = result.counterexamples
        assert float((adv - x).abs().max()) <= eps + 1e-6
        assert float(adv.min()) >= 0 and float(adv.max()) <= 1
        with torch.no_grad():
            assert bool((model(adv).argmax(1) != y).all())
        assert torch.allclose(margins(model, adv, y), result.margin, atol=1e-6)


def certificates(models: dict[str, PatternMatcher]) -> Iterator[tuple[str, float, CertResult]]:
    """(model name, ε, its certificate on the L-T samples) over the models and EPS_GRID."""
    x, y = toy_tensors("lt")
    for name, model in models.items():
        for eps in EPS_GRID:
            yield name, eps, certify(model, x, y, eps)


def test_certificate_agrees_with_exhaustive_corner_enumeration_on_lt(lt_models):
    x, y = toy_tensors("lt")
    certified = 0
    for name, eps, result in certificates(lt_models):
        corner, worst = corner_margins(lt_models[name], x, y, eps)
        assert bool((result.margin >= corner - 1e-9).all()), name  # corners lie in the box
        assert torch.equal(result.certified, corner < 0), (name, eps)
        assert torch.allclose(margins(lt_models[name], worst, y), corner, atol=1e-5)
        certified += int(result.certified.sum())
        assert result.gap <= 1e-9 and not bool(result.undecided.any())
    assert 0 < certified < len(lt_models) * len(EPS_GRID) * 8  # both outcomes occur


def test_corners_miss_counterexamples_of_an_untrained_lt_model():
    """Assumption 1 on L-T itself: the seeded random init 1 at ε = 0.4 keeps its label at all
    2^16 corners of three boxes, yet an interior point flips each of them."""
    x, y = toy_tensors("lt")
    model = PatternMatcher(2, 3, seed=1)
    result = certify(model, x, y, 0.4)
    corner, _ = corner_margins(model, x, y, 0.4)
    missed = (corner < 0) & result.flipped
    assert missed.tolist() == [True, False, True, False, True, False, False, False]
    assert bool((result.margin[missed] > 0).all())
    assert torch.allclose(margins(model, result.counterexamples, y), result.margin, atol=1e-5)


def test_pgd_never_breaks_a_certified_sample_nor_beats_the_exact_margin(lt_models):
    x, y = toy_tensors("lt")
    broken_by_pgd = 0
    for name, eps, result in certificates(lt_models):
        model = lt_models[name]
        adv = PGD(model, "Linf", eps, steps=50, step_size=0.1 * eps, seed=1)(x, y)
        found = margins(model, adv, y)
        assert bool((found <= result.margin + 1e-6).all()), (name, eps)
        assert not bool((result.certified & (found >= 0)).any()), (name, eps)
        broken_by_pgd += int((found > 0).sum())
    assert broken_by_pgd > 0  # the check had attacks that succeeded


def test_no_random_point_of_the_box_beats_the_exact_margin(lt_models):
    x, y = toy_tensors("lt")
    gen = torch.Generator().manual_seed(0)
    for model in (lt_models["standard-0"], lt_models["fgsm"]):
        result = certify(model, x, y, 0.3)
        for i in range(len(x)):
            lo, hi = (x[i] - 0.3).clamp(0, 1), (x[i] + 0.3).clamp(0, 1)
            u = torch.rand(4000, *x.shape[1:], generator=gen)
            points = lo + (hi - lo) * torch.where(u < 0.25, 0.0, torch.where(u > 0.75, 1.0, u))
            found = margins(model, points, y[i].repeat(len(points)))
            assert float(found.max()) <= float(result.margin[i]) + 1e-6
        assert torch.allclose(margins(model, result.counterexamples, y), result.margin, atol=1e-5)


def test_unclipped_box_certifies_no_more_and_the_hand_made_proof_needs_no_clipping(lt_models):
    x, y = toy_tensors("lt")
    for model in lt_models.values():
        clipped, free = certify(model, x, y, 0.3), certify(model, x, y, 0.3, clip=False)
        assert bool((free.margin >= clipped.margin - 1e-9).all())
    assert certify(lt_models["hand-made"], x, y, 0.45, clip=False).certified_accuracy == 1.0


def test_assumption_1_fails_for_some_conv_maxpool_model():
    """The margin is concave in each piece, so its maximum over the box can be interior: a
    2×3 image, true-class filter (−1, +1 / 0, 0) at two overlapping positions, the other class a
    bias of −ε/2. Every corner keeps the label; the box centre of the middle pixel flips it."""
    eps = 0.2
    model = PatternMatcher(2, 2, bias=True, seed=None)
    with torch.no_grad():
        model.conv.weight.zero_()
        model.conv.weight[0, 0, 0] = torch.tensor([-1.0, 1.0])
        model.conv.bias.copy_(torch.tensor([0.0, -eps / 2]))
    x, y = torch.full((1, 1, 2, 3), 0.5), torch.tensor([0])
    corner, _ = corner_margins(model, x, y, eps)
    result = certify(model, x, y, eps)
    assert float(corner[0]) == pytest.approx(-eps / 2)
    assert float(result.margin[0]) == pytest.approx(eps / 2) and bool(result.flipped[0])
    assert float(result.counterexamples[0, 0, 0, 1]) == pytest.approx(0.5)  # interior pixel


def test_bad_inputs_are_refused():
    x, y = toy_tensors("lt")
    with pytest.raises(TypeError, match="PatternMatcher"):
        certify(nn.Sequential(nn.Flatten(), nn.Linear(16, 2)), x, y, 0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="eps must be ≥ 0"):
        certify(PatternMatcher(), x, y, -0.1)
    with pytest.raises(ValueError, match="2\\^100 corners"):
        corner_margins(PatternMatcher(2, 5), *toy_tensors("triangle_square"), 0.1)
