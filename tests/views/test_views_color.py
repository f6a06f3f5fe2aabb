"""Colour ops vs torchvision/colorsys: grayscale, brightness, contrast, saturation, hue, HSV."""

from __future__ import annotations

import colorsys

import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from robustssl.data.views import (
    adjust_brightness,
    adjust_contrast,
    adjust_hue,
    adjust_saturation,
    hsv_to_rgb,
    random_grayscale,
    rgb_to_grayscale,
    rgb_to_hsv,
)
from robustssl.utils import make_generator

# torchvision's tensor grayscale uses 0.2989 for red, we use ITU-R 601-2's 0.299 (as PIL).
LUMA_TOL = 2e-4


def _per_sample(fn, x: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    return torch.stack([fn(x[i], float(factors[i])) for i in range(x.shape[0])])


def test_grayscale_weights(images) -> None:
    x = images(5, 3, 6, 7)
    gray = rgb_to_grayscale(x)
    expected = 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
    torch.testing.assert_close(gray, expected, atol=1e-7, rtol=0)
    torch.testing.assert_close(gray, TF.rgb_to_grayscale(x), atol=LUMA_TOL, rtol=0)
    one = images(2, 1, 4, 4)
    assert rgb_to_grayscale(one) is one


@pytest.mark.parametrize("channels", [1, 3])
def test_brightness_contrast_saturation_match_torchvision(images, channels) -> None:
    x = images(12, channels, 9, 11)
    f = torch.linspace(0.0, 1.8, 12)
    torch.testing.assert_close(
        adjust_brightness(x, f), _per_sample(TF.adjust_brightness, x, f), atol=1e-6, rtol=0
    )
    torch.testing.assert_close(
        adjust_contrast(x, f), _per_sample(TF.adjust_contrast, x, f), atol=LUMA_TOL, rtol=0
    )
    torch.testing.assert_close(
        adjust_saturation(x, f), _per_sample(TF.adjust_saturation, x, f), atol=LUMA_TOL, rtol=0
    )


@pytest.mark.parametrize("shape", [(3, 16, 16), (3, 7, 13)])
def test_hue_matches_torchvision(images, shape) -> None:
    x = images(16, *shape)
    shift = torch.linspace(-0.5, 0.5, 16)
    out = adjust_hue(x, shift)
    torch.testing.assert_close(out, _per_sample(TF.adjust_hue, x, shift), atol=1e-5, rtol=0)
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_hue_on_quantised_colours_with_ties(images) -> None:
    x = (images(16, 3, 12, 12) * 6).round() / 6  # many equal channels, greys, pure colours
    shift = torch.linspace(-0.5, 0.5, 16)
    out = adjust_hue(x, shift)
    torch.testing.assert_close(out, _per_sample(TF.adjust_hue, x, shift), atol=1e-5, rtol=0)


def test_unit_factors_are_identities(images) -> None:
    x = images(4, 3, 8, 8)
    assert torch.equal(adjust_brightness(x, 1.0), x)
    torch.testing.assert_close(adjust_contrast(x, 1.0), x, atol=1e-7, rtol=0)
    torch.testing.assert_close(adjust_saturation(x, 1.0), x, atol=1e-7, rtol=0)
    torch.testing.assert_close(adjust_hue(x, 0.0), x, atol=2e-6, rtol=0)
    torch.testing.assert_close(
        adjust_hue(x, torch.tensor([1.0, -1.0, 0.0, 0.0])), x, atol=2e-6, rtol=0
    )


def test_extreme_factors(images) -> None:
    x = images(2, 3, 5, 5)
    assert torch.equal(adjust_brightness(x, 0.0), torch.zeros_like(x))
    gray_mean = rgb_to_grayscale(x).mean(dim=(1, 2, 3))
    flat = adjust_contrast(x, 0.0)
    torch.testing.assert_close(flat, gray_mean.view(-1, 1, 1, 1).expand_as(x), atol=1e-7, rtol=0)
    desat = adjust_saturation(x, 0.0)
    torch.testing.assert_close(desat, rgb_to_grayscale(x).expand_as(x), atol=1e-7, rtol=0)


def test_one_channel_saturation_and_hue_are_identities(images) -> None:
    x = images(3, 1, 6, 6)
    assert torch.equal(adjust_saturation(x, 0.2), x)
    assert torch.equal(adjust_hue(x, 0.3), x)


def test_hsv_matches_colorsys_and_round_trips(images) -> None:
    x = images(2, 3, 5, 6)
    x[0, :, 0, 0] = 0.5  # grey pixel: hue 0, saturation 0
    x[0, :, 0, 1] = 0.0  # black pixel
    hsv = rgb_to_hsv(x)
    for b, i, j in [(0, 0, 0), (0, 0, 1), (0, 2, 3), (1, 4, 5), (1, 1, 2)]:
        ref = colorsys.rgb_to_hsv(*x[b, :, i, j].tolist())
        torch.testing.assert_close(hsv[b, :, i, j], torch.tensor(ref), atol=1e-6, rtol=0)
    assert hsv[:, 0].min() >= 0.0 and hsv[:, 0].max() < 1.0
    torch.testing.assert_close(hsv_to_rgb(hsv), x, atol=1e-6, rtol=0)


def test_hsv_rejects_one_channel(images) -> None:
    with pytest.raises(ValueError, match="3 channels"):
        rgb_to_hsv(images(1, 1, 4, 4))


def test_per_sample_factor_shape_checked(images) -> None:
    with pytest.raises(ValueError, match="one value per sample"):
        adjust_brightness(images(4, 3, 4, 4), torch.ones(3))


def test_random_grayscale(images) -> None:
    x = images(200, 3, 4, 4)
    out = random_grayscale(x, 0.2, make_generator(0))
    is_gray = (out[:, 0] == out[:, 1]).flatten(1).all(1) & (out[:, 1] == out[:, 2]).flatten(1).all(
        1
    )
    unchanged = (out == x).flatten(1).all(1)
    assert bool((is_gray ^ unchanged).all())
    assert 20 <= int(is_gray.sum()) <= 60
    torch.testing.assert_close(out[is_gray][:, :1], rgb_to_grayscale(x[is_gray]), atol=0, rtol=0)
    assert torch.equal(out, random_grayscale(x, 0.2, make_generator(0)))
    assert torch.equal(random_grayscale(x, 1.0)[:, :1], rgb_to_grayscale(x))
    one = images(5, 1, 4, 4)
    assert torch.equal(random_grayscale(one, 1.0), one)
