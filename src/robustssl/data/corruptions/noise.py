"""Noise corruptions: Gaussian, shot (Poisson) and impulse (salt-and-pepper) noise, as in
Hendrycks & Dietterich (2019)'s ``make_cifar_c.py``; every pixel and channel gets its own draw."""

from __future__ import annotations

import torch
from torch import Tensor

from robustssl.data.corruptions import params
from robustssl.data.corruptions._common import family, normal, poisson, rand


@family
def gaussian_noise(x: Tensor, severity: int, generator: torch.Generator | None = None) -> Tensor:
    """x + N(0, σ²), σ = 0.04 … 0.10."""
    sigma = params.GAUSSIAN_NOISE[severity - 1]
    return x + normal(tuple(x.shape), 0.0, sigma, generator, x)


@family
def shot_noise(x: Tensor, severity: int, generator: torch.Generator | None = None) -> Tensor:
    """Poisson(λ·x) / λ, λ = 500 … 50."""
    lam = params.SHOT_NOISE[severity - 1]
    return poisson(x * lam, generator) / lam


@family
def impulse_noise(x: Tensor, severity: int, generator: torch.Generator | None = None) -> Tensor:
    """skimage ``random_noise(mode="s&p")``: each value becomes 1 or 0 (half each) with
    probability a = 0.01 … 0.07."""
    amount = params.IMPULSE_NOISE[severity - 1]
    flipped = rand(tuple(x.shape), generator, x) < amount
    salted = rand(tuple(x.shape), generator, x) < 0.5
    out = x.masked_fill(flipped & salted, 1.0)
    return out.masked_fill_(flipped & ~salted, 0.0)
