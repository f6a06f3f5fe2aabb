"""Digital corruptions: brightness, contrast, elastic transform, pixelate and JPEG compression
(Hendrycks & Dietterich 2019, ``make_cifar_c.py``), batched on the images' device."""

from __future__ import annotations

import torch
from torch import Tensor

from robustssl.data.corruptions import params
from robustssl.data.corruptions._common import family, uniform
from robustssl.data.corruptions._filters import gaussian_filter
from robustssl.data.corruptions._jpeg import jpeg_roundtrip
from robustssl.data.corruptions._sampling import bilinear_sample, box_resize_matrix


@family
def brightness(x: Tensor, severity: int, generator: torch.Generator | None = None) -> Tensor:
    """HSV value + c, clipped (skimage rgb2hsv/hsv2rgb). With hue and saturation fixed, RGB is
    proportional to V, so RGB·V'/V (black pixels become grey V') is the same round trip."""
    c = params.BRIGHTNESS[severity - 1]
    value = x.amax(dim=1, keepdim=True)
    new_value = (value + c).clamp_(0, 1)
    scaled = x * (new_value / value.clamp_min(torch.finfo(x.dtype).tiny))
    return torch.where(value > 0, scaled, new_value.expand_as(x))


@family
def contrast(x: Tensor, severity: int, generator: torch.Generator | None = None) -> Tensor:
    """(x − m)·c + m with m each channel's spatial mean, c = 0.75 … 0.15."""
    c = params.CONTRAST[severity - 1]
    mean = x.mean(dim=(2, 3), keepdim=True)
    return (x - mean) * c + mean


def _affine_sources(
    h: int, w: int, jitter: float, generator: torch.Generator | None, like: Tensor
) -> tuple[Tensor, Tensor]:
    """Source (rows, cols) (B, H, W) of cv2.warpAffine with the official random affine: three
    points around the centre (±side//3) each moved by U(−jitter, jitter)."""
    b = like.shape[0]
    cx, cy, sq = float(w // 2), float(h // 2), float(min(h, w) // 3)
    src = torch.tensor([[cx + sq, cy + sq], [cx + sq, cy - sq], [cx - sq, cy - sq]])
    src = src.double().expand(b, 3, 2)
    dst = src + uniform((b, 3, 2), -jitter, jitter, generator, src)
    ones = torch.ones(b, 3, 1, dtype=torch.float64)
    m = torch.linalg.solve(torch.cat((src, ones), dim=2), dst).transpose(1, 2)  # (B, 2, 3)
    inv = torch.linalg.inv(m[:, :, :2])
    ys, xs = torch.meshgrid(torch.arange(h).double(), torch.arange(w).double(), indexing="ij")
    pts = torch.stack((xs, ys), dim=-1).view(1, h * w, 2) - m[:, None, :, 2]
    src_xy = (pts @ inv.transpose(1, 2)).view(b, h, w, 2).to(like.device)
    return src_xy[..., 1], src_xy[..., 0]


@family
def elastic_transform(x: Tensor, severity: int, generator: torch.Generator | None = None) -> Tensor:
    """Random affine warp (bilinear, reflect-101 borders) then a smooth random displacement field:
    dx, dy = α·gaussian(U(−1, 1), σ, truncate 3), sampled bilinearly with symmetric borders. α, σ
    and the affine jitter are the official fractions of the image side (32·0.08 …)."""
    b, _, h, w = x.shape
    side = min(h, w)
    alpha, sigma, jitter = (side * v for v in params.ELASTIC[severity - 1])
    rows, cols = _affine_sources(h, w, jitter, generator, x)
    x = bilinear_sample(x, rows.to(x.dtype), cols.to(x.dtype), "reflect101")
    if alpha == 0:
        return x
    field = uniform((2 * b, 1, h, w), -1.0, 1.0, generator, x)
    shift = gaussian_filter(field, sigma, "symmetric", truncate=3.0).mul_(alpha)
    dx, dy = shift[:b, 0], shift[b:, 0]
    grid_r = torch.arange(h, device=x.device, dtype=x.dtype)[None, :, None]
    grid_c = torch.arange(w, device=x.device, dtype=x.dtype)[None, None, :]
    return bilinear_sample(x, grid_r + dy, grid_c + dx, "symmetric")


@family
def pixelate(x: Tensor, severity: int, generator: torch.Generator | None = None) -> Tensor:
    """PIL BOX resize to int(side·c) and back (c = 0.95 … 0.65), as two matrices per axis."""
    c = params.PIXELATE[severity - 1]
    h, w = x.shape[2:]
    small_h, small_w = max(1, int(h * c)), max(1, int(w * c))
    rows = box_resize_matrix(small_h, h) @ box_resize_matrix(h, small_h)
    cols = box_resize_matrix(small_w, w) @ box_resize_matrix(w, small_w)
    rows, cols = rows.to(x.device, x.dtype), cols.to(x.device, x.dtype)
    return torch.matmul(torch.matmul(rows, x), cols.T)


@family
def jpeg_compression(x: Tensor, severity: int, generator: torch.Generator | None = None) -> Tensor:
    """JPEG encode + decode at quality 80 … 40, simulated on tensors (``_jpeg``)."""
    return jpeg_roundtrip(x, params.JPEG_QUALITY[severity - 1])
