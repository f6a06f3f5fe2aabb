"""Per-sample colour adjustments with torchvision's float semantics (clamped to [0, 1]).

Factors are a float or one value per sample. On 1-channel images saturation is the identity
(as in torchvision/PIL). Grayscale uses the ITU-R 601-2 luma weights 0.299/0.587/0.114 (PIL's
``convert("L")``; torchvision's tensor path uses 0.2989, a < 1e-4 difference). The ``*_``
variants work in place on ``x`` and return it.
"""

from __future__ import annotations

from torch import Tensor

from robustssl.data.views._common import check_images, per_sample

LUMA_WEIGHTS = (0.299, 0.587, 0.114)


def rgb_to_grayscale(x: Tensor) -> Tensor:
    """Luma (B, 1, H, W); a 1-channel input is returned as is."""
    check_images(x)
    if x.shape[1] == 1:
        return x
    r, g, b = x.unbind(1)
    wr, wg, wb = LUMA_WEIGHTS
    return (r * wr).add_(g, alpha=wg).add_(b, alpha=wb).unsqueeze(1)


def adjust_brightness_(x: Tensor, factor: Tensor | float) -> Tensor:
    """In place: ``clamp(f · x)``; f = 1 is the identity."""
    return x.mul_(per_sample(factor, x)).clamp_(0.0, 1.0)


def adjust_contrast_(x: Tensor, factor: Tensor | float) -> Tensor:
    """In place: blend with the per-image mean of the grayscale, ``clamp(f·x + (1−f)·mean)``."""
    mean = rgb_to_grayscale(x).mean(dim=(1, 2, 3), keepdim=True)
    return _blend_(x, mean, per_sample(factor, x))


def adjust_saturation_(x: Tensor, factor: Tensor | float) -> Tensor:
    """In place: blend with the grayscale, ``clamp(f·x + (1−f)·gray)``; identity on 1 channel."""
    if x.shape[1] == 1:
        return x
    return _blend_(x, rgb_to_grayscale(x), per_sample(factor, x))


def adjust_brightness(x: Tensor, factor: Tensor | float) -> Tensor:
    """``clamp(f · x)`` as a new tensor."""
    check_images(x)
    return adjust_brightness_(x.clone(), factor)


def adjust_contrast(x: Tensor, factor: Tensor | float) -> Tensor:
    """Contrast blend (see ``adjust_contrast_``) as a new tensor."""
    check_images(x)
    return adjust_contrast_(x.clone(), factor)


def adjust_saturation(x: Tensor, factor: Tensor | float) -> Tensor:
    """Saturation blend (see ``adjust_saturation_``) as a new tensor."""
    check_images(x)
    return adjust_saturation_(x.clone(), factor)


def _blend_(x: Tensor, other: Tensor, f: Tensor) -> Tensor:
    return x.mul_(f).add_(other * (1.0 - f)).clamp_(0.0, 1.0)
