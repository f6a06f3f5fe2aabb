"""Input checks, the family decorator and random draws shared by the corruption families.

Random numbers are drawn on the generator's device (the CPU for ``make_generator(seed)``) and
then moved to the images' device, so a seed gives the same corruption on every device.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable

import torch
from torch import Tensor

from robustssl.data.corruptions.params import SEVERITIES

Family = Callable[[Tensor, int, "torch.Generator | None"], Tensor]
MIN_SIDE = 4
_LUMA = (0.299, 0.587, 0.114)  # ITU-R 601-2, as cv2.COLOR_RGB2GRAY


def check_severity(severity: int) -> int:
    """``severity`` as an int in 1..5, else a ValueError listing the allowed values."""
    ok = isinstance(severity, numbers.Integral) and not isinstance(severity, bool)
    if not ok or int(severity) not in SEVERITIES:
        allowed = ", ".join(map(str, SEVERITIES))
        raise ValueError(f"severity must be one of {allowed}; got {severity!r}")
    return int(severity)


def check_images(x: Tensor) -> None:
    """Raise unless ``x`` is a float (B, C, H, W) batch in [0, 1] with C in {1, 3}, H, W ≥ 4."""
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(
            f"x must have shape (B, C, H, W) with C = 1 or 3, got {tuple(x.shape)}; "
            "add a batch dimension with x.unsqueeze(0)"
        )
    if not x.is_floating_point():
        raise TypeError(f"x must be a float tensor in [0, 1], got {x.dtype}; use x.float() / 255")
    if min(x.shape[2:]) < MIN_SIDE:
        raise ValueError(f"images must be at least {MIN_SIDE}x{MIN_SIDE}, got {tuple(x.shape[2:])}")
    if x.numel() and not bool(((x >= 0) & (x <= 1)).all()):
        raise ValueError(
            "x must hold values in [0, 1] (no NaN); divide uint8 images by 255 and undo any "
            "normalisation before corrupting"
        )


def family(fn: Family) -> Family:
    """Wrap a family ``fn(x, severity, generator)``: checks, float16 → float32, clamp to [0, 1]."""

    @functools.wraps(fn)
    def wrapper(x: Tensor, severity: int, generator: torch.Generator | None = None) -> Tensor:
        check_images(x)
        severity = check_severity(severity)
        if x.shape[0] == 0:
            return x.clone()
        work = x if x.dtype in (torch.float32, torch.float64) else x.float()
        return fn(work.detach(), severity, generator).clamp_(0.0, 1.0).to(x.dtype)

    return wrapper


def _draw_device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


def rand(shape: tuple[int, ...], generator: torch.Generator | None, like: Tensor) -> Tensor:
    """U[0, 1) of ``shape`` on ``like``'s device and dtype."""
    u = torch.rand(shape, generator=generator, device=_draw_device(generator))
    return u.to(like.device, like.dtype)


def uniform(
    shape: tuple[int, ...], lo: float, hi: float, generator: torch.Generator | None, like: Tensor
) -> Tensor:
    """U[lo, hi) of ``shape`` on ``like``'s device and dtype."""
    return rand(shape, generator, like).mul_(hi - lo).add_(lo)


def normal(
    shape: tuple[int, ...], mean: float, std: float, generator: torch.Generator | None, like: Tensor
) -> Tensor:
    """N(mean, std²) of ``shape`` on ``like``'s device and dtype."""
    z = torch.randn(shape, generator=generator, device=_draw_device(generator))
    return z.to(like.device, like.dtype).mul_(std).add_(mean)


def poisson(rates: Tensor, generator: torch.Generator | None) -> Tensor:
    """Poisson draws of ``rates`` (made on the generator's device in float32), like ``rates``."""
    r = rates.to(_draw_device(generator), torch.float32)
    return torch.poisson(r, generator=generator).to(rates.device, rates.dtype)


def angles(n: int, lo: float, hi: float, generator: torch.Generator | None) -> Tensor:
    """``n`` float64 CPU angles in degrees from U[lo, hi) (one per image)."""
    u = torch.rand(n, generator=generator, device=_draw_device(generator), dtype=torch.float64)
    return u.cpu().mul_(hi - lo).add_(lo)


def grayscale(x: Tensor) -> Tensor:
    """(B, 1, H, W) luma of RGB (0.299, 0.587, 0.114), or ``x`` itself when it has 1 channel."""
    if x.shape[1] == 1:
        return x
    w = torch.tensor(_LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)
