"""The gradient-diversity term of AP-DPE (Chen et al., "Adversarial Robustness: From
Self-Supervised Pre-Training to Fine-Tuning", CVPR 2020; public code TAMU-VITA/VITA-Group
Adv-SS-Pretraining, ``pretraining/ensemble_pretrain.py`` ``calculate_log_det``).

For each sample, the T pretext tasks' input gradients gₜ = ∇ₓₜ ℓₜ are L2-normalised,
g̃ₜ = gₜ / (‖gₜ‖ + 10⁻¹⁰), stacked as the columns of G̃ (D × T), and

    d = log det(G̃ᵀ G̃ + 10⁻⁵·I),

the log-volume spanned by the normalised gradients: 0 (up to the jitter) when they are orthogonal,
→ log 10⁻⁵ per lost dimension when they align. The reference averages d over the batch. The Gram
matrix and its determinant are computed in float64 (near alignment det = (1 + 10⁻⁵)² − cos² loses
most of float32's digits); the result has the gradients' dtype.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def gradient_logdet(grads: Sequence[Tensor], jitter: float = 1e-5, eps: float = 1e-10) -> Tensor:
    """(B,) log det(G̃ᵀG̃ + jitter·I) of the per-sample normalised gradients of T ≥ 2 tasks
    (each (B, ...) with one row per sample)."""
    if len(grads) < 2:
        raise ValueError(f"gradient diversity needs at least 2 tasks' gradients, got {len(grads)}")
    flat = [g.flatten(1).double() for g in grads]
    if len({f.shape for f in flat}) != 1:
        shapes = [tuple(f.shape) for f in flat]
        raise ValueError(f"every task's gradient must have one shape, got {shapes}")
    columns = torch.stack([f / (f.norm(dim=1, keepdim=True) + eps) for f in flat], dim=2)
    gram = columns.transpose(1, 2) @ columns
    eye = torch.eye(len(grads), dtype=gram.dtype, device=gram.device)
    return torch.logdet(gram + jitter * eye).to(grads[0].dtype)
