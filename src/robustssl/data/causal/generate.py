"""A small procedural stand-in for Causal3DIdent: 2-D rendered scenes with known latents.

Same latent columns as Causal3DIdent (raw latents on [−1, 1]) and the same on-disk layout, so the
loader, the spotlight task and the readouts are tested without the real data. A scene is a flat
shape (one per object class: disk, square, triangle, cross, ring, diamond, bar) on a coloured
background, rendered on tensors:

- pos_x, pos_y → centre; pos_z → size; rot_alpha → in-plane rotation; rot_beta → aspect ratio;
  rot_gamma → object brightness; hues → object / spotlight / background colours (HSV);
- spotlight_pos z → θ = (π/2)·z; the light sits at (4 sin θ, 4 cos θ) above the scene (seed 000
  eq. 27) and shades everything linearly along (sin θ, cos θ), so θ is readable from the image.

Latents are sampled independently and uniformly (the real dataset adds causal dependencies).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from robustssl.data.causal.layout import LATENT_NAMES, image_paths
from robustssl.utils import make_generator, mix_seed
from robustssl.utils.optional import require

SHAPES = ("disk", "square", "triangle", "cross", "ring", "diamond", "bar")


def hsv_to_rgb(h: Tensor, s: float, v: Tensor) -> Tensor:
    """(n,) hue in [0, 1), scalar saturation, (n,) value → (n, 3) RGB in [0, 1]."""
    k = (torch.tensor([5.0, 3.0, 1.0]) + h[:, None] * 6) % 6
    return v[:, None] - v[:, None] * s * torch.clamp(torch.minimum(k, 4 - k), 0, 1)


def _inside(shape: int, u: Tensor, v: Tensor) -> Tensor:
    """Mask of the unit-size shape ``shape`` in local coordinates (u, v)."""
    au, av = u.abs(), v.abs()
    r = torch.sqrt(u**2 + v**2)
    masks = (
        r <= 1.0,
        torch.maximum(au, av) <= 0.85,
        (v >= -0.7) & (v <= 0.9 - 1.6 * au),
        (torch.minimum(au, av) <= 0.3) & (torch.maximum(au, av) <= 1.0),
        (r <= 1.0) & (r >= 0.55),
        au + av <= 1.1,
        (au <= 1.0) & (av <= 0.35),
    )
    return masks[shape % len(masks)]


def render_scenes(latents: Tensor, classes: Tensor, size: int = 32) -> Tensor:
    """uint8 images (n, 3, size, size) of the scenes with raw ``latents`` (n, 10) on [−1, 1]."""
    z = latents.double().clamp(-1, 1)
    n = len(z)
    grid = (torch.arange(size, dtype=torch.float64) + 0.5) / size * 2 - 1
    yy, xx = torch.meshgrid(-grid, grid, indexing="ij")  # y up
    cx, cy = 0.45 * z[:, 0, None, None], 0.45 * z[:, 1, None, None]
    scale = (0.28 + 0.1 * z[:, 2])[:, None, None]
    ang = math.pi * z[:, 3, None, None]
    aspect = (1 + 0.35 * z[:, 4])[:, None, None]
    du, dv = xx - cx, yy - cy
    u = (du * torch.cos(ang) + dv * torch.sin(ang)) / (scale * aspect)
    v = (-du * torch.sin(ang) + dv * torch.cos(ang)) * aspect / scale
    mask = torch.stack([_inside(int(c), u[i], v[i]) for i, c in enumerate(classes.tolist())])
    theta = (math.pi / 2) * z[:, 6, None, None]
    light = 0.6 + 0.4 * (xx * torch.sin(theta) + yy * torch.cos(theta)) / math.sqrt(2)
    obj = hsv_to_rgb((z[:, 7] + 1) / 2 % 1, 0.8, 0.75 + 0.2 * z[:, 5])
    spot = hsv_to_rgb((z[:, 8] + 1) / 2 % 1, 0.3, torch.ones(n, dtype=torch.float64))
    bg = hsv_to_rgb((z[:, 9] + 1) / 2 % 1, 0.5, torch.full((n,), 0.45, dtype=torch.float64))
    base = torch.where(mask[:, None], obj[:, :, None, None], bg[:, :, None, None])
    img = base * light[:, None] * spot[:, :, None, None]
    return (img.clamp(0, 1) * 255).round().to(torch.uint8)


def sample_latents(n: int, seed: int) -> Tensor:
    """(n, 10) independent U[−1, 1] latents, float64."""
    gen = make_generator(seed)
    return torch.rand((n, len(LATENT_NAMES)), generator=gen, dtype=torch.float64) * 2 - 1


def render_units(latents: Tensor) -> Tensor:
    """Raw latents on [−1, 1] → render units as cl-ica's 3DIdent generator maps them: positions
    ×3, angles and hues ×π/2 (so the spotlight column is θ itself, seed 000 eq. 27)."""
    out = latents.double() * (math.pi / 2)
    out[:, :3] = latents[:, :3].double() * 3
    return out


def generate_scenes(
    n_per_class: int, num_classes: int = 3, size: int = 32, seed: int = 0
) -> tuple[Tensor, Tensor, Tensor]:
    """(uint8 images (N, 3, s, s), object classes (N,), latents (N, 10)), class-major order."""
    if n_per_class < 1 or not 1 <= num_classes <= len(SHAPES) or size < 8:
        raise ValueError(f"need n_per_class ≥ 1, 1 ≤ num_classes ≤ {len(SHAPES)}, size ≥ 8")
    latents = torch.cat(
        [sample_latents(n_per_class, mix_seed(seed, c)) for c in range(num_classes)]
    )
    classes = torch.arange(num_classes).repeat_interleave(n_per_class)
    return render_scenes(latents, classes, size), classes, latents


def write_causal3dident(
    root: str | Path,
    n_per_class: int,
    num_classes: int = 3,
    size: int = 32,
    seed: int = 0,
    splits: tuple[str, ...] = ("train", "test"),
) -> Path:
    """Write generated scenes in the published layout: root/{split}set/images_{c}/{j}.png,
    raw_latents_{c}.npy (on [−1, 1]) and latents_{c}.npy (render units). Returns ``root``."""
    root = Path(root)
    pil = require("PIL.Image", "writing Causal3DIdent images")
    for k, split in enumerate(splits):
        images, classes, latents = generate_scenes(
            n_per_class, num_classes, size, mix_seed(seed, k)
        )
        folder = root / f"{split}set"
        for c in range(num_classes):
            rows = torch.nonzero(classes == c).flatten()
            (folder / f"images_{c}").mkdir(parents=True, exist_ok=True)
            for path, i in zip(
                image_paths(folder / f"images_{c}", len(rows)), rows.tolist(), strict=True
            ):
                pil.fromarray(images[i].permute(1, 2, 0).numpy()).save(path)
            np.save(folder / f"raw_latents_{c}.npy", latents[rows].numpy())
            np.save(folder / f"latents_{c}.npy", render_units(latents[rows]).numpy())
    return root
