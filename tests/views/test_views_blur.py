"""Gaussian blur: torchvision equivalence with per-sample σ, kernel size rule, identities."""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from robustssl.data.views import blur_with_sigma, default_kernel_size, gaussian_blur
from robustssl.utils import make_generator


@pytest.mark.parametrize(("channels", "size", "kernel"), [(3, (32, 32), 3), (1, (17, 23), 5)])
def test_matches_torchvision(images, channels, size, kernel) -> None:
    x = images(6, channels, *size)
    sigma = torch.tensor([0.1, 0.5, 0.9, 1.3, 1.7, 2.0])
    ref = torch.stack(
        [TF.gaussian_blur(x[i], [kernel, kernel], [float(s)] * 2) for i, s in enumerate(sigma)]
    )
    torch.testing.assert_close(blur_with_sigma(x, sigma, kernel), ref, atol=1e-6, rtol=0)


def test_default_kernel_size_is_odd_tenth() -> None:
    assert [default_kernel_size(s, s) for s in (8, 28, 32, 96, 224)] == [3, 3, 3, 9, 23]
    assert default_kernel_size(64, 100) == 7


def test_random_blur(images) -> None:
    x = images(64, 3, 16, 16)
    assert torch.equal(gaussian_blur(x, p=0.0), x)
    out = gaussian_blur(x, (0.5, 2.0), 0.5, make_generator(0))
    changed = (out != x).flatten(1).any(1)
    assert 15 < int(changed.sum()) < 49
    assert out[changed].std() < x[changed].std()  # blur smooths
    assert torch.equal(out, gaussian_blur(x, (0.5, 2.0), 0.5, make_generator(0)))
    const = torch.full((2, 1, 9, 9), 0.3)
    torch.testing.assert_close(gaussian_blur(const, p=1.0), const, atol=1e-6, rtol=0)


def test_bad_kernel_raises(images) -> None:
    with pytest.raises(ValueError, match="odd"):
        blur_with_sigma(images(1, 3, 8, 8), torch.ones(1), 4)
    with pytest.raises(ValueError, match="too large"):
        blur_with_sigma(images(1, 3, 4, 4), torch.ones(1), 9)
