"""Colour jitter: per-sample random order and factors, torchvision equivalence, probabilities."""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from robustssl.data.views import apply_color_jitter_, color_jitter, sample_jitter_params
from robustssl.utils import make_generator

_TV_OPS = (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue)


def _torchvision_reference(x: torch.Tensor, params) -> torch.Tensor:
    out = []
    for i in range(x.shape[0]):
        img = x[i]
        if params.active[i]:
            for op in params.order[i].tolist():
                img = _TV_OPS[op](img, float(params.factors[op, i]))
        out.append(img)
    return torch.stack(out)


@pytest.mark.parametrize("channels", [1, 3])
def test_matches_per_sample_torchvision_pipeline(images, channels) -> None:
    x = images(48, channels, 10, 12)
    params = sample_jitter_params(48, 0.6, 0.6, 0.6, 0.3, 0.8, make_generator(3))
    out = apply_color_jitter_(x.clone(), params)
    torch.testing.assert_close(out, _torchvision_reference(x, params), atol=5e-4, rtol=0)
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_parameters_are_per_sample_and_in_range() -> None:
    params = sample_jitter_params(4000, 0.4, 0.4, 0.4, 0.1, 0.8, make_generator(0))
    assert params.order.shape == (4000, 4)
    assert torch.equal(params.order.sort(dim=1).values, torch.arange(4).expand(4000, 4))
    orders = {tuple(row) for row in params.order.tolist()}
    assert len(orders) == 24  # every ordering occurs
    assert 0.77 < params.active.float().mean() < 0.83
    b, c, s, h = params.factors
    for f in (b, c, s):
        assert f.min() >= 0.6 and f.max() <= 1.4 and f.std() > 0.2
    assert h.min() >= -0.1 and h.max() <= 0.1
    assert params.enabled == (True, True, True, True)


def test_identities(images) -> None:
    x = images(8, 3, 6, 6)
    assert torch.equal(color_jitter(x, p=0.0, generator=make_generator(0)), x)
    assert torch.equal(color_jitter(x, 0.0, 0.0, 0.0, 0.0, p=1.0), x)
    assert sample_jitter_params(2, 0.0, 0.3, 0.0, 0.0).enabled == (False, True, False, False)


def test_determinism_and_independence(images) -> None:
    x = images(1, 3, 8, 8).expand(32, -1, -1, -1)
    a = color_jitter(x, p=1.0, generator=make_generator(1))
    assert torch.equal(a, color_jitter(x, p=1.0, generator=make_generator(1)))
    assert not torch.equal(a, color_jitter(x, p=1.0, generator=make_generator(2)))
    assert torch.unique(a.flatten(1), dim=0).shape[0] == 32


def test_differentiable_and_gradcheck() -> None:
    x = (0.2 + 0.6 * torch.rand(3, 3, 4, 4, generator=make_generator(0))).double()
    params = sample_jitter_params(3, 0.3, 0.3, 0.3, 0.1, 1.0, make_generator(1))
    assert torch.autograd.gradcheck(
        lambda t: apply_color_jitter_(t.clone(), params), (x.requires_grad_(),), atol=1e-6
    )


def test_input_not_modified(images) -> None:
    x = images(4, 3, 5, 5)
    before = x.clone()
    color_jitter(x, p=1.0)
    assert torch.equal(x, before)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"hue": 0.7}, "hue"), ({"brightness": -0.1}, "brightness"), ({"p": 2.0}, "p=")],
)
def test_bad_arguments_raise(images, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        color_jitter(images(2, 3, 4, 4), **kwargs)
