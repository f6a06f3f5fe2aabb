"""Cross-entropy for supervised labels and for pretext labels (rotation: 4 classes, jigsaw: J
permutations; seed 003 §3.1 trains both as multi-class cross-entropy)."""

from __future__ import annotations

from typing import Literal

import torch.nn.functional as F
from torch import Tensor

from robustssl.data.labels import labels_outside


def cross_entropy_loss(
    logits: Tensor,
    labels: Tensor,
    label_smoothing: float = 0.0,
    reduction: Literal["mean", "none"] = "mean",
) -> Tensor:
    """Mean (or per-sample, ``reduction="none"``) cross-entropy of (B, K) logits vs (B,) labels.

    Per-sample losses are what attacks maximise (loss closures), so both reductions are offered.
    """
    if logits.dim() != 2 or labels.shape != (logits.shape[0],):
        raise ValueError(
            f"logits must be (B, K) and labels (B,), got {tuple(logits.shape)} and "
            f"{tuple(labels.shape)}"
        )
    outside = labels_outside(labels, logits.shape[1])
    if outside is not None:
        raise ValueError(
            f"labels must lie in [0, {logits.shape[1] - 1}] for {logits.shape[1]} classes, got "
            f"[{outside[0]}, {outside[1]}]; unlabelled samples (−1) need a "
            "self-supervised method"
        )
    return F.cross_entropy(logits, labels, label_smoothing=label_smoothing, reduction=reduction)
