"""Random horizontal flip of a batch (SimCLR pipeline, seed 002 §5.2)."""

from __future__ import annotations

import torch
from torch import Tensor

from robustssl.data.views._common import (
    bernoulli,
    check_images,
    check_probability,
    subset_indices,
)


def horizontal_flip(x: Tensor, p: float = 0.5, generator: torch.Generator | None = None) -> Tensor:
    """Mirror each image left-right independently with probability ``p`` (returns a new tensor)."""
    check_images(x)
    p = check_probability(p, "p")
    idx = subset_indices(bernoulli(x.shape[0], p, generator), x.device)
    out = x.clone()
    if idx is not None:
        out.index_copy_(0, idx, x.index_select(0, idx).flip(-1))
    return out
