"""Square Attack: schedule and window sizes, the L2 bump (official square.py as reference), the
threat-model property, determinism, `active`, query accounting, and strength on real data against
the official SquareAttack."""

from __future__ import annotations

import time

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pyautoattack.square import SquareAttack
from torch import nn

from robust_model import accuracy
from robustssl.attacks import Square, ThreatModel
from robustssl.attacks.square import _pattern, square_fraction


class Counting(nn.Module):
    """Counts the rows the wrapped model is queried on."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model, self.rows = model, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.rows += len(x)
        return self.model(x)


def tiny_cnn(seed: int, channels: int = 1) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(channels, 6, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(24, 4),
    ).eval()


def predicted(model: nn.Module, n: int, seed: int, channels: int = 1, size: int = 12):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, channels, size, size, generator=gen)
    with torch.no_grad():
        return x, model(x).argmax(1)


def test_p_schedule_and_window_side():
    halvings = {0: 0, 10: 0, 11: 1, 50: 1, 51: 2, 201: 3, 501: 4, 1001: 5, 2001: 6}
    for query, k in {**halvings, 4001: 7, 6001: 8, 8001: 9, 9999: 9}.items():
        assert square_fraction(0.8, query, 10000, False) == pytest.approx(0.8 / 2**k)
    assert square_fraction(0.8, 100, 1000, True) == pytest.approx(0.8 / 16)  # 1000 of 10k
    x = torch.zeros(1, 3, 28, 28)
    linf = Square(nn.Identity(), "Linf", n_queries=5000)
    assert [linf._side(q, x) for q in (0, 11, 51, 8001)] == [25, 18, 13, 1]
    l2 = Square(nn.Identity(), "L2", n_queries=5000)
    assert [l2._side(q, x) for q in (0, 51, 8001)] == [25, 13, 3]


@pytest.mark.parametrize("s", [3, 5, 7, 9])
def test_l2_pattern_is_the_official_bump(s):
    official = SquareAttack(lambda t: t, norm="L2", eps=1.0)
    official.device = torch.device("cpu")
    torch.manual_seed(0)
    ref = official.eta(s)
    ours = _pattern(s)
    assert torch.allclose(ours, ref, atol=1e-6) or torch.allclose(ours.T, ref, atol=1e-6)
    assert float(ours.norm()) == pytest.approx(1.0)
    assert float(ours[: s // 2].min()) > 0 and float(ours[s // 2 :].max()) < 0


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    norm=st.sampled_from(["Linf", "L2"]),
    eps=st.floats(0.01, 3.0),
    channels=st.sampled_from([1, 3]),
)
def test_outputs_stay_in_the_threat_model(seed, norm, eps, channels):
    model = tiny_cnn(seed, channels)
    x, y = predicted(model, 8, seed, channels)
    out = Square(model, norm, eps, n_queries=30, seed=seed, allow_large_eps=True).run(x, y)
    assert float(out.x_adv.min()) >= 0 and float(out.x_adv.max()) <= 1
    assert bool((ThreatModel(norm, eps).norms(out.x_adv - x) <= eps * (1 + 1e-5)).all())
    with torch.no_grad():
        logits = model(out.x_adv)
    assert torch.equal(out.success, logits.argmax(1) != y)
    z_y = logits.gather(1, y[:, None])[:, 0]
    margin = logits.scatter(1, y[:, None], -torch.inf).amax(1) - z_y
    torch.testing.assert_close(out.loss, margin)


@pytest.mark.parametrize("norm,eps", [("Linf", 0.08), ("L2", 0.8)])
def test_seeded_active_independent_and_never_worse_with_more_queries(norm, eps):
    model = tiny_cnn(1)
    x, y = predicted(model, 24, 1)
    square = Square(model, norm, eps, n_queries=60, seed=3)
    full = square.run(x, y)
    assert torch.equal(full.x_adv, square.run(x, y).x_adv)
    assert 0 < int(full.success.sum()) < len(x)
    assert not torch.equal(full.x_adv, Square(model, norm, eps, n_queries=60, seed=4)(x, y))
    active = torch.arange(len(x)) % 3 != 0
    part = square.run(x, y, active)
    assert torch.equal(part.x_adv[~active], x[~active]) and not bool(part.success[~active].any())
    assert torch.equal(part.success[active], full.success[active])
    torch.testing.assert_close(part.x_adv[active], full.x_adv[active], atol=1e-6, rtol=0)
    longer = Square(model, norm, eps, n_queries=120, seed=3).run(x, y)
    assert bool((longer.success | ~full.success).all())
    assert bool((longer.loss >= full.loss).all())


def test_queries_only_points_still_correct():
    model = Counting(tiny_cnn(1))
    x, y = predicted(model.model, 16, 1)
    out = Square(model, "Linf", 0.15, n_queries=50, seed=0).run(x, y)
    assert bool(out.success.any()) and model.rows < 16 * 51  # the start + 50 proposals at most
    model.rows = 0
    wrong = (y + 1) % 4  # every point already misclassified: only the start is queried
    start = Square(model, "Linf", 1e-6, n_queries=50).run(x, wrong)
    # 2 rows: the input check learns the class count once per attack object (not a query)
    assert model.rows == 2 + 16 and bool(start.success.all())


def test_clear_errors():
    model = tiny_cnn(0)
    with pytest.raises(ValueError, match="Linf' and 'L2"):
        Square(model, "L1", 1.0)
    with pytest.raises(ValueError, match="p_init"):
        Square(model, p_init=0.0)
    x, y = torch.rand(2, 16), torch.zeros(2, dtype=torch.long)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        Square(model).run(x, y)


@pytest.mark.realdata
def test_square_at_least_as_strong_as_official(robust_fmnist):
    model, x, y = robust_fmnist["model"], robust_fmnist["x"][:500], robust_fmnist["y"][:500]
    start = time.perf_counter()
    ours = Square(model, "Linf", 0.1, n_queries=1000, p_init=0.8, seed=0)(x, y)
    ours_seconds = time.perf_counter() - start
    assert bool((ThreatModel("Linf", 0.1).norms(ours - x) <= 0.1 + 1e-7).all())
    official = SquareAttack(
        model, norm="Linf", n_queries=1000, eps=0.1, p_init=0.8, seed=0, resc_schedule=False
    )
    start = time.perf_counter()
    with torch.no_grad():
        x_ref = official.perturb(x, y)
    ref_seconds = time.perf_counter() - start
    ours_acc, ref_acc = accuracy(model, ours, y), accuracy(model, x_ref, y)
    print(
        f"Square robust accuracy ours {ours_acc:.3f} ({ours_seconds:.0f} s), official "
        f"{ref_acc:.3f} ({ref_seconds:.0f} s)"
    )
    assert ours_acc <= ref_acc + 0.01
