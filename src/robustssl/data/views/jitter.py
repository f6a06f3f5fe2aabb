"""Random colour jitter for a batch: torchvision ``ColorJitter`` inside ``RandomApply(p)``.

Each selected sample gets its own brightness, contrast, saturation and hue factors and its own
random order of the four adjustments, like a per-sample torchvision pipeline (SimCLR, seed 002
§5.2; strengths 0.4/0.4/0.4/0.1 are Chen et al.'s s = 0.5 CIFAR setting). The selected samples
are gathered once; before each of the four steps they are reordered so that the samples taking
the same adjustment are contiguous, and each adjustment runs in place on its slice. So every
adjustment runs once over the selected samples, with four gathers and one scatter in all.
On 1-channel images saturation and hue are identities.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from robustssl.data.views._common import (
    bernoulli,
    check_images,
    check_probability,
    check_range,
    tracks_grad,
    uniform,
)
from robustssl.data.views.color import adjust_brightness_, adjust_contrast_, adjust_saturation_
from robustssl.data.views.hsv import adjust_hue_

Strength = float | tuple[float, float]
ADJUSTMENTS: tuple[Callable[[Tensor, Tensor], Tensor], ...] = (
    adjust_brightness_,
    adjust_contrast_,
    adjust_saturation_,
    adjust_hue_,
)
_IDENTITY = (1.0, 1.0, 1.0, 0.0)


@dataclass(frozen=True)
class JitterParams:
    """Per-sample jitter draws (CPU): who is jittered, in which order, with which factors.

    ``order[i, t]`` is the adjustment (0 brightness, 1 contrast, 2 saturation, 3 hue) applied at
    step t to sample i; ``factors[a, i]`` its factor; ``enabled[a]`` False skips adjustment a.
    """

    active: Tensor
    order: Tensor
    factors: Tensor
    enabled: tuple[bool, bool, bool, bool]


def factor_range(strength: Strength, name: str) -> tuple[float, float]:
    """torchvision's range for brightness/contrast/saturation: s ↦ [max(0, 1 − s), 1 + s]."""
    if isinstance(strength, (int, float)):
        if strength < 0:
            raise ValueError(f"{name}={strength} must be >= 0 (0 disables it)")
        return max(0.0, 1.0 - strength), 1.0 + strength
    return check_range(strength, name)


def hue_range(hue: Strength) -> tuple[float, float]:
    """torchvision's hue range: h ↦ [−h, h], with h ≤ 0.5."""
    if isinstance(hue, (int, float)):
        if not 0.0 <= hue <= 0.5:
            raise ValueError(f"hue={hue} must be in [0, 0.5]")
        return -float(hue), float(hue)
    return check_range(hue, "hue", -0.5, 0.5)


def sample_jitter_params(
    n: int,
    brightness: Strength = 0.4,
    contrast: Strength = 0.4,
    saturation: Strength = 0.4,
    hue: Strength = 0.1,
    p: float = 0.8,
    generator: torch.Generator | None = None,
) -> JitterParams:
    """Draw one set of jitter parameters per sample (a uniform random order via argsort)."""
    p = check_probability(p, "p")
    ranges = (
        factor_range(brightness, "brightness"),
        factor_range(contrast, "contrast"),
        factor_range(saturation, "saturation"),
        hue_range(hue),
    )
    active = bernoulli(n, p, generator)
    order = torch.rand(n, 4, generator=generator).argsort(dim=1)
    factors = torch.stack([uniform(n, lo, hi, generator) for lo, hi in ranges])
    enabled = tuple(rng != (ident, ident) for rng, ident in zip(ranges, _IDENTITY, strict=True))
    return JitterParams(active, order, factors, enabled)  # type: ignore[arg-type]


def apply_color_jitter_(x: Tensor, params: JitterParams) -> Tensor:
    """Apply drawn jitter parameters to ``x`` in place and return it."""
    check_images(x)
    rows = params.active.nonzero().squeeze(1)  # original batch row of each work row
    if rows.numel() == 0:
        return x
    rows = rows[params.order[rows, 0].argsort(stable=True)]  # grouped for step 0
    work = x.index_select(0, rows.to(x.device))
    spare = torch.empty_like(work)  # later regroups ping-pong between two buffers
    enabled = [on and (op < 2 or x.shape[1] == 3) for op, on in enumerate(params.enabled)]
    for step in range(4):
        ops = params.order[rows, step]
        if step > 0:
            regroup = ops.argsort(stable=True)
            rows, ops = rows[regroup], ops[regroup]
            regroup = regroup.to(x.device)
            if tracks_grad(work):
                work = work.index_select(0, regroup)
            else:
                work, spare = torch.index_select(work, 0, regroup, out=spare), work
        ends = torch.bincount(ops, minlength=4).cumsum(0).tolist()
        for op, (start, end) in enumerate(zip([0, *ends[:3]], ends, strict=True)):
            if enabled[op] and end > start:
                ADJUSTMENTS[op](work[start:end], params.factors[op, rows[start:end]])
    return x.index_copy_(0, rows.to(x.device), work)


def color_jitter(
    x: Tensor,
    brightness: Strength = 0.4,
    contrast: Strength = 0.4,
    saturation: Strength = 0.4,
    hue: Strength = 0.1,
    p: float = 0.8,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Apply ColorJitter to each sample with probability ``p``; returns a new tensor in [0, 1]."""
    check_images(x)
    params = sample_jitter_params(
        x.shape[0], brightness, contrast, saturation=saturation, hue=hue, p=p, generator=generator
    )
    return apply_color_jitter_(x.clone(), params)
