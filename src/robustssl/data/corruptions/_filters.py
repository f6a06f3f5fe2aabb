"""Batched linear filters with the border rules of the libraries the official script used.

Border modes (names of this module → cv2 / scipy.ndimage / torch):

- ``"reflect101"``: d c b | a b c d | c b a — cv2's default BORDER_REFLECT_101, scipy "mirror",
  torch "reflect";
- ``"symmetric"``: b a | a b c d | d c — scipy "reflect" (skimage's gaussian(mode="reflect"));
- ``"edge"``: a a | a b c d | d d — scipy "nearest", ImageMagick's edge virtual pixels.

Padding is an index gather, so any pad width works on any image size.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

BORDERS = ("reflect101", "symmetric", "edge")


def mirror(idx: Tensor, n: int, mode: str) -> Tensor:
    """Map integer positions (any range) to valid indices 0..n−1 of an axis of length ``n``."""
    if mode == "edge" or n == 1:
        return idx.clamp(0, n - 1)
    if mode == "reflect101":
        period = 2 * n - 2
        r = torch.remainder(idx, period)
        return torch.where(r >= n, period - r, r)
    if mode == "symmetric":
        period = 2 * n
        r = torch.remainder(idx, period)
        return torch.where(r >= n, period - 1 - r, r)
    raise ValueError(f"unknown border mode {mode!r}; use one of {', '.join(BORDERS)}")


def pad_axis(x: Tensor, dim: int, before: int, after: int, mode: str) -> Tensor:
    """``x`` padded along ``dim`` (2 or 3 of a 4-D tensor, or any dim) by ``before``/``after``."""
    if before == 0 and after == 0:
        return x
    n = x.shape[dim]
    fast = {"edge": "replicate", "reflect101": "reflect"}.get(mode)
    if x.ndim == 4 and dim in (2, 3) and fast and max(before, after) < n:
        pads = (before, after, 0, 0) if dim == 3 else (0, 0, before, after)
        return F.pad(x, pads, mode=fast)
    idx = torch.arange(-before, n + after, device=x.device)
    return x.index_select(dim, mirror(idx, n, mode))


def correlate1d(x: Tensor, weights: Tensor, dim: int, mode: str) -> Tensor:
    """Same-size correlation of every channel of (B, C, H, W) with 1-D ``weights`` along ``dim``
    (2 = rows, 3 = columns); the kernel's centre is at index len // 2, as in scipy/cv2.
    Computed as a sum of shifted copies, which beats a 1-channel conv2d on CPU."""
    k = weights.numel()
    n = x.shape[dim]
    padded = pad_axis(x, dim, k // 2, k - 1 - k // 2, mode)
    out = torch.zeros_like(x)
    for t, wt in enumerate(weights.tolist()):
        if wt != 0.0:
            out.add_(padded.narrow(dim, t, n), alpha=wt)
    return out


def correlate2d(x: Tensor, kernel: Tensor, mode: str) -> Tensor:
    """Same-size 2-D correlation of every channel with ``kernel`` (kh, kw), centred."""
    h, w = x.shape[2:]
    kh, kw = kernel.shape
    padded = pad_axis(x, 2, kh // 2, kh - 1 - kh // 2, mode)
    padded = pad_axis(padded, 3, kw // 2, kw - 1 - kw // 2, mode)
    out = torch.zeros_like(x)
    for (i, j), wt in zip(
        torch.cartesian_prod(torch.arange(kh), torch.arange(kw)).tolist(),
        kernel.reshape(-1).tolist(),
        strict=True,
    ):
        if wt != 0.0:
            out.add_(padded[:, :, i : i + h, j : j + w], alpha=wt)
    return out


def gaussian_weights(sigma: float, truncate: float = 4.0) -> Tensor:
    """scipy.ndimage's 1-D Gaussian: radius int(truncate·σ + 0.5), normalised; σ = 0 → [1]."""
    radius = int(truncate * float(sigma) + 0.5)
    if sigma <= 0 or radius == 0:
        return torch.ones(1, dtype=torch.float64)
    pos = torch.arange(-radius, radius + 1, dtype=torch.float64)
    w = torch.exp(-0.5 * (pos / sigma) ** 2)
    return w / w.sum()


def gaussian_filter(x: Tensor, sigma: float, mode: str, truncate: float = 4.0) -> Tensor:
    """skimage ``gaussian(x, sigma, channel_axis)`` / scipy ``gaussian_filter`` over H and W."""
    w = gaussian_weights(sigma, truncate).to(x.device)
    return correlate1d(correlate1d(x, w, 2, mode), w, 3, mode)


def motion_kernel(radius: float, sigma: float) -> Tensor:
    """ImageMagick MotionBlurImage taps: width 2·ceil(radius)+1, exp(−i²/2σ²) for i ≥ 0, summing
    to 1 (a one-sided Gaussian along the motion)."""
    width = 2 * math.ceil(radius) + 1
    i = torch.arange(width, dtype=torch.float64)
    k = torch.exp(-(i * i) / (2.0 * sigma * sigma))
    return k / k.sum()


def motion_offsets(width: int, angle_deg: Tensor) -> tuple[Tensor, Tensor]:
    """Integer (dx, dy) per image and tap (B, width): ceil(i·cos θ − ½), ceil(i·sin θ − ½)."""
    theta = torch.deg2rad(angle_deg.double())[:, None]
    i = torch.arange(width, dtype=torch.float64)[None, :]
    dx = torch.ceil(i * torch.cos(theta) - 0.5).long()
    dy = torch.ceil(i * torch.sin(theta) - 0.5).long()
    return dx, dy


def motion_blur(x: Tensor, radius: float, sigma: float, angle_deg: Tensor) -> Tensor:
    """Each image blurred along its own angle (degrees, (B,) CPU): out(y, x) = Σ_i k_i ·
    img(y + dy_i, x + dx_i) with edge-replicated borders, as ImageMagick's motion blur."""
    b, c, h, w = x.shape
    taps = motion_kernel(radius, sigma)
    dx, dy = motion_offsets(taps.numel(), angle_deg)
    dx, dy = dx.to(x.device), dy.to(x.device)
    rows = torch.arange(h, device=x.device)
    cols = torch.arange(w, device=x.device)
    flat = x.reshape(b, c, h * w)
    out = torch.zeros_like(flat)
    for i, k in enumerate(taps.tolist()):
        r = (rows[None, :] + dy[:, i, None]).clamp_(0, h - 1)
        q = (cols[None, :] + dx[:, i, None]).clamp_(0, w - 1)
        lin = (r[:, :, None] * w + q[:, None, :]).reshape(b, 1, h * w).expand(b, c, h * w)
        out.add_(flat.gather(2, lin), alpha=k)
    return out.view(b, c, h, w)
