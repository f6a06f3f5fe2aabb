"""Corruptions on tensors: output contract, determinism, severity ordering, helpers' exact
semantics, and agreement with the per-image NumPy/SciPy/PIL reference of the benchmark."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage

from robustssl.data.corruptions import CORRUPTIONS, FAMILIES, corrupt, corruption_names
from robustssl.data.corruptions import params as P
from robustssl.data.corruptions._filters import gaussian_filter, motion_blur, motion_kernel
from robustssl.data.corruptions._jpeg import quant_table
from robustssl.data.corruptions._plasma import plasma_fractal
from robustssl.data.corruptions._sampling import bilinear_sample
from robustssl.data.corruptions.blur import local_shuffle
from robustssl.utils import make_generator

NAMES = corruption_names()
DETERMINISTIC = {
    "defocus_blur",
    "zoom_blur",
    "brightness",
    "contrast",
    "pixelate",
    "jpeg_compression",
}
# distance from the clean image grows with severity (glass blur, frost and elastic do not: their
# official constants trade blur against shuffling, image weight against frost, affine against
# elastic jitter)
MONOTONE = (
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "defocus_blur",
    "motion_blur",
    "zoom_blur",
    "snow",
    "fog",
    "brightness",
    "contrast",
    "pixelate",
    "jpeg_compression",
)
BORDERS = {"reflect101": "mirror", "symmetric": "reflect", "edge": "nearest"}  # ours → scipy
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def smooth_images(b: int, c: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    """Blurred random images stretched to [0, 1] per image (closer to photos than raw noise)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(b, c, h, w, generator=g)
    x = F.avg_pool2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), 5, 1)
    lo = x.amin(dim=(1, 2, 3), keepdim=True)
    hi = x.amax(dim=(1, 2, 3), keepdim=True)
    return (x - lo) / (hi - lo)


def distance(name: str, x: torch.Tensor, severity: int, seed: int = 0) -> float:
    return (corrupt(x, name, severity, seed=seed) - x).abs().mean().item()


@pytest.fixture(scope="module")
def ref() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "_numpy_corruptions", BENCHMARKS / "_numpy_corruptions.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_registry_lists_the_15_official_families_in_order() -> None:
    assert len(NAMES) == 15 and list(CORRUPTIONS) == list(NAMES)
    assert NAMES[:3] == ("gaussian_noise", "shot_noise", "impulse_noise")
    assert NAMES[-1] == "jpeg_compression"
    assert [f for f, _ in FAMILIES] == ["noise", "blur", "weather", "digital"]


@pytest.mark.parametrize("name", NAMES)
def test_every_severity_keeps_shape_dtype_and_range(name: str) -> None:
    for shape in ((3, 3, 20, 27), (2, 1, 28, 28)):
        x = smooth_images(*shape, seed=1)
        x[0, :, 0, 0] = 0.0  # a black pixel (brightness divides by V)
        for severity in P.SEVERITIES:
            y = corrupt(x, name, severity, seed=severity)
            assert y.shape == x.shape and y.dtype == x.dtype
            assert bool(torch.isfinite(y).all())
            assert y.min().item() >= 0.0 and y.max().item() <= 1.0
            assert not torch.equal(y, x) or severity == 1  # something changed


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16])
def test_other_float_dtypes_are_kept(dtype: torch.dtype) -> None:
    x = smooth_images(2, 3, 16, 16).to(dtype)
    for name in ("gaussian_noise", "zoom_blur", "jpeg_compression", "elastic_transform"):
        y = corrupt(x, name, 3, seed=0)
        assert y.dtype == dtype and float(y.min()) >= 0 and float(y.max()) <= 1


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_under_a_seed(name: str) -> None:
    x = smooth_images(4, 3, 16, 16, seed=2)
    a = corrupt(x, name, 3, seed=7)
    assert torch.equal(a, corrupt(x, name, 3, seed=7))
    assert torch.equal(a, corrupt(x, name, 3, generator=make_generator(7)))
    other = corrupt(x, name, 3, seed=8)
    if name in DETERMINISTIC:
        assert torch.equal(a, other)
    else:
        assert (a - other).abs().max().item() > 1e-3


@pytest.mark.parametrize("name", MONOTONE)
def test_severity_moves_monotonically_away_from_the_clean_image(name: str) -> None:
    for channels in (3, 1):
        x = smooth_images(16, channels, 32, 32, seed=3)
        d = [distance(name, x, s) for s in P.SEVERITIES]
        for lo, hi in itertools.pairwise(d):
            assert hi >= lo * (1 - 1e-3), (name, channels, d)
        assert d[-1] > 1.3 * d[0], (name, channels, d)


@pytest.mark.parametrize(
    ("name", "atol"),
    [
        ("defocus_blur", 1e-9),
        ("zoom_blur", 1e-9),
        ("brightness", 1e-9),
        ("contrast", 1e-9),
        ("pixelate", 2.5 / 255),  # PIL rounds to 8 bits after each of its 4 passes
    ],
)
def test_deterministic_families_equal_the_reference(name: str, atol: float, ref) -> None:
    for channels in (3, 1):
        x = smooth_images(6, channels, 32, 32, seed=4).double()
        ours = corrupt(x, name, 4, seed=0).numpy()
        theirs = ref.corrupt_batch(x.numpy(), name, 4)
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=atol)


def test_jpeg_is_close_to_pil(ref) -> None:
    for channels in (3, 1):
        x = (smooth_images(8, channels, 32, 32, seed=5) * 255).round() / 255
        for severity in (1, 5):
            ours = corrupt(x, "jpeg_compression", severity).numpy()
            pil = ref.corrupt_batch(x.numpy(), "jpeg_compression", severity)
            change = np.abs(pil - x.numpy()).mean()
            # libjpeg's integer DCT rounds a few coefficients differently
            assert np.abs(ours - pil).mean() < 0.1 * change
            assert np.abs(ours - pil).mean() < 1.0 / 255
            np.testing.assert_allclose(ours * 255, np.round(ours * 255), atol=1e-4)


@pytest.mark.parametrize(
    ("name", "rtol"),
    [
        ("gaussian_noise", 0.05),
        ("shot_noise", 0.05),
        ("impulse_noise", 0.1),
        ("motion_blur", 0.15),
        ("snow", 0.15),
        ("frost", 0.15),
        ("fog", 0.2),
        ("elastic_transform", 0.2),
    ],
)
def test_random_families_match_the_reference_in_distribution(name: str, rtol: float, ref) -> None:
    x = smooth_images(48, 3, 32, 32, seed=6).double()
    ours = distance(name, x, 3)
    theirs = float(np.abs(ref.corrupt_batch(x.numpy(), name, 3, seed=1) - x.numpy()).mean())
    assert ours == pytest.approx(theirs, rel=rtol)


def test_local_shuffle_permutes_pixels_locally() -> None:
    x = torch.rand(3, 3, 12, 12, generator=torch.Generator().manual_seed(0))
    y = local_shuffle(x, 1, 2, make_generator(1))
    assert not torch.equal(x, y)
    for b in range(3):  # a permutation of whole pixels (all channels move together)
        before = sorted(map(tuple, x[b].reshape(3, -1).T.tolist()))
        after = sorted(map(tuple, y[b].reshape(3, -1).T.tolist()))
        assert before == after
    assert torch.equal(x[:, :, 0], y[:, :, 0]) and torch.equal(x[:, :, :, 0], y[:, :, :, 0])
    moved = (y != x).any(dim=1).float().mean().item()
    assert 0.3 < moved < 0.95


def test_motion_blur_is_one_sided_along_the_angle() -> None:
    x = torch.zeros(2, 1, 15, 15)
    x[:, 0, 7, 10] = 1.0
    y = motion_blur(x, 3, 1.5, torch.tensor([0.0, 90.0]))
    taps = motion_kernel(3, 1.5).float()
    # angle 0: out(y, x) = Σ k_i img(y, x + i), so the dot spreads to the left along its row
    np.testing.assert_allclose(y[0, 0, 7, 10 - 6 : 11].flip(0).numpy(), taps.numpy(), atol=1e-7)
    assert y[0].sum().item() == pytest.approx(1.0) and y[0, 0, 7].sum().item() == pytest.approx(1)
    # angle 90: along the column, upwards
    np.testing.assert_allclose(y[1, 0, 1:8, 10].flip(0).numpy(), taps.numpy(), atol=1e-7)


@pytest.mark.parametrize(("mode", "scipy_mode"), list(BORDERS.items()))
def test_sampling_and_filters_follow_scipy_borders(mode: str, scipy_mode: str) -> None:
    rng = np.random.default_rng(0)
    img = rng.random((2, 1, 9, 11))
    rows = rng.uniform(-25, 35, (2, 9, 11))
    cols = rng.uniform(-25, 35, (2, 9, 11))
    ours = bilinear_sample(torch.tensor(img), torch.tensor(rows), torch.tensor(cols), mode)
    for b in range(2):
        ref = ndimage.map_coordinates(img[b, 0], [rows[b], cols[b]], order=1, mode=scipy_mode)
        np.testing.assert_allclose(ours[b, 0].numpy(), ref, atol=1e-12)
    for sigma in (0.4, 1.9, 6.0):  # radius up to 24 > the 9-pixel side
        ours = gaussian_filter(torch.tensor(img), sigma, mode)[:, 0].numpy()
        ref = ndimage.gaussian_filter(img[:, 0], (0, sigma, sigma), mode=scipy_mode)
        np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_plasma_maps_span_zero_to_one() -> None:
    maps = plasma_fractal(4, 32, 2.0, make_generator(0), torch.zeros(1))
    assert maps.shape == (4, 32, 32)
    assert torch.allclose(maps.amin(dim=(1, 2)), torch.zeros(4))
    assert torch.allclose(maps.amax(dim=(1, 2)), torch.ones(4))
    assert not torch.equal(maps[0], maps[1])


def test_jpeg_quality_tables_follow_ijg_scaling() -> None:
    from robustssl.data.corruptions._jpeg import _LUMA_TABLE

    assert quant_table(_LUMA_TABLE, 50).tolist() == [list(map(float, r)) for r in _LUMA_TABLE]
    assert quant_table(_LUMA_TABLE, 100).eq(1).all()
    assert quant_table(_LUMA_TABLE, 40)[0, 0].item() == 20  # (16·125 + 50) // 100


def test_brightness_and_contrast_formulas() -> None:
    x = smooth_images(3, 1, 10, 10) * 0.5 + 0.25
    c = P.BRIGHTNESS[2]
    assert torch.allclose(corrupt(x, "brightness", 3), (x + c).clamp(0, 1))
    y = corrupt(x, "contrast", 5)
    assert torch.allclose(y.mean(dim=(2, 3)), x.mean(dim=(2, 3)), atol=1e-6)
    assert torch.allclose(y.std(dim=(2, 3)), x.std(dim=(2, 3)) * P.CONTRAST[4], atol=1e-6)


def test_grayscale_and_rgb_agree_on_grey_images() -> None:
    x1 = smooth_images(2, 1, 16, 16)
    x3 = x1.expand(2, 3, 16, 16).contiguous()
    for name in ("defocus_blur", "zoom_blur", "contrast", "pixelate", "brightness"):
        y3 = corrupt(x3, name, 3)
        assert torch.allclose(y3, corrupt(x1, name, 3).expand_as(y3), atol=1e-6), name


@pytest.mark.cuda
def test_same_result_on_cuda() -> None:
    x = smooth_images(4, 3, 32, 32)
    for name in NAMES:
        cpu = corrupt(x, name, 3, seed=0)
        gpu = corrupt(x.cuda(), name, 3, seed=0)
        assert gpu.device.type == "cuda"
        diff = (gpu.cpu() - cpu).abs()
        if name == "jpeg_compression":  # float rounding may move a coefficient across a half
            assert diff.mean().item() < 1e-3, name
        else:
            assert diff.max().item() < 1e-4, name


def test_bad_input_is_named() -> None:
    x = smooth_images(1, 3, 8, 8)
    with pytest.raises(ValueError, match="known corruptions: gaussian_noise"):
        corrupt(x, "speckle_noise", 1)
    for bad in (0, 6, 2.5, True, "3"):
        with pytest.raises(ValueError, match="severity must be one of 1, 2, 3, 4, 5"):
            corrupt(x, "fog", bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="either generator or seed"):
        corrupt(x, "fog", 1, generator=make_generator(0), seed=0)
    with pytest.raises(TypeError, match="float"):
        corrupt((x * 255).to(torch.uint8), "fog", 1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        corrupt(x * 2, "fog", 1)
    with pytest.raises(ValueError, match="C = 1 or 3"):
        corrupt(torch.rand(1, 2, 8, 8), "fog", 1)
    with pytest.raises(ValueError, match="at least 4x4"):
        corrupt(torch.rand(1, 3, 3, 8), "fog", 1)
    assert corrupt(x[:0], "snow", 2).shape == (0, 3, 8, 8)
