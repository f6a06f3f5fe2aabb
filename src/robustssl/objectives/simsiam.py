"""SimSiam negative-cosine objective with stop-gradient (Chen & He 2021; seed 000 §2.4, Table 1)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def negative_cosine(p: Tensor, z: Tensor) -> Tensor:
    """D(p, z) = −mean cos(p, stopgrad(z))."""
    return -F.cosine_similarity(p, z.detach(), dim=1).mean()


def simsiam_loss(p1: Tensor, p2: Tensor, z1: Tensor, z2: Tensor) -> Tensor:
    """Symmetric SimSiam loss ½D(p1, z2) + ½D(p2, z1): predictions p, projections z."""
    return 0.5 * negative_cosine(p1, z2) + 0.5 * negative_cosine(p2, z1)
