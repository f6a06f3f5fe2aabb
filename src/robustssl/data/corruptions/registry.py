"""The corruption registry and ``corrupt(x, name, severity, generator | seed)``."""

from __future__ import annotations

import torch
from torch import Tensor

from robustssl.data.corruptions import blur, digital, noise, weather
from robustssl.data.corruptions._common import Family
from robustssl.data.corruptions.params import NAMES
from robustssl.utils.seeding import make_generator

_MODULES = (noise, blur, weather, digital)
CORRUPTIONS: dict[str, Family] = {
    name: next(getattr(m, name) for m in _MODULES if hasattr(m, name)) for name in NAMES
}


def corruption_names() -> tuple[str, ...]:
    """The 15 names in the official order (noise, blur, weather, digital)."""
    return NAMES


def corrupt(
    x: Tensor,
    name: str,
    severity: int,
    generator: torch.Generator | None = None,
    seed: int | None = None,
) -> Tensor:
    """``x`` (B, C, H, W) float in [0, 1] with C ∈ {1, 3} corrupted by ``name`` at ``severity``
    (1..5), on x's device, same shape and dtype, in [0, 1]. Randomness comes from ``generator`` or
    a fresh generator seeded with ``seed`` (not both); with neither, torch's global RNG."""
    if name not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {name!r}; known corruptions: {', '.join(NAMES)}")
    if generator is not None and seed is not None:
        raise ValueError("pass either generator or seed, not both")
    if seed is not None:
        generator = make_generator(seed)
    return CORRUPTIONS[name](x, severity, generator)
