"""A pretraining method = views + encoder/heads + objective (+ an adversary slot, filled by the
robust-pretraining issue). ARCHITECTURE.md "The one idea"."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import Tensor, nn


@dataclass
class MethodStep:
    """What one training step of a method returns.

    ``features`` are encoder features of one (augmented or clean) input with the batch's labels
    ``labels``, used by the online probe on ``features.detach()``.
    """

    loss: Tensor
    features: Tensor
    labels: Tensor
    logs: dict[str, Tensor] = field(default_factory=dict)


class PretrainMethod(nn.Module, ABC):
    """Holds the encoder and the method's heads; :meth:`step` computes the training loss."""

    needs_labels: ClassVar[bool] = False

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    @property
    def feature_dim(self) -> int:
        return int(self.encoder.feature_dim)

    @abstractmethod
    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        """Loss on a batch x ∈ [0,1] (B, C, H, W) with labels y (−1 where unknown)."""
