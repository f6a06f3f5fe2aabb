"""Exhaustive search over the corners of the L∞ box (seed 000 §6.2.1, assumptions 1–2).

The seed's extended dataset rests on Assumption 1: if some x' in the box fools the conv + max-pool
model, some corner (every pixel moved by ±ε) does too. This module enumerates all 2^d corners
(feasible for small images, d ≤ 24) and returns the worst corner margin, computed in float64 from
the model's exact affine pieces. Any corner with margin ≥ 0 is a counter-example, so a certified
sample never has one; the converse is Assumption 1, which an LP maximiser strictly inside the box
can break (see docs/toy.md).
"""

from __future__ import annotations

import torch
from torch import Tensor

from robustssl.models.toy import PatternMatcher, linear_pieces

MAX_CORNER_PIXELS = 24


def margins_of(a: Tensor, b: Tensor, x_flat: Tensor, y: int) -> Tensor:
    """max_{c≠y} logit_c − logit_y for each row of ``x_flat`` (n, d), from the affine pieces."""
    logits = (torch.einsum("cqd,nd->ncq", a, x_flat) + b[None, :, None]).amax(2)
    others = torch.cat([logits[:, :y], logits[:, y + 1 :]], dim=1)
    return others.amax(1) - logits[:, y]


def corner_margins(
    model: PatternMatcher,
    x: Tensor,
    y: Tensor,
    eps: float,
    *,
    clip: bool = True,
    chunk: int = 1 << 16,
) -> tuple[Tensor, Tensor]:
    """(worst corner margin (n,) float64, the worst corner (n, C, H, W)) of each sample's box."""
    d = x[0].numel()
    if d > MAX_CORNER_PIXELS:
        raise ValueError(
            f"{d} pixels means 2^{d} corners; exhaustive corner search is limited to "
            f"{MAX_CORNER_PIXELS} pixels (use robustssl.evaluation.certify.certify instead)"
        )
    a, b = linear_pieces(model, tuple(x.shape[1:]))  # type: ignore[arg-type]
    bits = 2 ** torch.arange(d - 1, -1, -1)
    worst, argworst = [], []
    for xi, t in zip(x.detach().double().cpu(), y.tolist(), strict=True):
        flat = xi.reshape(-1)
        lo, hi = flat - eps, flat + eps
        if clip:
            lo, hi = lo.clamp(0, 1), hi.clamp(0, 1)
        best, best_x = -torch.inf, flat
        for start in range(0, 2**d, chunk):
            codes = torch.arange(start, min(start + chunk, 2**d))
            up = ((codes[:, None] // bits) % 2).double()
            corners = lo + (hi - lo) * up
            m = margins_of(a, b, corners, t)
            k = int(m.argmax())
            if float(m[k]) > best:
                best, best_x = float(m[k]), corners[k]
        worst.append(best)
        argworst.append(best_x.view(xi.shape))
    return torch.tensor(worst, dtype=torch.float64), torch.stack(argworst).to(x.dtype)
