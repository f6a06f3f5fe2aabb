"""The robustness library's CIFAR training views on a batch, on the batch's device (MadryLab
robustness ``data_augmentation.py``; REFERENCE_FACTS.md): random translation by zero-padding and
cropping (``RandomCrop(size, padding)``) → horizontal flip → ColorJitter(brightness, contrast,
saturation), applied to every sample in a random order of the adjustments → RandomRotation(±degrees)
with nearest-neighbour sampling and zero fill, as torchvision's defaults. Every sample draws its own
parameters from the run's ``torch.Generator`` (on the CPU, then moved to the data's device).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from robustssl.data.views._common import check_images, uniform
from robustssl.data.views.config import RobustnessViewConfig
from robustssl.data.views.jitter import JitterParams, apply_color_jitter_, sample_jitter_params
from robustssl.data.views.translate import sample_translate_flip, translate_flip


@dataclass(frozen=True)
class RobustnessParams:
    """One view's draws (CPU, one row per sample): window corner in the padded image, flip flag,
    colour jitter and rotation angle in degrees (counter-clockwise)."""

    top: Tensor
    left: Tensor
    flip: Tensor
    jitter: JitterParams
    angle: Tensor


def rotate_nearest(x: Tensor, degrees: Tensor) -> Tensor:
    """Rotate each image counter-clockwise by its own angle about its centre, nearest-neighbour,
    zero fill: torchvision's ``F.rotate(img, angle)`` (its affine grid over pixel centres)."""
    check_images(x)
    _, _, h, w = x.shape
    if degrees.shape != (x.shape[0],):
        raise ValueError(
            f"degrees must hold one angle per image ({x.shape[0]},), got {tuple(degrees.shape)}"
        )
    theta = torch.deg2rad(degrees.to(torch.float64))
    cos, sin = torch.cos(theta), torch.sin(theta)
    # input = M · output in pixel coordinates about the centre, M = [[cos, −sin], [sin, cos]]
    matrix = torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1)
    scale = torch.tensor([0.5 * w, 0.5 * h], dtype=torch.float64)
    xs = torch.linspace(-0.5 * w + 0.5, 0.5 * w - 0.5, w, dtype=torch.float64)
    ys = torch.linspace(-0.5 * h + 0.5, 0.5 * h - 0.5, h, dtype=torch.float64)
    base = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1)  # (H, W, 2) as (x, y)
    grid = torch.einsum("hwj,bij->bhwi", base, matrix) / scale
    grid = grid.to(x.device, x.dtype, non_blocking=True)
    return F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)


class RobustnessViews:
    """Callable turning a (B, C, H, W) batch in [0, 1] into robustness-library training views."""

    def __init__(self, config: RobustnessViewConfig) -> None:
        self.config = config

    def sample_params(
        self, x: Tensor, generator: torch.Generator | None = None
    ) -> RobustnessParams:
        """Draw one view's parameters for every sample (crop, flip, jitter, angle in that order)."""
        check_images(x)
        cfg, n = self.config, x.shape[0]
        top, left, flip = sample_translate_flip(n, cfg.padding, cfg.hflip_p, generator)
        jitter = sample_jitter_params(
            n,
            cfg.brightness,
            cfg.contrast,
            saturation=cfg.saturation,
            hue=cfg.hue,
            p=1.0,
            generator=generator,
        )
        angle = uniform(n, -cfg.degrees, cfg.degrees, generator, torch.float64)
        return RobustnessParams(top, left, flip, jitter, angle)

    def apply(self, x: Tensor, params: RobustnessParams) -> Tensor:
        """Make the view described by ``params`` (deterministic)."""
        out = translate_flip(x, self.config.padding, params.top, params.left, params.flip)
        apply_color_jitter_(out, params.jitter)
        if self.config.degrees > 0:
            out = rotate_nearest(out, params.angle)
        return out

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return self.apply(x, self.sample_params(x, generator))

    def views(
        self, x: Tensor, n_views: int = 2, generator: torch.Generator | None = None
    ) -> list[Tensor]:
        """``n_views`` independent views of every sample (drawn view by view)."""
        if n_views < 1:
            raise ValueError(f"n_views={n_views} must be >= 1")
        return [self(x, generator) for _ in range(n_views)]

    def __repr__(self) -> str:
        return f"RobustnessViews({self.config!r})"
