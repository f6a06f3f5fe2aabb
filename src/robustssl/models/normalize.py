"""Per-channel input normalisation as a model layer (inputs and ε live in [0,1] pixel space)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


class Normalize(nn.Module):
    """``(x - mean) / std`` per channel, with ``mean``/``std`` stored as buffers.

    Keeping normalisation inside the model lets every attack work on [0,1] images with ε in
    pixel units (SPEC §2; ACL/AdvCL do the same, REFERENCE_FACTS "Adversarial contrastive").
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: Sequence[float] | torch.Tensor, std: Sequence[float] | torch.Tensor):
        super().__init__()
        mean_t = torch.as_tensor(mean, dtype=torch.float32).detach().clone().cpu()
        std_t = torch.as_tensor(std, dtype=torch.float32).detach().clone().cpu()
        if mean_t.dim() != 1 or std_t.dim() != 1 or len(mean_t) == 0:
            raise ValueError(
                f"mean and std must be non-empty 1-D sequences (one value per channel), got "
                f"shapes {tuple(mean_t.shape)} and {tuple(std_t.shape)}"
            )
        if len(mean_t) != len(std_t):
            raise ValueError(
                f"mean has {len(mean_t)} values but std has {len(std_t)}; give one value per "
                "channel for both"
            )
        if not all(math.isfinite(v) for v in [*mean_t.tolist(), *std_t.tolist()]):
            raise ValueError(f"mean/std must be finite, got {mean_t.tolist()}, {std_t.tolist()}")
        if bool((std_t <= 0).any()):
            raise ValueError(f"std must be > 0 for every channel, got {std_t.tolist()}")
        self.register_buffer("mean", mean_t)
        self.register_buffer("std", std_t)

    @property
    def num_channels(self) -> int:
        """Number of channels this layer normalises."""
        return int(self.mean.numel())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.num_channels:
            raise ValueError(
                f"Normalize expects (B, {self.num_channels}, H, W) inputs, got "
                f"{tuple(x.shape)}; give mean/std with one value per input channel"
            )
        return (x - self.mean.view(1, -1, 1, 1)) / self.std.view(1, -1, 1, 1)

    def extra_repr(self) -> str:
        mean = ", ".join(f"{v:.4g}" for v in self.mean.tolist())
        std = ", ".join(f"{v:.4g}" for v in self.std.tolist())
        return f"mean=({mean}), std=({std})"
