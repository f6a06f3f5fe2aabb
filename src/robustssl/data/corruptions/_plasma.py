"""Batched diamond-square plasma fractal (the heightmap of the official fog corruption).

Same algorithm and noise law as the official ``plasma_fractal``: a toroidal S×S map (S a power of
two), each midpoint = mean of its 4 neighbours + w·U(−w, w), w starting at 100 and divided by
``decay`` per level; the map is then scaled to [0, 1]. Here all B maps are built at once.
"""

from __future__ import annotations

import torch
from torch import Tensor

from robustssl.data.corruptions._common import uniform


def plasma_size(h: int, w: int) -> int:
    """The smallest power of two ≥ max(h, w) (32 for CIFAR, as the official mapsize)."""
    return 1 << max(1, (max(h, w) - 1).bit_length())


def _wibbled(total: Tensor, wibble: float, generator: torch.Generator | None) -> Tensor:
    return total / 4 + wibble * uniform(tuple(total.shape), -wibble, wibble, generator, total)


def plasma_fractal(
    n: int, size: int, decay: float, generator: torch.Generator | None, like: Tensor
) -> Tensor:
    """``n`` maps (n, size, size) in [0, 1] on ``like``'s device and dtype."""
    m = torch.zeros(n, size, size, device=like.device, dtype=like.dtype)
    step, wibble = size, 100.0
    while step >= 2:
        half = step // 2
        corners = m[:, 0::step, 0::step]
        acc = corners + torch.roll(corners, -1, dims=1)
        acc = acc + torch.roll(acc, -1, dims=2)
        m[:, half::step, half::step] = _wibbled(acc, wibble, generator)
        centres = m[:, half::step, half::step]
        corners = m[:, 0::step, 0::step]
        left = centres + torch.roll(centres, 1, dims=1) + corners + torch.roll(corners, -1, dims=2)
        m[:, 0::step, half::step] = _wibbled(left, wibble, generator)
        top = centres + torch.roll(centres, 1, dims=2) + corners + torch.roll(corners, -1, dims=1)
        m[:, half::step, 0::step] = _wibbled(top, wibble, generator)
        step, wibble = half, wibble / decay
    flat = m.reshape(n, -1)
    flat = flat - flat.min(dim=1, keepdim=True).values
    flat = flat / flat.max(dim=1, keepdim=True).values.clamp_min(torch.finfo(m.dtype).tiny)
    return flat.view(n, size, size)
