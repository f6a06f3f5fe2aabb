"""Rotation pretext task: quarter turns with labels (seed 003 §3.1, §4.2; Gidaris et al. [9]).

Label k means k quarter turns counter-clockwise, as ``torch.rot90(x, k, dims=(-2, -1))``.
Quarter and three-quarter turns need square images (they would swap H and W).
"""

from __future__ import annotations

import torch
from torch import Tensor

from robustssl.data.views._common import check_images

NUM_ROTATIONS = 4


def rotate(x: Tensor, k: int | Tensor) -> Tensor:
    """Rotate by ``k`` quarter turns (an int, or a LongTensor with one value per sample)."""
    check_images(x)
    if isinstance(k, int):
        _check_square(x, k % 2 == 1)
        return torch.rot90(x, k % NUM_ROTATIONS, dims=(-2, -1))
    k = torch.as_tensor(k).to("cpu", torch.long) % NUM_ROTATIONS
    if k.shape != (x.shape[0],):
        raise ValueError(f"k must be an int or have shape ({x.shape[0]},), got {tuple(k.shape)}")
    _check_square(x, bool((k % 2 == 1).any()))
    out = x.clone()
    for turns in range(1, NUM_ROTATIONS):
        idx = (k == turns).nonzero().squeeze(1).to(x.device)
        if idx.numel():
            out.index_copy_(0, idx, torch.rot90(x.index_select(0, idx), turns, dims=(-2, -1)))
    return out


def random_rotation(x: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Rotate each image by its own random multiple of 90° (seed 003 §4.2).

    Returns ``(x_rot, labels)``; labels (B,) in {0, 1, 2, 3} on ``x.device``.
    """
    check_images(x)
    _check_square(x, True)
    labels = torch.randint(0, NUM_ROTATIONS, (x.shape[0],), generator=generator)
    return rotate(x, labels), labels.to(x.device)


def all_rotations(x: Tensor) -> tuple[Tensor, Tensor]:
    """All four rotations of every image (Gidaris et al. [9] and Hendrycks et al. [15] of seed 003;
    seed 003 §4.2 contrasts its one-random-rotation scheme with this).

    Returns ``(x_rot, labels)`` with x_rot (4B, C, H, W) ordered by rotation block:
    rows ``k·B … k·B + B − 1`` hold every image turned k times, and labels = k there.
    """
    check_images(x)
    _check_square(x, True)
    rotated = torch.cat([torch.rot90(x, k, dims=(-2, -1)) for k in range(NUM_ROTATIONS)])
    labels = torch.arange(NUM_ROTATIONS, device=x.device).repeat_interleave(x.shape[0])
    return rotated, labels


def _check_square(x: Tensor, needs_square: bool) -> None:
    if needs_square and x.shape[-2] != x.shape[-1]:
        raise ValueError(
            f"rotating {x.shape[-2]}x{x.shape[-1]} images by 90° or 270° changes their shape; "
            "crop them to a square first (e.g. a centre crop to min(H, W))"
        )
