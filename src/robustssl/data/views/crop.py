"""Random resized crop (+ optional horizontal flip) for a batch, as one ``grid_sample`` call.

Follows torchvision's ``RandomResizedCrop`` (the SimCLR crop, seed 002 §5.2, seed 004 Stage 1):
area fraction ~ U(scale), log-uniform aspect ratio, up to 10 trials, then the centre-crop fallback;
integer boxes; bilinear resampling with ``align_corners=False`` and edge clamping inside the box
(= ``resized_crop(..., antialias=False)``). Vectorised over the batch.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from robustssl.data.views._common import (
    bernoulli,
    check_images,
    check_probability,
    check_range,
)

_TRIALS = 10


def output_size(size: int | tuple[int, int] | None, height: int, width: int) -> tuple[int, int]:
    """Resolve ``size`` (int = square, pair = (h, w), None = input size) to ``(h, w)``."""
    if size is None:
        return height, width
    pair = (size, size) if isinstance(size, int) else tuple(size)
    if len(pair) != 2 or any(not isinstance(s, int) or s <= 0 for s in pair):
        raise ValueError(f"size={size!r} must be a positive int, a pair (h, w) or None")
    return int(pair[0]), int(pair[1])


def sample_crop_boxes(
    batch: int,
    height: int,
    width: int,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
    generator: torch.Generator | None = None,
) -> Tensor:
    """Per-sample crop boxes ``(top, left, h, w)`` as a CPU LongTensor (B, 4).

    Same distribution as torchvision ``RandomResizedCrop.get_params``, with all 10 trials drawn at
    once and the first valid one kept per sample.
    """
    scale = check_range(scale, "scale", 0.0, 1.0)
    ratio = check_range(ratio, "ratio", 1e-12)
    shape = (batch, _TRIALS)
    area = height * width * (scale[0] + (scale[1] - scale[0]) * _rand(shape, generator))
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    aspect = torch.exp(log_lo + (log_hi - log_lo) * _rand(shape, generator))
    w = torch.sqrt(area * aspect).round().long()
    h = torch.sqrt(area / aspect).round().long()
    valid = (w > 0) & (w <= width) & (h > 0) & (h <= height)
    first = valid.long().argmax(dim=1, keepdim=True)
    h = h.gather(1, first).squeeze(1)
    w = w.gather(1, first).squeeze(1)
    found = valid.any(dim=1)
    fb_h, fb_w = _fallback_size(height, width, ratio)
    h = torch.where(found, h, fb_h)
    w = torch.where(found, w, fb_w)
    top = (_rand((batch,), generator) * (height - h + 1)).floor().long()
    left = (_rand((batch,), generator) * (width - w + 1)).floor().long()
    top = torch.where(found, top, (height - h) // 2)
    left = torch.where(found, left, (width - w) // 2)
    return torch.stack((top, left, h, w), dim=1)


def resized_crop(
    x: Tensor, boxes: Tensor, size: int | tuple[int, int] | None = None, flip: Tensor | None = None
) -> Tensor:
    """Crop each image to its box ``(top, left, h, w)``, resize bilinearly, optionally mirror.

    ``flip`` is a per-sample bool tensor; a flipped sample equals ``hflip(resized_crop(...))``.
    A full-image box with output size == input size reproduces the input to ~2e-6 in float32
    (rounding of the normalised sampling grid) and to ~1e-12 in float64.
    """
    check_images(x)
    b, _, height, width = x.shape
    if boxes.shape != (b, 4):
        raise ValueError(
            f"boxes must have shape ({b}, 4) as (top, left, h, w), got {tuple(boxes.shape)}"
        )
    out_h, out_w = output_size(size, height, width)
    boxes = boxes.to(torch.float64)
    top, left, h, w = boxes.unbind(1)
    gy = _axis_grid(top, h, out_h, height, None).to(x.device, x.dtype, non_blocking=True)
    gx = _axis_grid(left, w, out_w, width, flip).to(x.device, x.dtype, non_blocking=True)
    grid = torch.empty(b, out_h, out_w, 2, device=x.device, dtype=x.dtype)
    grid[..., 0] = gx[:, None, :]
    grid[..., 1] = gy[:, :, None]
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def random_resized_crop(
    x: Tensor,
    size: int | tuple[int, int] | None = None,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
    generator: torch.Generator | None = None,
    flip_p: float = 0.0,
) -> Tensor:
    """torchvision-style RandomResizedCrop with independent boxes per sample.

    ``flip_p`` folds a RandomHorizontalFlip(p=flip_p) into the same resampling pass.
    """
    check_images(x)
    flip_p = check_probability(flip_p, "flip_p")
    boxes = sample_crop_boxes(x.shape[0], x.shape[2], x.shape[3], scale, ratio, generator)
    flip = bernoulli(x.shape[0], flip_p, generator)
    return resized_crop(x, boxes, size, flip)


def _rand(shape: tuple[int, ...], generator: torch.Generator | None) -> Tensor:
    return torch.rand(shape, generator=generator, dtype=torch.float64)


def _fallback_size(height: int, width: int, ratio: tuple[float, float]) -> tuple[Tensor, Tensor]:
    """torchvision's centre-crop fallback size when no trial fits."""
    in_ratio = width / height
    if in_ratio < ratio[0]:
        w, h = width, round(width / ratio[0])
    elif in_ratio > ratio[1]:
        h, w = height, round(height * ratio[1])
    else:
        h, w = height, width
    return torch.tensor(h), torch.tensor(w)


def _axis_grid(start: Tensor, length: Tensor, out: int, full: int, flip: Tensor | None) -> Tensor:
    """Normalised sample positions (B, out) along one axis, as ``F.interpolate`` would take them."""
    dst = torch.arange(out, dtype=torch.float64)
    if flip is not None:
        dst = torch.where(flip[:, None], out - 1 - dst, dst)
    src = (dst + 0.5) * (length / out)[:, None] - 0.5
    src = torch.minimum(src.clamp(min=0.0), (length - 1)[:, None]) + start[:, None]
    return (src + 0.5) * (2.0 / full) - 1.0
