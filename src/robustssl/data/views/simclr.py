"""SimCLR view pipeline on a batch, on the batch's device (seed 002 §5.2, seed 004 Stage 1).

crop + resize + horizontal flip (one resampling pass) → colour jitter (p, random order) →
grayscale (p) → optional Gaussian blur (p); every sample draws its own parameters.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import Tensor

from robustssl.data.views._common import bernoulli, check_images, subset_indices, uniform
from robustssl.data.views.blur import blur_with_sigma, default_kernel_size
from robustssl.data.views.config import SimCLRViewConfig
from robustssl.data.views.crop import resized_crop, sample_crop_boxes
from robustssl.data.views.grayscale import apply_grayscale_
from robustssl.data.views.jitter import JitterParams, apply_color_jitter_, sample_jitter_params


@dataclass(frozen=True)
class SimCLRParams:
    """All random draws for one view of a batch (CPU tensors, one row per sample)."""

    boxes: Tensor
    flip: Tensor
    jitter: JitterParams
    grayscale: Tensor
    blur: Tensor
    sigma: Tensor

    @staticmethod
    def cat(params: list[SimCLRParams]) -> SimCLRParams:
        """Concatenate along the batch (for running several views as one batch)."""
        j = [p.jitter for p in params]
        jitter = JitterParams(
            torch.cat([q.active for q in j]),
            torch.cat([q.order for q in j]),
            torch.cat([q.factors for q in j], dim=1),
            j[0].enabled,
        )
        fields = ("boxes", "flip", "grayscale", "blur", "sigma")
        cols = {f: torch.cat([getattr(p, f) for p in params]) for f in fields}
        return SimCLRParams(jitter=jitter, **cols)


class SimCLRViews:
    """Callable that turns a (B, C, H, W) batch in [0, 1] into SimCLR views.

    Same semantics as torchvision's RandomResizedCrop → RandomHorizontalFlip →
    RandomApply([ColorJitter], p) → RandomGrayscale → (RandomApply([GaussianBlur], p)) applied to
    each sample. On 1-channel inputs saturation, hue and grayscale are identities.
    """

    def __init__(self, config: SimCLRViewConfig | None = None) -> None:
        self.config = config if config is not None else SimCLRViewConfig()

    def sample_params(self, x: Tensor, generator: torch.Generator | None = None) -> SimCLRParams:
        """Draw one view's parameters for every sample of ``x`` (on the CPU)."""
        check_images(x)
        cfg = self.config
        n, _, height, width = x.shape
        boxes = sample_crop_boxes(n, height, width, cfg.crop_scale, cfg.crop_ratio, generator)
        flip = bernoulli(n, cfg.hflip_p, generator)
        jitter = sample_jitter_params(
            n,
            cfg.brightness,
            cfg.contrast,
            saturation=cfg.saturation,
            hue=cfg.hue,
            p=cfg.jitter_p,
            generator=generator,
        )
        gray = bernoulli(n, cfg.grayscale_p, generator)
        if cfg.blur_p > 0:
            blur = bernoulli(n, cfg.blur_p, generator)
            sigma = uniform(n, cfg.blur_sigma[0], cfg.blur_sigma[1], generator)
        else:
            blur, sigma = torch.zeros(n, dtype=torch.bool), torch.ones(n)
        return SimCLRParams(boxes, flip, jitter, gray, blur, sigma)

    def apply(self, x: Tensor, params: SimCLRParams) -> Tensor:
        """Make the view described by ``params`` (deterministic)."""
        out = resized_crop(x, params.boxes, self.config.size, params.flip)
        apply_color_jitter_(out, params.jitter)
        apply_grayscale_(out, params.grayscale)
        idx = subset_indices(params.blur, out.device)
        if idx is not None:
            size = self.config.blur_kernel_size or default_kernel_size(*out.shape[2:])
            blurred = blur_with_sigma(out.index_select(0, idx), params.sigma[params.blur], size)
            out.index_copy_(0, idx, blurred)
        return out

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """One augmented view per sample: (B, C, size, size), or (B, C, H, W) if size is None."""
        return self.apply(x, self.sample_params(x, generator))

    def views(
        self, x: Tensor, n_views: int = 2, generator: torch.Generator | None = None
    ) -> list[Tensor]:
        """``n_views`` independent views of every sample.

        The parameters of view 1, 2, … are drawn in turn from ``generator``. On CPU the views
        are computed in parallel threads (torch ops release the GIL, so this overlaps the many
        small ops); on other devices they run as one batch of n_views·B.
        """
        if n_views < 1:
            raise ValueError(f"n_views={n_views} must be >= 1")
        params = [self.sample_params(x, generator) for _ in range(n_views)]
        if x.device.type == "cpu" and n_views > 1:
            grad, inference = torch.is_grad_enabled(), torch.is_inference_mode_enabled()

            def run(p: SimCLRParams) -> Tensor:  # grad modes are thread-local: pass them on
                with torch.inference_mode(inference), torch.set_grad_enabled(grad):
                    return self.apply(x, p)

            return list(_thread_pool().map(run, params))
        out = self.apply(x.repeat(n_views, 1, 1, 1), SimCLRParams.cat(params))
        return list(out.split(x.shape[0], dim=0))

    def __repr__(self) -> str:
        return f"SimCLRViews({self.config!r})"


@lru_cache(maxsize=1)
def _thread_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1))
