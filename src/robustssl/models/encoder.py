"""Encoder = input normalisation + backbone; Classifier = encoder + head (logits for attacks)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from robustssl.models.normalize import Normalize


class Encoder(nn.Module):
    """``backbone(normalize(x))`` for x in [0,1]: the module every pretraining method trains.

    Normalisation sits inside so attacks and ε stay in pixel space (SPEC §2). ``feature_dim``
    is the backbone's.
    """

    def __init__(
        self,
        backbone: nn.Module,
        mean: Sequence[float] | torch.Tensor,
        std: Sequence[float] | torch.Tensor,
    ) -> None:
        super().__init__()
        feature_dim = getattr(backbone, "feature_dim", None)
        if not isinstance(feature_dim, int):
            raise ValueError(
                f"backbone {type(backbone).__name__} has no int attribute 'feature_dim'; "
                "use a robustssl backbone or set backbone.feature_dim to its output size"
            )
        self.normalize = Normalize(mean, std)
        in_channels = getattr(backbone, "in_channels", None)
        if isinstance(in_channels, int) and in_channels != self.normalize.num_channels:
            raise ValueError(
                f"mean/std have {self.normalize.num_channels} values but the backbone takes "
                f"{in_channels} channels; give one mean/std value per input channel"
            )
        self.backbone = backbone
        self.feature_dim: int = feature_dim

    @property
    def in_channels(self) -> int:
        """Number of input channels (from the normalisation layer)."""
        return self.normalize.num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(self.normalize(x))


class Classifier(nn.Module):
    """Logits model ``head(encoder(x))`` of shape (B, num_classes), for attacks and finetuning."""

    def __init__(self, encoder: nn.Module, head: nn.Module) -> None:
        super().__init__()
        feature_dim = getattr(encoder, "feature_dim", None)
        in_dim = getattr(head, "in_dim", None)
        if isinstance(feature_dim, int) and isinstance(in_dim, int) and feature_dim != in_dim:
            raise ValueError(
                f"head expects {in_dim}-dim inputs but the encoder gives {feature_dim}-dim "
                f"features; build the head with in_dim={feature_dim}"
            )
        self.encoder = encoder
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))
