"""Frequency split (seed 001 eq. 8): exact decomposition, mask geometry, limiting radii."""

from __future__ import annotations

import math

import pytest
import torch

from robustssl.data.views import frequency_split, high_frequency, low_frequency, low_pass_mask


@pytest.mark.parametrize("shape", [(3, 32, 32), (1, 28, 28), (3, 31, 29)])
def test_components_sum_to_input(images, shape) -> None:
    x = images(4, *shape)
    low, high = frequency_split(x, 8)
    assert low.shape == high.shape == x.shape and low.dtype == x.dtype
    torch.testing.assert_close(low + high, x, atol=1e-6, rtol=0)
    assert torch.equal(low_frequency(x, 8), low) and torch.equal(high_frequency(x, 8), high)
    assert high.abs().max() > 0.1 and (low - x).abs().max() > 0.1


def test_radius_limits(images) -> None:
    x = images(3, 3, 32, 24)
    low0, _ = frequency_split(x, 0)
    mean = x.mean(dim=(-2, -1), keepdim=True).expand_as(x)
    torch.testing.assert_close(low0, mean, atol=1e-6, rtol=0)  # r = 0 keeps only the DC term
    low_all, high_all = frequency_split(x, math.hypot(16, 12))
    torch.testing.assert_close(low_all, x, atol=1e-6, rtol=0)
    assert high_all.abs().max() < 1e-6


def test_constant_is_low_and_checkerboard_is_high() -> None:
    const = torch.full((2, 3, 32, 32), 0.7)
    _, high = frequency_split(const, 0)
    assert high.abs().max() < 1e-6
    idx = torch.arange(32)
    board = ((idx[:, None] + idx[None, :]) % 2).float().expand(1, 1, 32, 32)
    low, high = frequency_split(board, 8)
    torch.testing.assert_close(low, torch.full_like(board, 0.5), atol=1e-6, rtol=0)
    torch.testing.assert_close(high, board - 0.5, atol=1e-6, rtol=0)


def test_cosine_moves_from_high_to_low_at_its_radius() -> None:
    rows, cols = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    wave = 0.5 + 0.4 * torch.cos(2 * math.pi * (2 * rows + 3 * cols) / 32)  # |freq| = √13 ≈ 3.61
    x = wave.expand(1, 1, 32, 32)
    low, high = frequency_split(x, 3.5)
    torch.testing.assert_close(high, x - 0.5, atol=1e-5, rtol=0)
    low, high = frequency_split(x, 3.7)
    torch.testing.assert_close(low, x, atol=1e-5, rtol=0)


def test_mask_geometry() -> None:
    mask = low_pass_mask(32, 32, 8)
    assert mask[16, 16] and mask[16, 24] and mask[8, 16] and not mask[16, 25]
    assert int(mask.sum()) == sum(
        1 for i in range(-16, 16) for j in range(-16, 16) if i * i + j * j <= 64
    )
    strict = low_pass_mask(32, 32, 8, inclusive=False)
    assert int((mask & ~strict).sum()) == 4 and not strict[16, 24] and not (strict & ~mask).any()
    with pytest.raises(ValueError, match="radius"):
        low_pass_mask(8, 8, -1)


def test_strict_radius_zero_keeps_nothing(images) -> None:
    x = images(2, 3, 8, 8)
    low, high = frequency_split(x, 0, inclusive=False)
    assert low.abs().max() < 1e-7
    torch.testing.assert_close(high, x, atol=1e-7, rtol=0)


def test_differentiable() -> None:
    x = torch.rand(1, 1, 6, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: high_frequency(t, 2), (x,))
