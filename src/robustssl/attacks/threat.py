"""Threat models: an Lp ball of radius ε around x, intersected with the [0,1] image box.

ε is in pixel units (ARCHITECTURE.md conventions); x is a batch (B, ...) in [0,1]. The operations
are per sample: projection, random start, per-sample norms and the steepest-ascent step (seed 000
§2.1: sign for L∞ as in FGSM/PGD, normalised gradient for L2, sparse top-k coordinates for L1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import torch
from torch import Tensor

Norm = Literal["Linf", "L2", "L1"]
NORMS: tuple[str, ...] = ("Linf", "L2", "L1")
_ALIASES: dict[str, Norm] = {
    "linf": "Linf",
    "inf": "Linf",
    "l2": "L2",
    "2": "L2",
    "l1": "L1",
    "1": "L1",
}
_TINY = 1e-12


def canonical_norm(norm: str) -> Norm:
    """'Linf'/'inf', 'L2'/'2', 'L1'/'1' (any case) → 'Linf' | 'L2' | 'L1'."""
    name = _ALIASES.get(str(norm).lower())
    if name is None:
        raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}")
    return name


def flat_norms(t: Tensor, norm: str) -> Tensor:
    """Per-sample Lp norms (B,) of a batch (B, ...)."""
    flat = t.flatten(1)
    if norm == "Linf":
        return flat.abs().amax(1)
    return flat.norm(p=2 if norm == "L2" else 1, dim=1)


def _per_sample(v: Tensor, like: Tensor) -> Tensor:
    return v.view(-1, *([1] * (like.dim() - 1)))


def project_l1_ball(delta: Tensor, radius: Tensor) -> Tensor:
    """Euclidean projection of each sample onto the L1 ball of its radius (Duchi et al. 2008)."""
    flat = delta.flatten(1)
    r = radius.to(flat.dtype).expand(len(flat))
    outside = flat.abs().sum(1) > r
    if not bool(outside.any()):
        return delta
    a = flat[outside].abs()
    mu = a.sort(dim=1, descending=True).values
    cums = mu.cumsum(1) - r[outside, None]
    ks = torch.arange(1, a.shape[1] + 1, device=a.device, dtype=a.dtype)
    rho = ((mu - cums / ks) > 0).to(a.dtype).mul(ks).argmax(1, keepdim=True)
    theta = cums.gather(1, rho) / (rho + 1).to(a.dtype)
    out = flat.clone()
    out[outside] = flat[outside].sign() * (a - theta).clamp_min(0)
    return out.view_as(delta)


@dataclass(frozen=True)
class ThreatModel:
    """The set {x' : ‖x' − x‖_p ≤ eps, x' ∈ [0,1]^d}."""

    norm: Norm
    eps: float
    l1_sparsity: float = 0.95  # L1 ascent moves the top (1 − l1_sparsity) share of coordinates

    def __post_init__(self) -> None:
        object.__setattr__(self, "norm", canonical_norm(self.norm))
        if not isinstance(self.eps, (int, float)) or not math.isfinite(self.eps) or self.eps < 0:
            raise ValueError(f"eps must be a finite number ≥ 0 (pixel units), got {self.eps!r}")
        object.__setattr__(self, "eps", float(self.eps))
        if not 0.0 <= self.l1_sparsity < 1.0:
            raise ValueError(f"l1_sparsity must be in [0, 1), got {self.l1_sparsity}")

    def with_eps(self, eps: float) -> ThreatModel:
        return replace(self, eps=eps)

    def norms(self, delta: Tensor) -> Tensor:
        return flat_norms(delta, self.norm)

    def project(self, x_adv: Tensor, x: Tensor) -> Tensor:
        """Onto the ε-ball around x, then into [0,1]. Clamping only shrinks |δ_i|, so the result
        stays in the ball and the map is idempotent."""
        delta = x_adv - x
        if self.norm == "Linf":
            delta = delta.clamp(-self.eps, self.eps)
        elif self.norm == "L2":
            n = flat_norms(delta, "L2")
            delta = delta * _per_sample((self.eps / (n + _TINY)).clamp(max=1.0), delta)
        else:
            delta = project_l1_ball(delta, torch.tensor(self.eps, device=delta.device))
        return (x + delta).clamp(0.0, 1.0)

    def random_start(self, x: Tensor, generator: torch.Generator) -> Tensor:
        """A random point of the ball ∩ box. L∞: uniform in the cube; L2 and L1: a random direction
        at radius ε·u^(1/d) (uniform in the ball). Drawn on the CPU from ``generator``."""
        shape = x.shape
        if self.norm == "Linf":
            delta = (torch.rand(shape, generator=generator) * 2 - 1) * self.eps
        else:
            d = x[0].numel()
            if self.norm == "L2":
                direction = torch.randn(shape, generator=generator)
            else:
                u = torch.rand(shape, generator=generator).clamp_min(1e-12)
                sign = torch.randint(0, 2, shape, generator=generator) * 2 - 1
                direction = -u.log() * sign  # Laplace: uniform direction on the L1 sphere
            direction = direction / _per_sample(flat_norms(direction, self.norm) + _TINY, direction)
            radius = torch.rand(shape[0], generator=generator).pow(1.0 / d) * self.eps
            delta = direction * _per_sample(radius, direction)
        return self.project(x + delta.to(device=x.device, dtype=x.dtype), x)

    def ascent(self, grad: Tensor, step_size: float | Tensor) -> Tensor:
        """The steepest-ascent step of length ``step_size`` in this norm for gradient ``grad``."""
        step = step_size if isinstance(step_size, float) else _per_sample(step_size, grad)
        if self.norm == "Linf":
            return grad.sign() * step
        if self.norm == "L2":
            return grad / _per_sample(flat_norms(grad, "L2") + _TINY, grad) * step
        flat = grad.flatten(1)
        k = max(1, round((1.0 - self.l1_sparsity) * flat.shape[1]))
        top = flat.abs().topk(k, dim=1).values[:, -1:]
        mask = (flat.abs() >= top) & (flat != 0)
        e = flat.sign() * mask
        e = e / (e.abs().sum(1, keepdim=True) + _TINY)
        return e.view_as(grad) * step
