"""Contrastive objectives: NT-Xent (2-view, m-view) and supervised contrastive loss.

One function serves all three: every row of the stacked embeddings belongs to a *group*; rows of the
same group are positives of each other, every other row is a negative.

- 2-view NT-Xent: seed 001 eq. 4, seed 004 eq. 1 (groups = sample index).
- m-view NT-Xent: seed 001 eq. 5 (groups = sample index, m rows per group).
- Supervised contrastive ("supervised SimCLR", seed 000 §4.1): groups = class label.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

Reduction = Literal["mean", "none"]


def grouped_contrastive_loss(
    z: Tensor, groups: Tensor, temperature: float = 0.5, reduction: Reduction = "mean"
) -> Tensor:
    """Mean over anchors i of −(1/|P(i)|) Σ_{j∈P(i)} log softmax_{k≠i}(sim(z_i, z_k)/τ)[j].

    ``z`` is (N, D) (normalised here, so sim is the cosine), ``groups`` (N,) ints. With one positive
    per anchor this is exactly seed 001 eq. 4 averaged over the 2b anchors (lightly's NTXentLoss);
    with m views, eq. 5 with its sum over P(i) replaced by the mean (as in SupCon), so the loss
    scale does not grow with m. Anchors with no positive are left out. ``reduction="none"``
    returns the per-anchor losses (N,), NaN where an anchor has no positive.
    """
    _check_inputs(z, groups, temperature)
    z = F.normalize(z.float(), dim=1)
    logits = z @ z.T / temperature
    self_mask = torch.eye(len(z), dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    positives = (groups[:, None] == groups[None, :]) & ~self_mask
    n_pos = positives.sum(1)
    per_anchor = -log_prob.masked_fill(~positives, 0.0).sum(1) / n_pos.clamp_min(1)
    per_anchor = per_anchor.masked_fill(n_pos == 0, float("nan"))
    if reduction == "none":
        return per_anchor
    valid = n_pos > 0
    if not bool(valid.any()):
        raise ValueError("no anchor has a positive: every group has a single row")
    return per_anchor[valid].mean()


def ntxent_loss(z1: Tensor, z2: Tensor, temperature: float = 0.5) -> Tensor:
    """2-view NT-Xent (seed 001 eq. 4; seed 004 eq. 1): views of sample k are positives."""
    return multiview_ntxent_loss([z1, z2], temperature)


def multiview_ntxent_loss(views: Sequence[Tensor], temperature: float = 0.5) -> Tensor:
    """m-view NT-Xent (seed 001 eq. 5): all m views of a sample are positives of each other."""
    z, groups = _stack_views(views)
    return grouped_contrastive_loss(z, groups, temperature)


def supcon_loss(views: Sequence[Tensor], labels: Tensor, temperature: float = 0.5) -> Tensor:
    """Supervised contrastive (seed 000 §4.1 "supervised SimCLR"): same-class rows are positives."""
    z, _ = _stack_views(views)
    if labels.shape != (views[0].shape[0],):
        raise ValueError(
            f"labels must have shape ({views[0].shape[0]},), got {tuple(labels.shape)}"
        )
    return grouped_contrastive_loss(z, labels.repeat(len(views)), temperature)


def _stack_views(views: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
    if len(views) < 2:
        raise ValueError(f"need at least 2 views, got {len(views)}")
    shapes = {tuple(v.shape) for v in views}
    if len(shapes) != 1 or views[0].dim() != 2:
        raise ValueError(f"every view must be the same (B, D) shape, got {sorted(shapes)}")
    batch = views[0].shape[0]
    groups = torch.arange(batch, device=views[0].device).repeat(len(views))
    return torch.cat(list(views)), groups


def _check_inputs(z: Tensor, groups: Tensor, temperature: float) -> None:
    if z.dim() != 2:
        raise ValueError(f"z must be (N, D), got shape {tuple(z.shape)}")
    if groups.shape != (z.shape[0],):
        raise ValueError(f"groups must have shape ({z.shape[0]},), got {tuple(groups.shape)}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
