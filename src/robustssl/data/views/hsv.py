"""Batched RGB ↔ HSV (hexcone model, as PIL/torchvision) and a hue shift without the round trip.

All channels in [0, 1]; hue is a fraction of a full turn in [0, 1). Grey pixels get hue 0 and
saturation 0. ``adjust_hue`` rotates the hue by a per-sample shift and is the identity on
1-channel images (as in torchvision/PIL).
"""

from __future__ import annotations

import torch
from torch import Tensor

from robustssl.data.views._common import check_images, per_sample, tracks_grad

# Channel c of hsv→rgb is v − chroma·ramp_c(6h), with ramp_c = clamp(2 − circular distance of
# 6h from _RAMP_CENTRES[c] on a circle of length 6, 0, 1) (the hexcone's piecewise-linear ramps).
_RAMP_CENTRES = (3.0, 5.0, 1.0)
_TINY = 1e-12


def rgb_to_hsv(x: Tensor) -> Tensor:
    """(B, 3, H, W) RGB → (B, 3, H, W) HSV."""
    _check_rgb(x)
    hue6, chroma, value = _hue6_chroma_value(x)
    hue = _wrap6(hue6).div_(6.0)
    hue.masked_fill_(hue >= 1.0, 0.0)
    sat = chroma / value.clamp(min=_TINY)
    return torch.stack((hue, sat, value), dim=1)


def hsv_to_rgb(hsv: Tensor) -> Tensor:
    """(B, 3, H, W) HSV → (B, 3, H, W) RGB."""
    _check_rgb(hsv, "hsv")
    hue, sat, value = hsv.unbind(1)
    hue6 = _wrap6(hue * 6.0)
    return _from_hue6(hue6.unsqueeze(1), (sat * value).unsqueeze(1), value.unsqueeze(1))


def adjust_hue_(x: Tensor, shift: Tensor | float) -> Tensor:
    """In place: shift the hue by ``shift`` turns (per sample, in [−0.5, 0.5]); clamped to [0, 1].

    Equals ``hsv_to_rgb`` of the shifted ``rgb_to_hsv`` (torchvision ``adjust_hue``) but never
    builds the HSV tensor: value and chroma are kept, only the hue changes. Identity on 1 channel.
    """
    if x.shape[1] == 1:
        return x
    grad = tracks_grad(x)  # autograd: read from a copy, as x is overwritten below
    hue6, chroma, value = _hue6_chroma_value(x.clone() if grad else x)
    hue6 = _wrap6(hue6.add_(per_sample(shift, x).view(-1, 1, 1) * 6.0))
    out = None if grad else x
    rgb = _from_hue6(hue6.unsqueeze(1), chroma.unsqueeze(1), value.unsqueeze(1), out=out)
    return x.copy_(rgb.clamp_(0.0, 1.0)) if grad else x.clamp_(0.0, 1.0)


def adjust_hue(x: Tensor, shift: Tensor | float) -> Tensor:
    """Hue shift (see ``adjust_hue_``) as a new tensor."""
    check_images(x)
    return adjust_hue_(x.clone(), shift)


def _hue6_chroma_value(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Hue × 6 (in [−1, 5], not yet wrapped), chroma = max − min and value = max; each (B, H, W).

    With n_c = (max − c) / chroma, hue × 6 is n_b − n_g, 2 + n_r − n_b or 4 + n_g − n_r when the
    max is r, g or b. The max channel is picked arithmetically (floor(1 − n_c) = 1 iff n_c = 0)
    because ``torch.where`` and comparisons are several times slower on CPU; near ties the
    formulas agree, so the choice does not matter there.
    """
    r, g, b = x.unbind(1)
    value = torch.maximum(torch.maximum(r, g), b)
    chroma = value - torch.minimum(torch.minimum(r, g), b)
    inv = chroma.clamp(min=_TINY).reciprocal_()
    n_r, n_g, n_b = (value.unsqueeze(1) - x).mul_(inv.unsqueeze(1)).unbind(1)
    is_r = (1.0 - n_r).floor_().clamp_(min=0.0)  # the min channel's n may round to 1 + ε
    is_g = (1.0 - n_g).floor_().clamp_(min=0.0).mul_(1.0 - is_r)
    is_b = (1.0 - is_r).sub_(is_g)
    hue6 = (n_b - n_g).mul_(is_r)
    hue6.addcmul_(is_g, (n_r - n_b).add_(2.0))
    hue6.addcmul_(is_b, (n_g - n_r).add_(4.0))
    return hue6, chroma, value


def _wrap6(h: Tensor) -> Tensor:
    """``h mod 6`` in place (result in [0, 6])."""
    return h.sub_(torch.floor(h / 6.0).mul_(6.0))


def _from_hue6(hue6: Tensor, chroma: Tensor, value: Tensor, out: Tensor | None = None) -> Tensor:
    """RGB from hue × 6 in [0, 6], chroma and value, each (B, 1, H, W)."""
    centres = torch.tensor(_RAMP_CENTRES, dtype=hue6.dtype, device=hue6.device).view(1, 3, 1, 1)
    # circular distance cd = 3 − ||h − c| − 3|, so 2 − cd = ||h − c| − 3| − 1
    ramp = (hue6 - centres).abs_().sub_(3.0).abs_().sub_(1.0).clamp_(0.0, 1.0)
    return torch.addcmul(value, chroma, ramp, value=-1.0, out=out)


def _check_rgb(x: Tensor, name: str = "x") -> None:
    check_images(x, name)
    if x.shape[1] != 3:
        raise ValueError(f"{name} must have 3 channels for HSV, got C={x.shape[1]}")
