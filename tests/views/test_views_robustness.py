"""The robustness library's training views (MadryLab robustness ``data_augmentation.py``):
RandomCrop(size, padding=4) → RandomHorizontalFlip → ColorJitter(0.25, 0.25, 0.25) →
RandomRotation(2), checked against torchvision applied sample by sample with the same draws."""

from __future__ import annotations

import pytest
import torch
import torchvision.transforms.functional as TF
from pydantic import TypeAdapter, ValidationError
from torchvision.transforms import InterpolationMode

from robustssl.data.views import (
    RobustnessViewConfig,
    RobustnessViews,
    SimCLRViewConfig,
    ViewConfig,
    build_views,
    rotate_nearest,
)
from robustssl.methods import PretrainConfig
from robustssl.utils import make_generator

ROBUSTNESS = RobustnessViewConfig(family="robustness")


def test_defaults_are_the_library_transform() -> None:
    c = ROBUSTNESS
    assert (c.padding, c.hflip_p, c.degrees) == (4, 0.5, 2.0)
    assert (c.brightness, c.contrast, c.saturation, c.hue) == (0.25, 0.25, 0.25, 0.0)


def test_parameter_ranges() -> None:
    x = torch.rand(4000, 3, 32, 32)
    p = RobustnessViews(ROBUSTNESS).sample_params(x, make_generator(0))
    for offset in (p.top, p.left):  # corner in the 40×40 padded image: shifts −4 … 4
        assert int(offset.min()) == 0 and int(offset.max()) == 8
        assert len(offset.unique()) == 9
    assert 0.47 < p.flip.float().mean() < 0.53
    assert bool(p.jitter.active.all())  # ColorJitter is not inside a RandomApply
    assert p.jitter.enabled == (True, True, True, False)  # no hue
    factors = p.jitter.factors[:3]
    assert float(factors.min()) >= 0.75 and float(factors.max()) <= 1.25
    assert float(factors.min()) < 0.76 and float(factors.max()) > 1.24
    assert float(p.angle.abs().max()) <= 2.0 and float(p.angle.abs().max()) > 1.99
    assert abs(float(p.angle.mean())) < 0.1
    orders = {tuple(o.tolist()) for o in p.jitter.order}
    assert len(orders) == 24  # a random order of the adjustments per sample, like torchvision


@pytest.mark.parametrize("angle", [1.7, -2.0, 0.3, 30.0, 90.0])
def test_rotation_is_torchvision_nearest(angle: float) -> None:
    x = torch.rand(2, 3, 32, 28, generator=make_generator(1))
    ours = rotate_nearest(x, torch.tensor([angle, angle]))
    ref = TF.rotate(x, angle, interpolation=InterpolationMode.NEAREST)
    assert torch.equal(ours, ref)


def _torchvision_view(img: torch.Tensor, p, i: int) -> torch.Tensor:  # type: ignore[no-untyped-def]
    """torchvision's per-sample pipeline with sample i's draws."""
    h, w = img.shape[-2:]
    out = TF.crop(TF.pad(img, [4]), int(p.top[i]), int(p.left[i]), h, w)
    if bool(p.flip[i]):
        out = TF.hflip(out)
    adjust = (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation)
    for op in p.jitter.order[i].tolist():
        if op < 3:
            out = adjust[op](out, float(p.jitter.factors[op, i]))
    return TF.rotate(out, float(p.angle[i]), interpolation=InterpolationMode.NEAREST)


@pytest.mark.parametrize("channels", [3, 1])
def test_views_match_torchvision_per_sample(channels: int) -> None:
    x = torch.rand(12, channels, 28, 28, generator=make_generator(2))
    views = RobustnessViews(ROBUSTNESS)
    p = views.sample_params(x, make_generator(5))
    out = views.apply(x, p)
    assert out.shape == x.shape and float(out.min()) >= 0 and float(out.max()) <= 1
    ref = torch.stack([_torchvision_view(x[i], p, i) for i in range(len(x))])
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=0)  # float rounding of the colour ops


def test_seeded_and_one_view_per_call() -> None:
    x = torch.rand(8, 3, 32, 32, generator=make_generator(3))
    views = build_views(ROBUSTNESS)
    assert isinstance(views, RobustnessViews)
    a, b = views(x, make_generator(7)), views(x, make_generator(7))
    assert torch.equal(a, b) and not torch.equal(a, views(x, make_generator(8)))
    v1, v2 = views.views(x, 2, make_generator(7))
    assert torch.equal(v1, a) and not torch.equal(v1, v2)


def test_config_selects_the_family() -> None:
    adapter = TypeAdapter(ViewConfig)
    assert isinstance(adapter.validate_python({"family": "robustness"}), RobustnessViewConfig)
    assert isinstance(adapter.validate_python({"crop_scale": [0.5, 1]}), SimCLRViewConfig)
    with pytest.raises(ValidationError, match="degree"):
        adapter.validate_python({"family": "robustness", "degree": 2})
    for name in ("supervised", "ss_at", "rotation", "jigsaw"):
        method = {"name": name, "views": {"family": "robustness"}}
        cfg = PretrainConfig.model_validate({"method": method})
        assert isinstance(cfg.method.views, RobustnessViewConfig)
    simclr_dump = PretrainConfig().model_dump(mode="json")["method"]["views"]
    assert "family" not in simclr_dump  # existing SimCLR configs and run dirs are unchanged
