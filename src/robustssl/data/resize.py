"""Resizing uint8 image batches and parsing ``image_size`` arguments."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def parse_image_size(
    image_size: int | tuple[int, int] | list[int] | None,
) -> tuple[int, int] | None:
    """``None`` → None, ``s`` → (s, s), ``(h, w)`` → (h, w); anything else is a ValueError."""
    if image_size is None:
        return None
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        size = (image_size, image_size)
    elif isinstance(image_size, (tuple, list)) and len(image_size) == 2:
        size = (image_size[0], image_size[1])
    else:
        raise ValueError(
            f"image_size={image_size!r} is not understood; use an int (square) or (height, width)"
        )
    if not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size):
        raise ValueError(f"image_size={image_size!r} must hold positive ints, e.g. 32 or (32, 32)")
    return size


def resize_uint8(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear, antialiased resize of uint8 (B, C, H, W) to ``size``; returns uint8."""
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    out = F.interpolate(
        images.float(), size=size, mode="bilinear", align_corners=False, antialias=True
    )
    return out.round_().clamp_(0, 255).to(torch.uint8)
