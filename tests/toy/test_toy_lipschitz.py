"""The δ*/λ certificate of seed 000 §7.2: power iteration against dense SVDs, the product bound
against empirical Lipschitz estimates, and the per-sample radii."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.func import jacrev

from robustssl.data.causal import SPOTLIGHT_TASK
from robustssl.evaluation.certify.lipschitz import (
    certified_radii,
    certified_radius,
    gradient_lipschitz,
    lipschitz_upper_bound,
    power_iteration,
    spectral_norm,
)
from robustssl.models.normalize import Normalize

SHAPE = (2, 6, 6)


def tiny_net(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    net = nn.Sequential(
        Normalize([0.5, 0.4], [0.25, 0.5]),
        nn.Conv2d(2, 3, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(3, 4, 2, stride=1),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(16, 5),
        nn.LeakyReLU(0.1),
        nn.Linear(5, 1),
    )
    return net.double().eval()


def dense(op, shape: tuple[int, ...]) -> torch.Tensor:
    """The matrix of a linear map on ``shape`` inputs."""
    zero = torch.zeros(math.prod(shape), dtype=torch.float64)
    return jacrev(lambda v: op(v.view(1, *shape)).reshape(-1))(zero).detach()


def conv(seed: int, *args, **kwargs) -> nn.Conv2d:
    torch.manual_seed(seed)
    layer = nn.Conv2d(*args, **kwargs).double()
    with torch.no_grad():
        layer.bias.zero_()
    return layer


@pytest.mark.parametrize(
    "layer",
    [conv(0, 2, 3, 3, padding=1), conv(1, 2, 4, 2, stride=2), conv(6, 2, 3, 3, padding=1)],
)
def test_spectral_norms_match_a_dense_svd(layer: nn.Conv2d):
    matrix = dense(layer, SHAPE)
    exact = float(torch.linalg.matrix_norm(matrix, ord=2))
    assert spectral_norm(layer, SHAPE) == pytest.approx(exact, rel=1e-10)
    bound = lipschitz_upper_bound(nn.Sequential(layer), SHAPE)
    assert bound.l2 == pytest.approx(exact, rel=1e-10)
    assert bound.layers[0].linf == pytest.approx(float(matrix.abs().sum(1).max()), rel=1e-12)
    assert power_iteration(layer, SHAPE) <= exact * (1 + 1e-12)  # from below


def test_power_iteration_converges_unless_top_singular_values_cluster():
    separated, clustered = conv(0, 2, 3, 3, padding=1), conv(6, 2, 3, 3, padding=1)
    for layer, agrees in ((separated, True), (clustered, False)):
        svals = torch.linalg.svdvals(dense(layer, SHAPE))
        close = power_iteration(layer, SHAPE) == pytest.approx(float(svals[0]), rel=1e-6)
        assert close is agrees and (float(svals[1] / svals[0]) > 0.999) is not agrees


def test_upper_bound_dominates_every_empirical_estimate():
    net = tiny_net()
    bound = lipschitz_upper_bound(net, SHAPE)
    assert [f.kind for f in bound.layers][:4] == ["Normalize", "Conv2d", "ReLU", "MaxPool2d"]
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(256, *SHAPE, generator=gen, dtype=torch.float64)
    grad_l2 = gradient_lipschitz(net, x, "L2")
    grad_l1 = gradient_lipschitz(net, x, "Linf")
    assert float(grad_l2.max()) <= bound.bound("L2")
    assert float(grad_l1.max()) <= bound.bound("Linf")
    assert float(grad_l2.max()) > 0.01 * bound.l2  # the bound is not vacuous
    r = torch.randn(256, *SHAPE, generator=gen, dtype=torch.float64) * 0.05
    with torch.no_grad():
        change = (net(x + r) - net(x)).abs().squeeze(1)
    assert bool((change <= bound.l2 * r.flatten(1).norm(dim=1) + 1e-12).all())
    assert bool((change <= bound.linf * r.flatten(1).abs().amax(1) + 1e-12).all())
    jac = torch.stack([dense(lambda v, p=p: net(p.view(1, *SHAPE) + v), SHAPE) for p in x[:16]])
    assert float(torch.linalg.matrix_norm(jac, ord=2).max()) <= bound.l2  # local σ_max ≤ λ


def test_radii_follow_equations_20_to_22():
    assert certified_radius(math.pi / 16, 2.0) == pytest.approx(math.pi / 32)
    assert certified_radius(0.1, 0.0) == math.inf
    theta = torch.tensor([1.2, 0.0, -1.3, 0.7, 0.7])
    labels = torch.tensor([0, 1, 2, 0, 1])  # the last one is wrong: the head says 0
    radii = certified_radii(theta, labels, SPOTLIGHT_TASK, lipschitz=4.0)
    boundary = 3 * math.pi / 16
    expected = [(1.2 - boundary) / 4, boundary / 4, (1.3 - boundary) / 4, (0.7 - boundary) / 4, 0]
    assert radii.tolist() == pytest.approx(expected)
    assert float(radii[1]) >= SPOTLIGHT_TASK.delta_star / 4  # in-class values: ≥ δ*/λ


def test_unsupported_layers_and_bad_arguments_are_named():
    with pytest.raises(ValueError, match="no Lipschitz rule for GELU"):
        lipschitz_upper_bound(nn.Sequential(nn.Linear(3, 3), nn.GELU()), (3,))
    with pytest.raises(ValueError, match="BatchNorm must be in eval mode"):
        from robustssl.evaluation.certify.lipschitz import layer_factor

        layer_factor("bn", nn.BatchNorm1d(3).train(), (3,), 0)
    with pytest.raises(ValueError, match="norm must be"):
        gradient_lipschitz(tiny_net(), torch.zeros(1, *SHAPE).double(), "L1")
    with pytest.raises(ValueError, match="≥ 0"):
        certified_radius(-1.0, 1.0)
