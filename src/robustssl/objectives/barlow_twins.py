"""Barlow Twins redundancy-reduction loss (seed 000 §2.4, eq. 12–13)."""

from __future__ import annotations

import torch
from torch import Tensor


def barlow_twins_loss(
    z1: Tensor, z2: Tensor, lambda_offdiag: float = 5e-3, eps: float = 1e-5
) -> Tensor:
    """Σ_i (1 − C_ii)² + λ Σ_{i≠j} C_ij², C the cross-correlation of standardised z1, z2 (eq. 13).

    Each dimension is standardised over the batch with the biased variance and ``eps`` as in
    BatchNorm (the reference implementations do the same).
    """
    if z1.shape != z2.shape or z1.dim() != 2:
        raise ValueError(
            f"z1, z2 must be equal (B, D) shapes, got {tuple(z1.shape)}, {tuple(z2.shape)}"
        )
    if z1.shape[0] < 2:
        raise ValueError("Barlow Twins needs a batch of at least 2 to standardise over")
    n = z1.shape[0]
    c = _standardise(z1.float(), eps).T @ _standardise(z2.float(), eps) / n
    on_diag = (torch.diagonal(c) - 1).pow(2).sum()
    off_diag = c.pow(2).sum() - torch.diagonal(c).pow(2).sum()
    return on_diag + lambda_offdiag * off_diag


def _standardise(z: Tensor, eps: float) -> Tensor:
    mean = z.mean(0, keepdim=True)
    var = z.var(0, unbiased=False, keepdim=True)
    return (z - mean) / torch.sqrt(var + eps)
