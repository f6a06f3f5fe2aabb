"""The conv + global-max-pool model of seed 000 Figure 16: dense forward vs conv2d, hand-made."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from robustssl.data.toy import patterns, toy_tensors
from robustssl.models.toy import PatternMatcher, hand_made_model, linear_pieces


@pytest.mark.parametrize(
    ("kernel", "channels", "shape", "bias"),
    [(3, 1, (4, 4), False), (5, 1, (10, 10), False), (3, 2, (5, 7), True)],
)
def test_forward_equals_conv2d_then_global_max_pool(kernel, channels, shape, bias):
    model = PatternMatcher(3, kernel, channels, bias=bias, seed=4)
    x = torch.rand(6, channels, *shape, generator=torch.Generator().manual_seed(0))
    reference = F.conv2d(x, model.conv.weight, model.conv.bias)
    assert torch.allclose(model.responses(x), reference.flatten(2), atol=1e-6)
    assert torch.allclose(model(x), F.adaptive_max_pool2d(reference, 1).flatten(1), atol=1e-6)
    a, b = linear_pieces(model, (channels, *shape))
    flat = x.double().reshape(6, -1)
    pieces = torch.einsum("cqd,nd->ncq", a, flat) + b[:, None]
    assert torch.allclose(pieces, reference.double().flatten(2), atol=1e-6)


def test_gradients_match_conv2d():
    model = PatternMatcher(2, 3, seed=0)
    x, y = toy_tensors("lt")
    F.cross_entropy(model(x), y).backward()
    ours = model.conv.weight.grad.clone()
    w = model.conv.weight.detach().clone().requires_grad_(True)
    F.cross_entropy(F.conv2d(x, w).flatten(2).amax(2), y).backward()
    assert torch.allclose(ours, w.grad, atol=1e-6)


def test_seeded_init_is_pytorch_default_range_and_reproducible():
    a, b = PatternMatcher(2, 5, seed=3), PatternMatcher(2, 5, seed=3)
    assert torch.equal(a.conv.weight, b.conv.weight)
    assert float(a.conv.weight.detach().abs().max()) <= 1 / 5  # ±1/√fan_in, fan_in = 25
    assert not torch.equal(a.conv.weight, PatternMatcher(2, 5, seed=4).conv.weight)


@pytest.mark.parametrize("name", ["triangle_square", "lt"])
def test_hand_made_model_scores_one_on_its_pattern(name: str):
    model = hand_made_model(patterns(name))
    x, y = toy_tensors(name)
    logits = model(x).detach()
    assert torch.allclose(logits.gather(1, y[:, None]), torch.ones(len(y), 1))
    assert bool((logits.argmax(1) == y).all())
    other = logits.gather(1, 1 - y[:, None])
    assert float(other.max()) < 1 - 0.5 / patterns(name)[0].sum()  # never a full overlap


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="num_classes ≥ 2"):
        PatternMatcher(1, 3)
    with pytest.raises(ValueError, match="smaller than the 5×5 filters"):
        PatternMatcher(2, 5)(torch.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"expected \(B, 1, H, W\)"):
        PatternMatcher(2, 3)(torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match="at least one pixel"):
        hand_made_model(torch.zeros(2, 3, 3))
