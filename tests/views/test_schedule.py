"""DynACL's augmentation schedule: the strength at given epochs and the views it builds, against
the values of the reference code (PKU-ML/DYNACL train_DynACL.py L217–221, L452–465)."""

from __future__ import annotations

import pytest

from robustssl.data.views import SimCLRViews
from robustssl.data.views.schedule import DYNACL_BASE_VIEWS, dynacl_strength, dynacl_views
from robustssl.utils import make_generator


@pytest.mark.parametrize(
    "epoch,strength",
    [
        (0, 1.0),  # reference epochs 1–50: μ = 1
        (49, 1.0),
        (50, 0.95),  # rebuilt at reference epoch 51: 1 − 50/1000
        (99, 0.95),
        (100, 0.9),
        (500, 0.5),
        (949, 0.1),
        (950, 0.05),  # the last rebuild, reference epoch 951
        (999, 0.05),
    ],
)
def test_strength_at_given_epochs_matches_the_reference(epoch, strength):
    assert dynacl_strength(epoch, 1000) == pytest.approx(strength, abs=1e-12)


def test_strength_for_other_periods_and_lengths():
    assert [dynacl_strength(t, 10, reload_every=5) for t in range(10)] == [1.0] * 5 + [0.5] * 5
    assert [dynacl_strength(t, 4, reload_every=1) for t in range(4)] == [1.0, 0.75, 0.5, 0.25]
    assert dynacl_strength(2, 3, reload_every=50) == 1.0  # K > E: never rebuilt


def test_views_at_full_strength_are_the_references_simclr_views():
    cfg = dynacl_views(1.0)
    assert cfg == DYNACL_BASE_VIEWS
    assert cfg.crop_scale == (0.1, 1.0)
    assert (cfg.brightness, cfg.contrast, cfg.saturation, cfg.hue) == (0.4, 0.4, 0.4, 0.1)
    assert (cfg.jitter_p, cfg.grayscale_p, cfg.hflip_p, cfg.blur_p) == (0.8, 0.2, 0.5, 0.0)


@pytest.mark.parametrize("mu", [0.95, 0.5, 0.05])
def test_views_scale_with_the_strength_as_the_reference(mu):
    cfg = dynacl_views(mu)
    assert cfg.crop_scale == pytest.approx((1 - 0.9 * mu, 1.0))
    assert cfg.brightness == cfg.contrast == cfg.saturation == pytest.approx(0.4 * mu)
    assert cfg.hue == pytest.approx(0.1 * mu)
    assert cfg.jitter_p == pytest.approx(0.8 * mu)
    assert cfg.grayscale_p == pytest.approx(0.2 * mu)
    assert cfg.hflip_p == 0.5  # the flip is not annealed


def test_weaker_views_stay_closer_to_the_image(images):
    x = images(64, 3, 32, 32)
    change = [
        float((SimCLRViews(dynacl_views(mu))(x, make_generator(0)) - x).abs().mean())
        for mu in (1.0, 0.5, 0.05)
    ]
    assert change[0] > change[1] > change[2]


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="epoch"):
        dynacl_strength(1000, 1000)
    with pytest.raises(ValueError, match="epoch"):
        dynacl_strength(-1, 1000)
    with pytest.raises(ValueError, match="epochs"):
        dynacl_strength(0, 0)
    with pytest.raises(ValueError, match="reload_every"):
        dynacl_strength(0, 10, reload_every=0)
    with pytest.raises(ValueError, match="strength"):
        dynacl_views(1.5)
