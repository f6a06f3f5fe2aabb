"""Supervised cross-entropy training (the supervised baseline of seeds 000 §4.1 and 004 Table 1),
optionally adversarial (PGD adversarial training, Madry et al.; seed 003 eq. 4–6) and/or
Tikhonov-regularised (λ/2·‖∇ₓL‖², seed 004 eq. 2)."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import Tensor, nn

from robustssl.attacks.adversary import PretrainAdversaryConfig
from robustssl.data.views import ViewConfig, build_views
from robustssl.methods.adversary import perturb
from robustssl.methods.base import ClassifierMethod, MethodStep
from robustssl.methods.common import MethodConfigBase, supervised_views
from robustssl.objectives import cross_entropy_loss
from robustssl.objectives.tikhonov import supervised_tikhonov


class SupervisedConfig(MethodConfigBase):
    """Cross-entropy on labels (seeds 000 §4.1, 004 Table 1 with label fractions); with
    ``adversary`` PGD adversarial training (Madry; seed 003 eq. 4–6), with ``tikhonov`` = λ the
    input-gradient penalty λ/2·‖∇ₓL‖² (seed 004 eq. 2)."""

    name: Literal["supervised"] = "supervised"
    head: Literal["linear", "mlp"] = "linear"
    head_hidden_dim: int = Field(512, gt=0)
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    views: ViewConfig | None = Field(default_factory=supervised_views)
    adversary: PretrainAdversaryConfig | None = None
    tikhonov: float = Field(0.0, ge=0)


class Supervised(ClassifierMethod):
    config_class = SupervisedConfig

    def __init__(self, encoder: nn.Module, cfg: SupervisedConfig, num_classes: int) -> None:
        super().__init__(encoder)
        self.cfg = cfg
        self.views = build_views(cfg.views) if cfg.views is not None else None
        self.head = self.classifier_head(num_classes, cfg.head, cfg.head_hidden_dim)

    def forward_losses(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(per-sample cross-entropy (B,), features, logits) at x."""
        features = self.encoder(x)
        logits = self.head(features)
        losses = cross_entropy_loss(
            logits, y, label_smoothing=self.cfg.label_smoothing, reduction="none"
        )
        return losses, features, logits

    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        if bool((y < 0).any()):
            raise ValueError(
                "supervised training needs labels for every sample; use a labelled split"
            )
        if self.views is not None:
            x = self.views(x, generator=generator)
        if self.cfg.adversary is not None:  # eq. 4–6: train at the PGD maximiser of the loss
            x = perturb(
                lambda xa: self.forward_losses(xa, y)[0], x, self.cfg.adversary, self, generator
            )
        cache: dict[str, Tensor] = {}

        def losses(inputs: Tensor) -> Tensor:
            out, cache["features"], cache["logits"] = self.forward_losses(inputs, y)
            return out

        logs: dict[str, Tensor] = {}
        if self.cfg.tikhonov > 0:  # seed 004 eq. 2 by double backprop
            terms = supervised_tikhonov(losses, x)
            loss = terms.loss + self.cfg.tikhonov / 2 * terms.penalty
            logs["tikhonov"] = terms.penalty.detach()
        else:
            loss = losses(x).mean()
        logs["train_acc"] = (cache["logits"].argmax(1) == y).float().mean()
        return MethodStep(loss, cache["features"], y, logs)
