"""Weather corruptions: snow, frost and fog (Hendrycks & Dietterich 2019, ``make_cifar_c.py``).

Snow uses our ImageMagick-style motion blur in place of Wand's; frost blends a procedural frost
texture instead of the six photographs the official script crops (docs/corruptions.md).
"""

from __future__ import annotations

import torch
from torch import Tensor

from robustssl.data.corruptions import params
from robustssl.data.corruptions._common import angles, family, grayscale, normal, rand
from robustssl.data.corruptions._filters import motion_blur
from robustssl.data.corruptions._plasma import plasma_fractal, plasma_size
from robustssl.data.corruptions._sampling import clipped_zoom

FROST_TINT = (0.88, 0.94, 1.0)  # RGB gain of the frost texture: a bluish white
FROST_SEED_DENSITY = 0.04  # fraction of pixels that start an ice needle
FROST_DIRECTIONS = 3  # needle directions per image


def snow_layer(
    n: int, h: int, w: int, severity: int, generator: torch.Generator | None, like: Tensor
) -> Tensor:
    """(n, 1, H, W) snow flakes: N(μ, σ²) noise, zoomed, thresholded, 8-bit, motion-blurred along
    an angle ~ U(−135°, −45°)."""
    mean, std, zoom, threshold, radius, sigma, _ = params.SNOW[severity - 1]
    layer = clipped_zoom(normal((n, 1, h, w), mean, std, generator, like), zoom)
    layer = layer.masked_fill_(layer < threshold, 0.0).clamp_(0, 1).mul_(255).floor_().div_(255)
    return motion_blur(layer, radius, sigma, angles(n, -135.0, -45.0, generator))


@family
def snow(x: Tensor, severity: int, generator: torch.Generator | None = None) -> Tensor:
    """Whitened image (blend with max(x, 1.5·gray + 0.5)) plus the snow layer and its 180° turn."""
    blend = params.SNOW[severity - 1][6]
    b, _, h, w = x.shape
    layer = snow_layer(b, h, w, severity, generator, x)
    whitened = torch.maximum(x, grayscale(x) * 1.5 + 0.5)
    out = x * blend + whitened * (1 - blend)
    return out + layer + torch.flip(layer, dims=(2, 3))


def frost_texture(
    n: int, channels: int, h: int, w: int, generator: torch.Generator | None, like: Tensor
) -> Tensor:
    """(n, C, H, W) procedural frost in [0, 1]: a rough plasma haze plus bright ice needles
    (sparse seeds drawn out along ``FROST_DIRECTIONS`` random directions), tinted bluish."""
    size = plasma_size(h, w)
    haze = plasma_fractal(n, size, 1.6, generator, like)[:, None, :h, :w]
    seeds = (rand((n, 1, h, w), generator, like) < FROST_SEED_DENSITY).to(like.dtype)
    length = max(2.0, min(h, w) / 8)
    needles = torch.zeros_like(seeds)
    for _ in range(FROST_DIRECTIONS):
        needles += motion_blur(seeds, length, length / 2, angles(n, 0.0, 360.0, generator))
    needles /= needles.amax(dim=(2, 3), keepdim=True).clamp_min(1e-12)
    texture = (0.1 + 0.5 * haze + 0.6 * needles.sqrt()).clamp_(0, 1)
    if channels == 1:
        return texture
    tint = torch.tensor(FROST_TINT, dtype=like.dtype, device=like.device).view(1, 3, 1, 1)
    return texture * tint


@family
def frost(x: Tensor, severity: int, generator: torch.Generator | None = None) -> Tensor:
    """a·x + b·frost, (a, b) = (1, 0.2) … (0.75, 0.45)."""
    a, b = params.FROST[severity - 1]
    n, c, h, w = x.shape
    return x * a + frost_texture(n, c, h, w, generator, x) * b


@family
def fog(x: Tensor, severity: int, generator: torch.Generator | None = None) -> Tensor:
    """(x + s·plasma) · max(x) / (max(x) + s), one plasma fractal (decay d) per image."""
    strength, decay = params.FOG[severity - 1]
    n, _, h, w = x.shape
    haze = plasma_fractal(n, plasma_size(h, w), decay, generator, x)[:, None, :h, :w]
    peak = x.amax(dim=(1, 2, 3), keepdim=True)
    return (x + strength * haze) * (peak / (peak + strength))
