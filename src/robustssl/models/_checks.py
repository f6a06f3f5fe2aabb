"""Argument and input checks and weight init shared by the model modules."""

from __future__ import annotations

import torch
from torch import nn


def check_positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is an int ≥ 1, else raise a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def check_image_batch(x: torch.Tensor, in_channels: int, min_size: int = 1) -> None:
    """Raise a ValueError unless ``x`` is a (B, in_channels, H, W) batch with H, W ≥ min_size."""
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(
            f"expected an image batch of shape (B, {in_channels}, H, W), got {shape}; "
            "add a batch dimension with x.unsqueeze(0) for a single image"
        )
    if x.shape[1] != in_channels:
        raise ValueError(
            f"model expects {in_channels} input channels, got {x.shape[1]} (shape "
            f"{tuple(x.shape)}); build the model with in_channels={x.shape[1]}"
        )
    if min(x.shape[2], x.shape[3]) < min_size:
        raise ValueError(
            f"images of size {x.shape[2]}x{x.shape[3]} are too small for this model; "
            f"it needs H, W ≥ {min_size} (resize or pad the inputs)"
        )


def init_conv_bn(module: nn.Module) -> None:
    """Kaiming-normal (fan_out, ReLU) conv weights; BatchNorm weight 1 and bias 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
