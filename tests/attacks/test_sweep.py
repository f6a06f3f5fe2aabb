"""ε-sweeps with survivor pruning and accuracy curves from minimum-norm radii."""

from __future__ import annotations

import math
from itertools import pairwise

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor, nn

from robust_model import small_classifier, synthetic_images, train_clean
from robustssl.attacks import (
    PGD,
    PLB,
    RobustnessCurve,
    accuracy_from_radii,
    min_norm_curve,
    robust_accuracy_curve,
)

EPS = [0.0, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05]


class Counting(nn.Module):
    """Counts forward calls and forwarded rows of the wrapped model."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model, self.calls, self.rows = model, 0, 0

    def forward(self, x: Tensor) -> Tensor:
        self.calls += 1
        self.rows += len(x)
        return self.model(x)


@pytest.fixture(scope="module")
def model() -> nn.Module:
    return train_clean(small_classifier(width=8), *synthetic_images(2000))


@pytest.fixture(scope="module")
def data() -> tuple[Tensor, Tensor]:
    return synthetic_images(64, seed=5)


def independent_robust(attack: PGD, x: Tensor, y: Tensor, eps: list[float]) -> Tensor:
    with torch.no_grad():
        clean = attack.model(x).argmax(1) == y
    rows = [clean if e == 0 else clean & ~attack.with_eps(e).run(x, y).success for e in eps]
    return torch.stack(rows)


def test_sweep_equals_cumulative_independent_runs_and_is_cheaper(model, data):
    x, y = data
    counted = Counting(model)
    attack = PGD(counted, "Linf", steps=10)
    indep = independent_robust(attack, x, y, EPS)
    calls, rows = counted.calls, counted.rows
    counted.calls = counted.rows = 0
    curve = robust_accuracy_curve(counted, x, y, attack, EPS, progress=False)
    assert torch.equal(curve.robust, indep.cummin(0).values)  # broken once, broken for good
    assert all(a <= b for a, b in zip(curve.accuracy, indep.float().mean(1).tolist(), strict=True))
    assert all(a >= b for a, b in pairwise(curve.accuracy))
    assert curve.accuracy[0] > curve.accuracy[-1]  # the attack does break points
    assert counted.rows < rows and counted.calls <= calls
    assert counted.rows < 0.85 * rows  # survivors only


def test_eps_zero_gives_clean_accuracy_and_eps_are_sorted(model, data):
    x, y = data
    with torch.no_grad():
        clean = model(x).argmax(1) == y
    curve = robust_accuracy_curve(model, x, y, PGD(model, "L2", steps=5), [0.5, 0.0, 0.25], False)
    assert curve.eps == [0.0, 0.25, 0.5] and curve.n == len(y)
    assert torch.equal(curve.robust[0], clean)
    assert curve.accuracy[0] == pytest.approx(float(clean.float().mean()))
    assert curve.attack == "PGD" and curve.norm == "L2"
    records = curve.as_records()
    assert [r["eps"] for r in records] == curve.eps
    assert records[1] == {
        "attack": "PGD",
        "norm": "L2",
        "eps": 0.25,
        "accuracy": curve.accuracy[1],
        "n": len(y),
    }


def test_bad_eps_lists_fail_early(model, data):
    x, y = data
    for bad in ([], [-0.1], [math.inf]):
        with pytest.raises(ValueError, match="eps_list"):
            robust_accuracy_curve(model, x, y, PGD(model), bad, progress=False)


def test_accuracy_from_radii_closed_cases():
    radii = torch.tensor([0.0, 0.1, 0.2, math.inf])
    assert accuracy_from_radii(radii, [0.0, 0.1, 0.15, 0.2, 1.0]) == [0.75, 0.5, 0.5, 0.25, 0.25]
    assert accuracy_from_radii(radii, [1.0, 0.0]) == [0.25, 0.75]  # the caller's order
    assert accuracy_from_radii(torch.tensor([math.nan, 1.0]), [0.5]) == [0.5]
    with pytest.raises(ValueError, match="empty"):
        accuracy_from_radii(torch.tensor([]), [0.1])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 10) | st.just(math.inf), min_size=1, max_size=40),
    st.lists(st.floats(0, 12), min_size=1, max_size=12),
)
def test_accuracy_from_radii_is_a_monotone_fraction(radii, eps):
    acc = accuracy_from_radii(torch.tensor(radii, dtype=torch.float64), sorted(eps))
    assert all(0.0 <= a <= 1.0 for a in acc)
    assert all(a >= b for a, b in pairwise(acc))
    assert acc[0] == sum(r > min(eps) for r in radii) / len(radii)


def test_min_norm_curve_agrees_with_the_plb_sweep_and_radii(model, data):
    x, y = data
    attack = PLB(model, norm="L2", steps=60)
    eps = [0.5, 0.0, 0.1, 0.2, 0.3]
    curve = min_norm_curve(attack, x, y, eps)
    radii = attack.radii(x, y)
    assert isinstance(curve, RobustnessCurve) and curve.eps == sorted(eps)
    assert curve.accuracy == accuracy_from_radii(radii, curve.eps)
    assert torch.equal(curve.robust, radii[None] > torch.tensor(curve.eps)[:, None])
    sweep = robust_accuracy_curve(model, x, y, attack, eps, progress=False)
    # run(ε) succeeds exactly when the radius is ≤ ε (up to float noise near ties)
    assert (sweep.robust != curve.robust).float().mean() <= 0.02
    pgd = robust_accuracy_curve(model, x, y, PGD(model, "L2", steps=20), eps, progress=False)
    assert all(p <= g for p, g in zip(curve.accuracy, pgd.accuracy, strict=True))
    assert curve.accuracy[1] > curve.accuracy[-1]


@pytest.mark.realdata
def test_sweep_on_the_robust_model_prunes_and_plb_is_stronger_than_pgd(robust_fmnist):
    model, x, y = robust_fmnist["model"], robust_fmnist["x"][:200], robust_fmnist["y"][:200]
    counted = Counting(model)
    eps = [0.0, 0.05, 0.1, 0.15, 0.2]
    attack = PGD(counted, "Linf", steps=20)
    indep = independent_robust(attack, x, y, eps)
    rows = counted.rows
    counted.rows = 0
    curve = robust_accuracy_curve(counted, x, y, attack, eps, progress=False)
    assert torch.equal(curve.robust, indep.cummin(0).values) and counted.rows < 0.95 * rows
    plb = min_norm_curve(PLB(model, norm="Linf"), x, y, eps)
    assert plb.accuracy[0] == curve.accuracy[0]
    assert all(p <= g + 0.01 for p, g in zip(plb.accuracy, curve.accuracy, strict=True))
