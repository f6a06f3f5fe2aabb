"""The Python attack API refuses what would give a wrong number (issue 14): labels outside
[0, num_classes), NaN/inf pixels, an L∞ ε ≥ 1 without ``allow_large_eps=True``, an empty batch
and a dtype that differs from the model's — each a ValueError naming the argument, raised by every
entry point through the one shared check (robustssl.attacks.checks) before any attack step."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import Tensor, nn

from robust_model import small_classifier, synthetic_images
from robustssl.attacks import (
    APGD,
    FAB,
    FGSM,
    LARGE_EPS_HINT,
    PGD,
    PLB,
    AutoAttack,
    Square,
    robust_accuracy_curve,
)
from robustssl.evaluation.config import EvaluateConfig
from robustssl.evaluation.robustness import AttackRunner, robust_accuracy
from robustssl.evaluation.suite import evaluate

EPS = 0.05


class Counting(nn.Module):
    """Counts forward passes: a refused call may run at most the 2-row class probe."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner, self.rows = inner, 0

    def forward(self, x: Tensor) -> Tensor:
        self.rows += len(x)
        return self.inner(x)


@pytest.fixture(scope="module")
def model() -> nn.Module:
    return small_classifier(width=4, num_classes=10).eval()


@pytest.fixture(scope="module")
def data() -> tuple[Tensor, Tensor]:
    return synthetic_images(6, seed=3)


def _quiet_cfg() -> EvaluateConfig:
    return EvaluateConfig(
        metrics=["sa", "ra"],
        threats={"Linf": {"eps": EPS}},
        diagnostics={"enabled": False},
        progress=False,
    )


Entry = Callable[[nn.Module, Tensor, Tensor], object]
ENTRIES: dict[str, Entry] = {
    "PGD": lambda m, x, y: PGD(m, "Linf", EPS, steps=2)(x, y),
    "FGSM": lambda m, x, y: FGSM(m, "Linf", EPS)(x, y),
    "APGD": lambda m, x, y: APGD(m, "Linf", EPS, steps=2)(x, y),
    "FAB": lambda m, x, y: FAB(m, "Linf", EPS, steps=2)(x, y),
    "FAB.minimum_norm": lambda m, x, y: FAB(m, "L2", 0.5, steps=2).minimum_norm(x, y),
    "Square": lambda m, x, y: Square(m, "Linf", EPS, n_queries=2)(x, y),
    "PLB": lambda m, x, y: PLB(m, "L2", 0.5, steps=2, levels=1)(x, y),
    "PLB.radii": lambda m, x, y: PLB(m, "L2", 0.5, steps=2, levels=1).radii(x, y),
    "AutoAttack": lambda m, x, y: AutoAttack(m, "Linf", EPS, progress=False).run(x, y),
    "robust_accuracy_curve": lambda m, x, y: robust_accuracy_curve(
        m, x, y, PGD(m, "Linf", EPS, steps=2), [0.0, EPS], progress=False
    ),
    "AttackRunner": lambda m, x, y: AttackRunner(m, x, y, progress=False),
    "robust_accuracy": lambda m, x, y: robust_accuracy(m, x, y, "Linf", EPS),
    "evaluate": lambda m, x, y: evaluate(m, x, y, _quiet_cfg(), num_classes=10),
}


def _refused(entry: Entry, model: nn.Module, x: Tensor, y: Tensor, match: str) -> None:
    counted = Counting(model)
    with pytest.raises(ValueError, match=match):
        entry(counted, x, y)
    assert counted.rows <= 2  # no attack step ran (at most the class probe)


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_labels_outside_the_classes_are_refused(name, model, data) -> None:
    x, y = data
    bad = y.clone()
    bad[2] = 12
    _refused(ENTRIES[name], model, x, bad, r"y holds labels in \[\d+, 12\].*\[0, 10\)")
    bad[2] = -1
    _refused(ENTRIES[name], model, x, bad, r"y holds labels in \[-1, \d+\]")


@pytest.mark.parametrize("name", sorted(ENTRIES))
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_pixels_are_refused(name, value, model, data) -> None:
    x, y = data
    bad = x.clone()
    bad[1, 0, 3, 3] = value
    _refused(ENTRIES[name], model, bad, y, r"x holds 1 NaN or infinite value")


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_an_empty_batch_is_refused(name, model, data) -> None:
    x, y = data
    _refused(ENTRIES[name], model, x[:0], y[:0], r"x is an empty batch")


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_float64_input_is_refused_with_the_fix(name, model, data) -> None:
    x, y = data
    _refused(ENTRIES[name], model, x.double(), y, r"x is torch.float64 .* x.to\(torch.float32\)")


LARGE: dict[str, Callable[..., object]] = {
    "PGD": lambda m, **kw: PGD(m, "Linf", 8, **kw),
    "FGSM": lambda m, **kw: FGSM(m, "Linf", 8, **kw),
    "APGD": lambda m, **kw: APGD(m, "Linf", 8, **kw),
    "FAB": lambda m, **kw: FAB(m, "Linf", 8, **kw),
    "Square": lambda m, **kw: Square(m, "Linf", 8, **kw),
    "PLB": lambda m, **kw: PLB(m, "Linf", 8, **kw),
    "AutoAttack": lambda m, **kw: AutoAttack(m, "Linf", 8, progress=False, **kw),
}


@pytest.mark.parametrize("name", sorted(LARGE))
def test_linf_eps_of_one_or_more_needs_allow_large_eps(name, model) -> None:
    with pytest.raises(ValueError, match=r"eps = 8: an L∞ ε ≥ 1 .* allow_large_eps=True") as err:
        LARGE[name](model)
    assert LARGE_EPS_HINT in str(err.value)  # the CLI's hint, word for word
    attack = LARGE[name](model, allow_large_eps=True)
    assert attack.threat.eps == 8.0
    # below 1 stays allowed, and L2 radii above 1 are ordinary
    assert PGD(model, "Linf", 0.99).eps == 0.99 and PGD(model, "L2", 3.0).eps == 3.0


def test_sweeps_check_every_eps_before_attacking(model, data) -> None:
    x, y = data
    attack = PGD(model, "Linf", EPS, steps=2)
    with pytest.raises(ValueError, match=r"eps_list entry = 2: an L∞ ε ≥ 1"):
        robust_accuracy_curve(model, x, y, attack, [0.0, EPS, 2.0], progress=False)
    with pytest.raises(ValueError, match=r"eps = 1.5: an L∞ ε ≥ 1"):
        attack.with_eps(1.5)
    big = PGD(model, "Linf", EPS, steps=2, allow_large_eps=True)
    curve = robust_accuracy_curve(model, x, y, big, [0.0, 2.0], progress=False)
    assert curve.eps == [0.0, 2.0] and curve.accuracy[1] <= curve.accuracy[0]


def test_valid_input_still_attacks(model, data) -> None:
    x, y = data
    y = model(x).argmax(1).detach()  # every point clean-correct
    x_adv = PGD(model, "Linf", EPS, steps=3)(x, y)
    assert x_adv.dtype == x.dtype and x_adv.shape == x.shape
    assert float((x_adv - x).abs().max()) <= EPS + 1e-6
    double = small_classifier(width=4).double().eval()
    out = PGD(double, "Linf", EPS, steps=2)(x.double(), y)  # a float64 model takes float64
    assert out.dtype == torch.float64
