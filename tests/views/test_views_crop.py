"""Random resized crop / flip: torchvision semantics, identities, determinism, independence."""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms import RandomResizedCrop as TVRandomResizedCrop
from torchvision.transforms.v2 import functional as TF

from robustssl.data.views import (
    horizontal_flip,
    random_resized_crop,
    resized_crop,
    sample_crop_boxes,
)
from robustssl.utils import make_generator


def _tv_crop(x: torch.Tensor, box: torch.Tensor, size: list[int], flip: bool) -> torch.Tensor:
    top, left, h, w = (int(v) for v in box)
    out = TF.resized_crop(x, top, left, h, w, size, InterpolationMode.BILINEAR, antialias=False)
    return TF.horizontal_flip(out) if flip else out


def test_boxes_inside_image_and_follow_scale_ratio() -> None:
    boxes = sample_crop_boxes(4000, 32, 40, (0.2, 0.6), (0.5, 2.0), make_generator(0))
    top, left, h, w = boxes.unbind(1)
    assert boxes.dtype == torch.long and boxes.shape == (4000, 4)
    assert bool((top >= 0).all() and (left >= 0).all() and (h > 0).all() and (w > 0).all())
    assert bool((top + h <= 32).all() and (left + w <= 40).all())
    frac = (h * w).double() / (32 * 40)
    assert frac.min() > 0.17 and frac.max() < 0.65  # integer rounding of the sides
    ratio = w.double() / h.double()
    assert ratio.min() > 0.4 and ratio.max() < 2.5
    assert top.max() > 0 and left.max() > 0


def test_fallback_is_torchvision_centre_crop() -> None:
    boxes = sample_crop_boxes(8, 32, 32, (0.9, 1.0), (10.0, 20.0), make_generator(0))
    assert boxes.tolist() == [[14, 0, 3, 32]] * 8


def test_area_distribution_matches_torchvision() -> None:
    ours = sample_crop_boxes(3000, 32, 32, generator=make_generator(1))
    ours_frac = (ours[:, 2] * ours[:, 3]).double().mean() / 1024
    torch.manual_seed(1)
    img = torch.zeros(1, 32, 32)
    tv = [TVRandomResizedCrop.get_params(img, [0.08, 1.0], [3 / 4, 4 / 3]) for _ in range(3000)]
    tv_frac = sum(h * w for _, _, h, w in tv) / 3000 / 1024
    assert abs(float(ours_frac) - tv_frac) < 0.025
    assert 0.45 < float(ours_frac) < 0.54  # below E[U(0.08, 1)]: large boxes fail more often


@pytest.mark.parametrize(
    ("shape", "size", "out_hw"),
    [
        ((3, 32, 32), None, [32, 32]),
        ((1, 28, 28), None, [28, 28]),
        ((3, 24, 40), (20, 48), [20, 48]),
        ((3, 31, 29), 13, [13, 13]),
    ],
)
def test_matches_torchvision_resized_crop_and_flip(images, shape, size, out_hw) -> None:
    x = images(24, *shape)
    gen = make_generator(2)
    boxes = sample_crop_boxes(24, shape[1], shape[2], generator=gen)
    flip = torch.rand(24, generator=gen) < 0.5
    out = resized_crop(x, boxes, size, flip)
    assert out.shape == (24, shape[0], *out_hw)
    ref = torch.stack([_tv_crop(x[i], boxes[i], out_hw, bool(flip[i])) for i in range(24)])
    torch.testing.assert_close(out, ref, atol=5e-6, rtol=0)  # float32 grid rounding


def test_full_crop_is_identity(images) -> None:
    x = images(6, 3, 17, 23)
    boxes = torch.tensor([[0, 0, 17, 23]] * 6)
    torch.testing.assert_close(resized_crop(x, boxes), x, atol=2e-6, rtol=0)
    full = random_resized_crop(x, None, (1.0, 1.0), (23 / 17, 23 / 17), make_generator(0))
    torch.testing.assert_close(full, x, atol=2e-6, rtol=0)
    x64 = x.double()
    torch.testing.assert_close(resized_crop(x64, boxes), x64, atol=1e-12, rtol=0)


def test_flip_p_one_mirrors_full_crop(images) -> None:
    x = images(4, 3, 16, 16)
    out = random_resized_crop(x, None, (1.0, 1.0), (1.0, 1.0), make_generator(0), flip_p=1.0)
    torch.testing.assert_close(out, x.flip(-1), atol=1e-6, rtol=0)


def test_shapes_range_and_determinism(images) -> None:
    x = images(16, 1, 28, 28)
    a = random_resized_crop(x, 20, generator=make_generator(5), flip_p=0.5)
    b = random_resized_crop(x, 20, generator=make_generator(5), flip_p=0.5)
    c = random_resized_crop(x, 20, generator=make_generator(6), flip_p=0.5)
    assert a.shape == (16, 1, 20, 20)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.min() >= 0.0 and a.max() <= 1.0


def test_samples_are_independent(images) -> None:
    x = images(1, 3, 32, 32).expand(64, -1, -1, -1)
    out = random_resized_crop(x, None, generator=make_generator(0), flip_p=0.5)
    assert torch.unique(out.flatten(1), dim=0).shape[0] == 64


def test_horizontal_flip(images) -> None:
    x = images(40, 3, 8, 9)
    assert torch.equal(horizontal_flip(x, 1.0), x.flip(-1))
    assert torch.equal(horizontal_flip(x, 0.0), x)
    out = horizontal_flip(x, 0.5, make_generator(0))
    flipped = (out == x.flip(-1)).flatten(1).all(1)
    same = (out == x).flatten(1).all(1)
    assert bool((flipped | same).all()) and 5 < int(flipped.sum()) < 35
    assert torch.equal(out, horizontal_flip(x, 0.5, make_generator(0)))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"size": 0}, "size"),
        ({"scale": (0.9, 0.1)}, "scale"),
        ({"ratio": (0.0, 1.0)}, "ratio"),
        ({"flip_p": 1.5}, "flip_p"),
    ],
)
def test_bad_arguments_raise(images, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        random_resized_crop(images(2, 3, 8, 8), **kwargs)


def test_bad_input_raises() -> None:
    with pytest.raises(ValueError, match="unsqueeze"):
        random_resized_crop(torch.rand(3, 8, 8))
    with pytest.raises(TypeError, match="float"):
        random_resized_crop(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="channels"):
        random_resized_crop(torch.rand(1, 4, 8, 8))
