"""SimCLR config validation and the batched view pipeline."""

from __future__ import annotations

import pydantic
import pytest
import torch

from robustssl.data.views import SimCLRParams, SimCLRViewConfig, SimCLRViews
from robustssl.utils import make_generator

IDENTITY = {
    "crop_scale": (1.0, 1.0),
    "crop_ratio": (1.0, 1.0),
    "hflip_p": 0.0,
    "jitter_p": 0.0,
    "grayscale_p": 0.0,
}


def test_config_defaults_are_simclr_cifar() -> None:
    cfg = SimCLRViewConfig()
    assert (cfg.brightness, cfg.contrast, cfg.saturation, cfg.hue) == (0.4, 0.4, 0.4, 0.1)
    assert (cfg.jitter_p, cfg.grayscale_p, cfg.hflip_p, cfg.blur_p) == (0.8, 0.2, 0.5, 0.0)
    assert cfg.crop_scale == (0.08, 1.0) and cfg.size is None
    assert SimCLRViewConfig.with_strength(0.5) == cfg
    assert SimCLRViewConfig.with_strength(1.0, blur_p=0.5).hue == pytest.approx(0.2)


def test_config_round_trips_through_dict() -> None:
    cfg = SimCLRViewConfig(size=24, blur_p=0.5, crop_scale=(0.2, 1.0))
    assert SimCLRViewConfig.model_validate(cfg.model_dump()) == cfg
    assert SimCLRViewConfig.model_validate({"crop_ratio": [0.5, 2.0]}).crop_ratio == (0.5, 2.0)


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"jitter_p": 1.2}, "jitter_p"),
        ({"grayscale_p": -0.1}, "grayscale_p"),
        ({"crop_scale": (0.9, 0.1)}, "crop_scale"),
        ({"crop_ratio": (2.0, 1.0)}, "crop_ratio"),
        ({"blur_sigma": (0.0, 1.0)}, "blur_sigma"),
        ({"blur_kernel_size": 4}, "blur_kernel_size"),
        ({"size": 0}, "size"),
        ({"hue": 0.6}, "hue"),
        ({"colour": 0.4}, "colour"),
    ],
)
def test_config_rejects_bad_values(bad, field) -> None:
    with pytest.raises(pydantic.ValidationError, match=field):
        SimCLRViewConfig(**bad)


def test_config_is_frozen() -> None:
    with pytest.raises(pydantic.ValidationError):
        SimCLRViewConfig().hue = 0.2  # type: ignore[misc]


@pytest.mark.parametrize(
    ("shape", "size", "out_hw"),
    [((1, 28, 28), None, (28, 28)), ((3, 32, 32), None, (32, 32)), ((3, 24, 40), 16, (16, 16))],
)
def test_shapes_range_and_determinism(images, shape, size, out_hw) -> None:
    views = SimCLRViews(SimCLRViewConfig(size=size))
    x = images(16, *shape)
    a = views(x, make_generator(0))
    assert a.shape == (16, shape[0], *out_hw) and a.dtype == x.dtype
    assert a.min() >= 0.0 and a.max() <= 1.0
    assert torch.equal(a, views(x, make_generator(0)))
    assert not torch.equal(a, views(x, make_generator(1)))


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 15, 15)])
def test_everything_off_is_identity(images, shape) -> None:
    x = images(5, *shape)
    out = SimCLRViews(SimCLRViewConfig(**IDENTITY))(x, make_generator(0))
    torch.testing.assert_close(out, x, atol=2e-6, rtol=0)


def test_views_are_independent(images) -> None:
    x = images(1, 3, 32, 32).expand(32, -1, -1, -1)
    first, second = SimCLRViews().views(x, 2, make_generator(0))
    assert first.shape == second.shape == (32, 3, 32, 32)
    stacked = torch.cat((first, second)).flatten(1)
    assert torch.unique(stacked, dim=0).shape[0] == 64


def test_views_count_and_determinism(images) -> None:
    x = images(4, 1, 12, 12)
    out = SimCLRViews().views(x, 3, make_generator(7))
    assert len(out) == 3 and all(v.shape == x.shape for v in out)
    again = SimCLRViews().views(x, 3, make_generator(7))
    assert all(torch.equal(a, b) for a, b in zip(out, again, strict=True))
    with pytest.raises(ValueError, match="n_views"):
        SimCLRViews().views(x, 0)


def test_threaded_views_match_one_batch(images) -> None:
    x = images(8, 3, 16, 16)
    views = SimCLRViews(SimCLRViewConfig(blur_p=0.5))
    threaded = views.views(x, 3, make_generator(4))
    gen = make_generator(4)
    params = [views.sample_params(x, gen) for _ in range(3)]
    batched = views.apply(x.repeat(3, 1, 1, 1), SimCLRParams.cat(params)).split(8)
    for a, b in zip(threaded, batched, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
    assert torch.equal(threaded[1], views.apply(x, params[1]))


def test_views_follow_callers_grad_mode(images) -> None:
    x = images(4, 3, 8, 8).requires_grad_()
    with torch.no_grad():
        assert not any(v.requires_grad for v in SimCLRViews().views(x, 2))
    first, second = SimCLRViews(SimCLRViewConfig(blur_p=0.5)).views(x, 2, make_generator(0))
    (first.sum() + second.pow(2).sum()).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    with torch.inference_mode():
        assert all(v.is_inference() for v in SimCLRViews().views(images(4, 3, 8, 8), 2))


def test_grayscale_and_jitter_rates(images) -> None:
    x = images(1500, 3, 8, 8)
    only_colour = SimCLRViewConfig(**{**IDENTITY, "jitter_p": 0.8, "grayscale_p": 0.2})
    out = SimCLRViews(only_colour)(x, make_generator(0))
    gray = ((out[:, 0] == out[:, 1]) & (out[:, 1] == out[:, 2])).flatten(1).all(1)
    same = (out - x).abs().flatten(1).amax(1) < 2e-6
    assert 0.17 < gray.float().mean() < 0.23
    assert 0.14 < same.float().mean() < 0.20  # not jittered and not gray: 0.2 · 0.8


def test_blur_option_changes_output(images) -> None:
    x = images(8, 3, 32, 32)
    base = SimCLRViewConfig(**IDENTITY)
    blurred = SimCLRViews(base.model_copy(update={"blur_p": 1.0}))(x, make_generator(0))
    assert blurred.std() < x.std() - 0.02


@pytest.mark.cuda
def test_cuda_matches_cpu(images) -> None:
    x = images(16, 3, 32, 32)
    cpu = SimCLRViews()(x, make_generator(0))
    gpu = SimCLRViews()(x.cuda(), make_generator(0))
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-4, rtol=0)
