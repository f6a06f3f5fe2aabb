"""Blur corruptions: defocus, glass, motion and zoom blur (Hendrycks & Dietterich 2019,
``make_cifar_c.py``), batched. Glass blur's per-pixel swap loop is replaced by vectorised passes
of random disjoint neighbour swaps; motion blur is ImageMagick's kernel (docs/corruptions.md)."""

from __future__ import annotations

import functools
import math

import torch
from torch import Tensor

from robustssl.data.corruptions import params
from robustssl.data.corruptions._common import angles, family, rand
from robustssl.data.corruptions._filters import correlate1d, correlate2d, gaussian_filter
from robustssl.data.corruptions._filters import motion_blur as _motion
from robustssl.data.corruptions._sampling import apply_pixel_operator, zoom_sum_operator


def disk_kernel(radius: float, alias_blur: float) -> Tensor:
    """The official ``disk``: a normalised aliased disk on a 17×17 grid (wider for radius > 8),
    smoothed by cv2.GaussianBlur (3×3, or 5×5 for radius > 8, σ = alias_blur); float64, with the
    all-zero border rows/columns trimmed (the kernel is symmetric, so its centre is kept)."""
    half = 8 if radius <= 8 else math.floor(radius)
    pos = torch.arange(-half, half + 1, dtype=torch.float64)
    disk = ((pos[None, :] ** 2 + pos[:, None] ** 2) <= radius**2).double()
    disk /= disk.sum()
    k = 3 if radius <= 8 else 5
    offsets = torch.arange(k, dtype=torch.float64) - (k - 1) / 2
    g = torch.exp(-(offsets**2) / (2 * alias_blur**2))
    g /= g.sum()
    smooth = correlate1d(disk[None, None], g, 2, "reflect101")
    smooth = correlate1d(smooth, g, 3, "reflect101")[0, 0]
    keep = int((smooth.abs().sum(dim=0) > 0).nonzero().min())
    return smooth[keep : smooth.shape[0] - keep, keep : smooth.shape[1] - keep]


@family
def defocus_blur(x: Tensor, severity: int, generator: torch.Generator | None = None) -> Tensor:
    """Each channel correlated with ``disk_kernel`` (cv2.filter2D, reflect-101 borders)."""
    radius, alias = params.DEFOCUS_BLUR[severity - 1]
    return correlate2d(x, disk_kernel(radius, alias).to(x.device), "reflect101")


def swap_offsets(max_delta: int) -> list[tuple[int, int]]:
    """The official swap offsets (dy, dx) ∈ [−d, d−1]² \\ {0}, each pair direction once."""
    out: list[tuple[int, int]] = []
    for dy in range(-max_delta, max_delta):
        for dx in range(-max_delta, max_delta):
            o = (dy, dx) if (dy, dx) > (0, 0) else (-dy, -dx)
            if o != (0, 0) and o not in out:
                out.append(o)
    return out


def _anchor_mask(
    h: int, w: int, offset: tuple[int, int], phase: int, device: torch.device
) -> Tensor:
    """(H, W) anchors p of disjoint pairs (p, p + offset), both inside rows/cols 1..n−1."""
    dy, dx = offset
    r = torch.arange(h, device=device)[:, None]
    c = torch.arange(w, device=device)[None, :]
    inside = (r >= 1) & (r + dy >= 1) & (r + dy < h) & (c >= 1) & (c + dx >= 1) & (c + dx < w)
    coord, delta = (r, abs(dy)) if dy != 0 else (c, abs(dx))
    return inside & ((coord // delta) % 2 == phase)


def swap_pass(
    index: Tensor, offset: tuple[int, int], phase: int, prob: float, gen: torch.Generator | None
) -> Tensor:
    """Swap each anchor entry of ``index`` (B, 1, H, W) with its partner at ``offset`` with
    probability ``prob``; pairs are disjoint, so a permutation stays a permutation."""
    b, _, h, w = index.shape
    dy, dx = offset
    coin = rand((b, 1, h, w), gen, torch.empty(0, device=index.device)) < prob
    mask = _anchor_mask(h, w, offset, phase, index.device) & coin
    partner = torch.roll(mask, shifts=(dy, dx), dims=(2, 3))
    from_partner = torch.roll(index, shifts=(-dy, -dx), dims=(2, 3))
    from_anchor = torch.roll(index, shifts=(dy, dx), dims=(2, 3))
    return torch.where(mask, from_partner, torch.where(partner, from_anchor, index))


def local_shuffle(
    x: Tensor, max_delta: int, iterations: int, generator: torch.Generator | None
) -> Tensor:
    """Vectorised stand-in for the official swap loop: per iteration, two phases of disjoint swaps
    per offset, each pair swapped with a probability chosen so that a pixel is swapped as often on
    average as in the loop (2·(1 − 1/4d²) times). The swaps are composed on a pixel-index map,
    then applied to all channels with one gather."""
    b, c, h, w = x.shape
    offsets = swap_offsets(max_delta)
    prob = (1 - 1 / (4 * max_delta**2)) / len(offsets)
    index = torch.arange(h * w, device=x.device).view(1, 1, h, w).expand(b, 1, h, w)
    for _ in range(iterations):
        for offset in offsets:
            for phase in (0, 1):
                index = swap_pass(index, offset, phase, prob, generator)
    flat = index.reshape(b, 1, h * w).expand(b, c, h * w)
    return x.reshape(b, c, h * w).gather(2, flat).view(b, c, h, w)


@family
def glass_blur(x: Tensor, severity: int, generator: torch.Generator | None = None) -> Tensor:
    """Gaussian blur (skimage, σ), 8-bit truncation, local pixel shuffling, Gaussian blur again."""
    sigma, max_delta, iterations = params.GLASS_BLUR[severity - 1]
    y = gaussian_filter(x, sigma, "edge").clamp_(0, 1).mul_(255).floor_().div_(255)
    y = local_shuffle(y, max_delta, iterations, generator)
    return gaussian_filter(y, sigma, "edge")


@family
def motion_blur(x: Tensor, severity: int, generator: torch.Generator | None = None) -> Tensor:
    """ImageMagick motion blur (radius, σ) along an angle ~ U(−45°, 45°) per image."""
    radius, sigma = params.MOTION_BLUR[severity - 1]
    return _motion(x, radius, sigma, angles(x.shape[0], -45.0, 45.0, generator))


@functools.lru_cache(maxsize=16)
def _zoom_operator(h: int, w: int, severity: int) -> Tensor:
    count = params.ZOOM_BLUR_COUNTS[severity - 1]
    step = (1 + 0.01) - 1  # np.arange's float step, so the factors equal the official ones
    return zoom_sum_operator(h, w, tuple(1 + k * step for k in range(count)))


@family
def zoom_blur(x: Tensor, severity: int, generator: torch.Generator | None = None) -> Tensor:
    """Mean of x and its centre zooms by 1, 1.01, …, as the official (x counts twice); all the
    zooms are summed by one cached sparse matrix."""
    count = params.ZOOM_BLUR_COUNTS[severity - 1]
    h, w = x.shape[2:]
    return (x + apply_pixel_operator(x, _zoom_operator(h, w, severity))) / (count + 1)
