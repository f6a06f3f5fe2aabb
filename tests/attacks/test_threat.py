"""ThreatModel: projections, random starts and ascent steps for L∞, L2 and L1."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from robustssl.attacks import ThreatModel, canonical_norm, flat_norms
from robustssl.attacks.threat import project_l1_ball
from robustssl.utils import make_generator

NORM_EPS = {"Linf": 0.1, "L2": 1.0, "L1": 5.0}


def batch(seed: int, n: int = 6, shape: tuple[int, ...] = (1, 5, 5)) -> torch.Tensor:
    return torch.rand((n, *shape), generator=make_generator(seed))


@settings(max_examples=30, deadline=None)
@given(
    norm=st.sampled_from(["Linf", "L2", "L1"]),
    eps=st.floats(0.0, 3.0),
    scale=st.floats(0.0, 10.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_projection_lands_in_ball_and_box_and_is_idempotent(norm, eps, scale, seed):
    threat = ThreatModel(norm, eps)
    x = batch(seed)
    x_adv = x + scale * torch.randn(x.shape, generator=make_generator(seed + 1))
    p = threat.project(x_adv, x)
    assert float(p.min()) >= 0.0 and float(p.max()) <= 1.0
    # float32: forming x + δ and measuring p − x round each of the d coordinates by up to 2^-24 each
    # (values in [0, 1]): a measured L1 norm can exceed ε by d·2^-23; re-projecting moves p as much.
    tol = x[0].numel() * 2.0**-23
    assert bool((threat.norms(p - x) <= eps * (1 + 1e-5) + tol).all())
    torch.testing.assert_close(threat.project(p, x), p, atol=tol, rtol=0)


@settings(max_examples=20, deadline=None)
@given(norm=st.sampled_from(["Linf", "L2", "L1"]), seed=st.integers(0, 2**31 - 1))
def test_random_start_is_inside_and_seeded(norm, seed):
    threat = ThreatModel(norm, NORM_EPS[norm])
    x = batch(0)
    a = threat.random_start(x, make_generator(seed))
    assert bool((threat.norms(a - x) <= threat.eps * (1 + 1e-5)).all())
    assert float(a.min()) >= 0 and float(a.max()) <= 1
    torch.testing.assert_close(a, threat.random_start(x, make_generator(seed)))
    assert not torch.equal(a, threat.random_start(x, make_generator(seed + 1)))


@pytest.mark.parametrize("norm", ["Linf", "L2", "L1"])
def test_ascent_step_has_the_step_length_in_its_norm(norm):
    threat = ThreatModel(norm, 1.0)
    g = torch.randn(4, 3, 8, 8, generator=make_generator(3))
    step = threat.ascent(g, 0.25)
    torch.testing.assert_close(flat_norms(step, norm), torch.full((4,), 0.25))
    assert bool(((step * g).flatten(1).sum(1) > 0).all())  # an ascent direction


def test_l1_ascent_is_sparse():
    g = torch.randn(2, 1000, generator=make_generator(0))
    step = ThreatModel("L1", 1.0, l1_sparsity=0.99).ascent(g, 1.0)
    assert int((step != 0).sum(1).max()) == 10


def test_l1_projection_is_the_euclidean_projection():
    gen = make_generator(1)
    v = torch.randn(5, 40, generator=gen) * 2
    r = torch.tensor(3.0)
    p = project_l1_ball(v, r)
    torch.testing.assert_close(p.abs().sum(1), torch.full((5,), 3.0))
    for _ in range(200):  # no feasible point is closer
        q = project_l1_ball(p + 0.3 * torch.randn(5, 40, generator=gen), r)
        assert bool(((v - q).norm(dim=1) >= (v - p).norm(dim=1) - 1e-5).all())
    inside = v / v.abs().sum(1, keepdim=True)  # norm 1 < 3: unchanged
    torch.testing.assert_close(project_l1_ball(inside, r), inside)


def test_norm_names_and_errors():
    assert canonical_norm("inf") == "Linf" and canonical_norm("l2") == "L2"
    assert ThreatModel("2", 0.5).norm == "L2"
    with pytest.raises(ValueError, match="norm must be one of Linf, L2, L1"):
        ThreatModel("L3", 0.1)
    with pytest.raises(ValueError, match="eps must be a finite number"):
        ThreatModel("Linf", -0.1)
    assert ThreatModel("Linf", 0.1).with_eps(0.2).eps == 0.2
