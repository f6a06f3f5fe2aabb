"""Supervised cross-entropy training (the supervised baseline of seeds 000 §4.1 and 004 Table 1)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from robustssl.data.views import SimCLRViews
from robustssl.methods.base import MethodStep, PretrainMethod
from robustssl.methods.config import SupervisedConfig
from robustssl.models import LinearClassifier, MLPClassifier
from robustssl.objectives import cross_entropy_loss


class Supervised(PretrainMethod):
    needs_labels = True

    def __init__(self, encoder: nn.Module, cfg: SupervisedConfig, num_classes: int) -> None:
        super().__init__(encoder)
        self.cfg = cfg
        self.views = SimCLRViews(cfg.views) if cfg.views is not None else None
        self.head = (
            LinearClassifier(self.feature_dim, num_classes)
            if cfg.head == "linear"
            else MLPClassifier(self.feature_dim, num_classes, cfg.head_hidden_dim)
        )

    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        if bool((y < 0).any()):
            raise ValueError(
                "supervised training needs labels for every sample; use a labelled split"
            )
        if self.views is not None:
            x = self.views(x, generator=generator)
        features = self.encoder(x)
        logits = self.head(features)
        loss = cross_entropy_loss(logits, y, label_smoothing=self.cfg.label_smoothing)
        acc = (logits.argmax(1) == y).float().mean()
        return MethodStep(loss, features, y, {"train_acc": acc})
