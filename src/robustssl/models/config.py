"""``ModelConfig``: the encoder's backbone by name and its keyword arguments — the one owner;
pretraining extends it (``robustssl.methods.config.PretrainModelConfig``), finetuning uses it for
a randomly initialised encoder."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from robustssl.models.registry import available_backbones
from robustssl.utils.config import StrictConfig


def known_backbone(name: str) -> str:
    """``name`` if it is a registered backbone; a ValueError listing them otherwise."""
    if name not in available_backbones():
        raise ValueError(f"unknown backbone {name!r}; known: {', '.join(available_backbones())}")
    return name


class ModelConfig(StrictConfig):
    """The encoder: ``backbone`` (``robustssl.models.available_backbones()``) built with
    ``backbone_kwargs``."""

    backbone: str = "small_cnn"
    backbone_kwargs: dict[str, Any] = Field(default_factory=dict)

    _backbone = field_validator("backbone")(known_backbone)
