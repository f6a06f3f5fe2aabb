"""Feature inversion (seed 001 Fig. 5): inverting a representation from noise reduces the
representation distance; a feature inversion map raises (or lowers) its neuron."""

from __future__ import annotations

import pytest
import torch

from robust_model import small_classifier, synthetic_images, train_clean
from robustssl.evaluation.inversion import feature_inversion_map, invert_representation


@pytest.fixture(scope="module")
def encoder() -> torch.nn.Module:
    x, y = synthetic_images(256, seed=1)
    return train_clean(small_classifier(width=4, seed=1), x, y, steps=30).encoder


def test_inversion_reduces_representation_distance(encoder: torch.nn.Module) -> None:
    x, _ = synthetic_images(4, seed=2)
    with torch.no_grad():
        target = encoder(x)
    flags = [p.requires_grad for p in encoder.parameters()]
    out = invert_representation(encoder, target, tuple(x.shape), steps=60, lr=0.05, seed=0)
    assert len(out.history) == 61
    assert out.history[-1] < 0.5 * out.history[0]
    with torch.no_grad():
        final = (encoder(out.x) - target).norm(dim=1).mean().item()
    assert final == pytest.approx(out.history[-1], rel=1e-5)
    assert out.x.min() >= 0 and out.x.max() <= 1 and out.x.shape == x.shape
    assert [p.requires_grad for p in encoder.parameters()] == flags
    again = invert_representation(encoder, target, tuple(x.shape), steps=60, lr=0.05, seed=0)
    assert torch.equal(out.x, again.x)  # deterministic under the seed
    with pytest.raises(ValueError, match="target must be"):
        invert_representation(encoder, target[0], tuple(x.shape))


def test_feature_inversion_map_moves_its_neuron(encoder: torch.nn.Module) -> None:
    x0, _ = synthetic_images(3, seed=3)
    up = feature_inversion_map(encoder, x0, neuron=5, steps=30, lr=0.02)
    down = feature_inversion_map(encoder, x0, neuron=5, steps=30, lr=0.02, maximize=False)
    with torch.no_grad():
        start = encoder(x0)[:, 5].mean().item()
        end_up = encoder(up.x)[:, 5].mean().item()
    assert up.history[0] == pytest.approx(start, rel=1e-5)
    assert end_up == pytest.approx(up.history[-1], rel=1e-5)
    assert end_up > start + 0.1 and down.history[-1] < start
    with pytest.raises(ValueError, match="outside the representation"):
        feature_inversion_map(encoder, x0, neuron=10_000)
    with pytest.raises(ValueError, match="steps"):
        feature_inversion_map(encoder, x0, neuron=0, steps=0)
