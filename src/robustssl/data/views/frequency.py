"""Low/high-frequency components by FFT with a circular mask (AdvCL, seed 001 eq. 8).

With F = fftshift(fft2(x)) (DC at the centre (H//2, W//2)), the low-frequency component keeps the
coefficients at Euclidean distance ≤ r from the centre: ``low = real(ifft2(ifftshift(mask·F)))``
and ``high = x − low``, so ``low + high == x`` (up to float rounding). Seed 001 uses r = 8 on
32×32 images. The mask is point-symmetric, so ``low`` is real up to rounding.
``inclusive=False`` uses the strict d < r of AdvCL's released code (``fr_util.py``) instead of
the paper's d ≤ r; they differ only on the circle d = r (4 coefficients for r = 8).

r = 0 keeps only the DC term: ``low`` is the per-channel mean image (nothing if not inclusive).
r ≥ the half-diagonal √((H/2)² + (W/2)²) keeps everything: ``low == x`` and ``high == 0``.
Outputs are NOT clamped: ``low`` can leave [0, 1] slightly and ``high`` is roughly zero-mean in
[−1, 1]; the model sees them unclamped so that the decomposition stays exact.
"""

from __future__ import annotations

import torch
from torch import Tensor

from robustssl.data.views._common import check_images


def low_pass_mask(
    height: int,
    width: int,
    radius: float,
    device: torch.device | None = None,
    inclusive: bool = True,
) -> Tensor:
    """(H, W) bool mask in fftshift order: True within distance ``radius`` of (H//2, W//2)."""
    if radius < 0:
        raise ValueError(f"radius={radius} must be >= 0 (0 keeps only the DC term)")
    rows = torch.arange(height, device=device, dtype=torch.float64) - height // 2
    cols = torch.arange(width, device=device, dtype=torch.float64) - width // 2
    dist2 = rows[:, None] ** 2 + cols[None, :] ** 2
    r2 = float(radius) ** 2
    return dist2 <= r2 if inclusive else dist2 < r2


def frequency_split(x: Tensor, radius: float, inclusive: bool = True) -> tuple[Tensor, Tensor]:
    """``(low, high)`` frequency components of a batch; ``low + high == x``."""
    check_images(x)
    mask = low_pass_mask(x.shape[-2], x.shape[-1], radius, x.device, inclusive)
    spectrum = torch.fft.fftshift(torch.fft.fft2(x), dim=(-2, -1)) * mask
    low = torch.fft.ifft2(torch.fft.ifftshift(spectrum, dim=(-2, -1))).real.to(x.dtype)
    return low, x - low


def low_frequency(x: Tensor, radius: float, inclusive: bool = True) -> Tensor:
    """Low-frequency component (LFC) of seed 001 eq. 8."""
    return frequency_split(x, radius, inclusive)[0]


def high_frequency(x: Tensor, radius: float, inclusive: bool = True) -> Tensor:
    """High-frequency component (HFC) of seed 001 eq. 8: the AdvCL frequency view."""
    return frequency_split(x, radius, inclusive)[1]
