"""Input checks and per-sample random draws shared by the view ops.

Random parameters are drawn on the CPU from an explicit ``torch.Generator`` (one draw per sample)
and only then moved to the data's device, so a seed gives the same views on every device.
"""

from __future__ import annotations

import torch
from torch import Tensor


def check_images(x: Tensor, name: str = "x") -> None:
    """Raise unless ``x`` is a float batch (B, C, H, W) with C in {1, 3}."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(
            f"{name} must have shape (B, C, H, W), got {tuple(x.shape)}; "
            "add a batch dimension with x.unsqueeze(0)"
        )
    if not x.is_floating_point():
        raise TypeError(
            f"{name} must be a float tensor in [0, 1], got {x.dtype}; convert with x.float() / 255"
        )
    if x.shape[1] not in (1, 3):
        raise ValueError(f"{name} must have 1 or 3 channels, got C={x.shape[1]}")


def check_probability(p: float, name: str) -> float:
    """Return ``p`` as a float, raising unless it lies in [0, 1]."""
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}={p} is not a probability; use a value in [0, 1]")
    return p


def check_range(
    bounds: tuple[float, float], name: str, low: float = 0.0, high: float = float("inf")
) -> tuple[float, float]:
    """Return ``bounds`` as floats, raising unless ``low <= lo <= hi <= high``."""
    if len(bounds) != 2:
        raise ValueError(f"{name} must be a pair (lo, hi), got {bounds!r}")
    lo, hi = float(bounds[0]), float(bounds[1])
    if not low <= lo <= hi <= high:
        raise ValueError(
            f"{name}=({lo}, {hi}) must satisfy {low} <= lo <= hi <= {high}; reorder or clip it"
        )
    return lo, hi


def uniform(
    n: int,
    lo: float,
    hi: float,
    generator: torch.Generator | None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """``n`` draws from U[lo, hi) on the CPU."""
    return lo + (hi - lo) * torch.rand(n, generator=generator, dtype=dtype)


def bernoulli(n: int, p: float, generator: torch.Generator | None) -> Tensor:
    """``n`` CPU booleans, each True with probability ``p`` (always one draw per sample)."""
    return torch.rand(n, generator=generator) < p


def per_sample(values: Tensor | float, x: Tensor) -> Tensor:
    """Per-sample scalars as a (B, 1, 1, 1) tensor on ``x``'s device and dtype."""
    t = torch.as_tensor(values, dtype=x.dtype)
    if t.ndim == 0:
        t = t.expand(x.shape[0])
    if t.shape != (x.shape[0],):
        raise ValueError(
            f"expected one value per sample ({x.shape[0]}), got shape {tuple(t.shape)}"
        )
    return t.to(x.device, non_blocking=True).view(-1, 1, 1, 1)


def tracks_grad(t: Tensor) -> bool:
    """True when autograd will record ops on ``t`` (then ``out=`` arguments must be avoided)."""
    return t.requires_grad and torch.is_grad_enabled()


def subset_indices(mask: Tensor, device: torch.device) -> Tensor | None:
    """Indices where the CPU ``mask`` is True, on ``device``; None when the mask is empty."""
    idx = mask.nonzero().squeeze(1)
    if idx.numel() == 0:
        return None
    return idx.to(device, non_blocking=True)
