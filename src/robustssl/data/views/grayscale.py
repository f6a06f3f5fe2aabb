"""Random grayscale for a batch (SimCLR pipeline, p = 0.2; seed 002 §5.2, seed 004 Stage 1)."""

from __future__ import annotations

import torch
from torch import Tensor

from robustssl.data.views._common import (
    bernoulli,
    check_images,
    check_probability,
    subset_indices,
)
from robustssl.data.views.color import rgb_to_grayscale


def apply_grayscale_(x: Tensor, mask: Tensor) -> Tensor:
    """Replace the images selected by the CPU bool ``mask`` by their luma, in place."""
    check_images(x)
    idx = subset_indices(mask, x.device)
    if idx is not None and x.shape[1] == 3:
        gray = rgb_to_grayscale(x.index_select(0, idx))
        x.index_copy_(0, idx, gray.expand(-1, 3, -1, -1).contiguous())
    return x


def random_grayscale(x: Tensor, p: float = 0.2, generator: torch.Generator | None = None) -> Tensor:
    """Replace each image by its luma (repeated over the C channels) with probability ``p``.

    ITU-R 601-2 weights (see ``color.rgb_to_grayscale``); the identity on 1-channel images.
    """
    check_images(x)
    p = check_probability(p, "p")
    return apply_grayscale_(x.clone(), bernoulli(x.shape[0], p, generator))
