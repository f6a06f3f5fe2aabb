"""Random Gaussian blur for a batch, with a per-sample σ (SimCLR, seed 002 §5.2).

Kernel side ≈ 10 % of the image side, made odd (at least 3), as in seed 002 §5.2 / Chen et al.;
σ ~ U(sigma_range) per sample; separable convolution with reflect padding, like torchvision's
``gaussian_blur``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from robustssl.data.views._common import (
    bernoulli,
    check_images,
    check_probability,
    check_range,
    subset_indices,
    uniform,
)


def default_kernel_size(height: int, width: int) -> int:
    """Odd kernel side ≈ 10 % of the shorter image side, at least 3."""
    k = int(0.1 * min(height, width))
    return max(3, k if k % 2 == 1 else k + 1)


def gaussian_kernels(sigma: Tensor, kernel_size: int) -> Tensor:
    """Normalised 1-D Gaussian kernels (B, kernel_size) for per-sample ``sigma`` (B,)."""
    half = (kernel_size - 1) / 2
    pos = torch.linspace(-half, half, kernel_size, dtype=sigma.dtype, device=sigma.device)
    weights = torch.exp(-0.5 * (pos[None, :] / sigma[:, None]) ** 2)
    return weights / weights.sum(dim=1, keepdim=True)


def blur_with_sigma(x: Tensor, sigma: Tensor, kernel_size: int) -> Tensor:
    """Blur each image with its own σ (separable, grouped conv, reflect padding)."""
    check_images(x)
    b, c, h, w = x.shape
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size={kernel_size} must be a positive odd int")
    if kernel_size // 2 >= min(h, w):
        raise ValueError(
            f"kernel_size={kernel_size} is too large for {h}x{w} images; "
            f"use at most {2 * min(h, w) - 1}"
        )
    kern = gaussian_kernels(sigma.to(x.device, x.dtype), kernel_size).repeat_interleave(c, dim=0)
    pad = kernel_size // 2
    flat = x.reshape(1, b * c, h, w)
    flat = F.pad(flat, (pad, pad, pad, pad), mode="reflect")
    flat = F.conv2d(flat, kern.view(b * c, 1, 1, kernel_size), groups=b * c)
    flat = F.conv2d(flat, kern.view(b * c, 1, kernel_size, 1), groups=b * c)
    return flat.view(b, c, h, w)


def gaussian_blur(
    x: Tensor,
    sigma_range: tuple[float, float] = (0.1, 2.0),
    p: float = 0.5,
    generator: torch.Generator | None = None,
    kernel_size: int | None = None,
) -> Tensor:
    """Blur each image with probability ``p`` and σ ~ U(sigma_range); returns a new tensor."""
    check_images(x)
    p = check_probability(p, "p")
    lo, hi = check_range(sigma_range, "sigma_range", 1e-6)
    n = x.shape[0]
    apply = bernoulli(n, p, generator)
    sigma = uniform(n, lo, hi, generator)
    size = default_kernel_size(*x.shape[2:]) if kernel_size is None else kernel_size
    idx = subset_indices(apply, x.device)
    out = x.clone()
    if idx is not None:
        out.index_copy_(0, idx, blur_with_sigma(x.index_select(0, idx), sigma[apply], size))
    return out
