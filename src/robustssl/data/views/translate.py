"""Random translation + horizontal flip: torchvision's ``RandomCrop(size, padding=p)`` followed by
``RandomHorizontalFlip`` on a batch, exactly (integer shifts, zero fill, no resampling).

AdvCL builds its adversarial and high-frequency views from this weakly augmented "original" view
(its ``train_transform_org``: RandomCrop(32, padding=4) + flip; seed 001 §4 and
../shared/REFERENCE_FACTS.md).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from robustssl.data.views._common import bernoulli, check_images, check_probability


def sample_translate_flip(
    batch: int, padding: int, hflip_p: float = 0.5, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """Per-sample draws on the CPU, in this order: top and left offsets in [0, 2·padding] (the
    window's corner in the padded image) and the flip flags."""
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding={padding!r} must be an int ≥ 0 (pixels, e.g. 4)")
    hflip_p = check_probability(hflip_p, "hflip_p")
    top = torch.randint(0, 2 * padding + 1, (batch,), generator=generator)
    left = torch.randint(0, 2 * padding + 1, (batch,), generator=generator)
    return top, left, bernoulli(batch, hflip_p, generator)


def translate_flip(x: Tensor, padding: int, top: Tensor, left: Tensor, flip: Tensor) -> Tensor:
    """Crop every zero-padded image at its own (top, left) and mirror the flagged ones."""
    check_images(x)
    _, _, h, w = x.shape
    padded = F.pad(x, (padding,) * 4) if padding else x
    rows = (top[:, None] + torch.arange(h)).to(x.device)
    cols = (left[:, None] + torch.arange(w)).to(x.device)
    cols = torch.where(flip[:, None].to(x.device), cols.flip(1), cols)
    batch = torch.arange(x.shape[0], device=x.device)[:, None, None]
    out = padded[batch, :, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()


def random_translate_flip(
    x: Tensor, padding: int, hflip_p: float = 0.5, generator: torch.Generator | None = None
) -> Tensor:
    """Shift every image by its own (dy, dx) ∈ [−padding, padding]² (zero fill) and mirror it
    with probability ``hflip_p``; draws (dy, dx, flip) per sample on the CPU in that order."""
    check_images(x)
    top, left, flip = sample_translate_flip(x.shape[0], padding, hflip_p, generator)
    return translate_flip(x, padding, top, left, flip)
