"""Build backbones and encoders by name (used by configs and the CLI)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from robustssl.models.encoder import Encoder
from robustssl.models.resnet import resnet18, resnet34, resnet50
from robustssl.models.small_cnn import SmallCNN

BACKBONES: dict[str, Callable[..., nn.Module]] = {
    "resnet18": resnet18,
    "resnet34": resnet34,
    "resnet50": resnet50,
    "small_cnn": SmallCNN,
}


def available_backbones() -> list[str]:
    """Names accepted by :func:`build_backbone`."""
    return sorted(BACKBONES)


def build_backbone(name: str, in_channels: int = 3, **kwargs: Any) -> nn.Module:
    """Backbone ``name`` (see :func:`available_backbones`); extra kwargs go to its constructor.

    The result maps (B, in_channels, H, W) to (B, feature_dim) and exposes ``feature_dim``.
    """
    factory = BACKBONES.get(name)
    if factory is None:
        raise ValueError(
            f"unknown backbone {name!r}; known backbones: {', '.join(available_backbones())}"
        )
    try:
        return factory(in_channels=in_channels, **kwargs)
    except TypeError as err:
        raise ValueError(f"bad options for backbone {name!r}: {err}") from err


def build_encoder(
    name: str,
    in_channels: int,
    mean: Sequence[float] | torch.Tensor,
    std: Sequence[float] | torch.Tensor,
    **kwargs: Any,
) -> Encoder:
    """:class:`Encoder` = Normalize(mean, std) + ``build_backbone(name, in_channels, **kwargs)``."""
    return Encoder(build_backbone(name, in_channels, **kwargs), mean, std)
