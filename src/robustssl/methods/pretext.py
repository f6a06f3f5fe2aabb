"""Pretext-task pretraining: rotation prediction and jigsaw puzzles as cross-entropy over
transformation labels (seed 003 §3.1: T(x) returns x_SS and y_SS; §4.2: one random rotation per
image, or all four as in Gidaris et al.). With ``adversary`` set, adversarial pretext pretraining
(seed 003 §3.3: "equivalent to AT, except X_SS and y_SS are used"; P1 = L2, P2 = L∞): the
transformed batch is replaced by its PGD maximiser of the pretext cross-entropy."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import Tensor, nn

from robustssl.attacks.adversary import PretrainAdversaryConfig
from robustssl.data.views import (
    JigsawPuzzle,
    ViewConfig,
    all_rotations,
    build_views,
    random_rotation,
)
from robustssl.methods.adversary import perturb
from robustssl.methods.base import MethodStep, PretrainMethod
from robustssl.methods.common import MethodConfigBase, supervised_views
from robustssl.models import PretextHead
from robustssl.objectives import cross_entropy_loss


class RotationConfig(MethodConfigBase):
    """Rotation prediction (seed 003 §3.1, §4.2): ``random`` = one random rotation per image."""

    name: Literal["rotation"] = "rotation"
    mode: Literal["random", "all"] = "random"
    head_hidden_dim: int | None = None
    views: ViewConfig | None = Field(default_factory=supervised_views)
    # Adversarial pretext pretraining (seed 003 §3.3: P1 = L2, P2 = L∞); None = standard
    adversary: PretrainAdversaryConfig | None = None


class JigsawConfig(MethodConfigBase):
    """Jigsaw puzzles over an n×n grid with J fixed permutations (seed 003 §3.1)."""

    name: Literal["jigsaw"] = "jigsaw"
    grid: int = Field(2, ge=2)
    num_permutations: int = Field(24, ge=2)
    permutation_seed: int = 0
    head_hidden_dim: int | None = None
    views: ViewConfig | None = Field(default_factory=supervised_views)
    # adversarial pretext pretraining (seed 003 §3.3)
    adversary: PretrainAdversaryConfig | None = None


class _Pretext(PretrainMethod):
    def __init__(
        self, encoder: nn.Module, cfg: RotationConfig | JigsawConfig, num_labels: int
    ) -> None:
        super().__init__(encoder)
        self.cfg = cfg
        self.views = build_views(cfg.views) if cfg.views is not None else None
        self.head = PretextHead(self.feature_dim, num_labels, cfg.head_hidden_dim)

    def augment(self, x: Tensor, generator: torch.Generator) -> Tensor:
        return self.views(x, generator=generator) if self.views is not None else x

    def transform(self, x: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        x_ss, y_ss = self.transform(self.augment(x, generator), generator)
        if self.cfg.adversary is not None:
            x_ss = perturb(
                lambda xa: cross_entropy_loss(self.head(self.encoder(xa)), y_ss, reduction="none"),
                x_ss,
                self.cfg.adversary,
                self,
                generator,
            )
        features = self.encoder(x_ss)
        logits = self.head(features)
        loss = cross_entropy_loss(logits, y_ss)
        acc = (logits.argmax(1) == y_ss).float().mean()
        # The probe sees images in their original orientation/order only (label 0 of the pretext).
        keep = y_ss == 0
        labels = y.repeat(x_ss.shape[0] // x.shape[0])
        return MethodStep(loss, features[keep], labels[keep], {"pretext_acc": acc})


class Rotation(_Pretext):
    """Predict which multiple of 90° the image was rotated by (4 classes)."""

    config_class = RotationConfig
    cfg: RotationConfig

    def __init__(self, encoder: nn.Module, cfg: RotationConfig) -> None:
        super().__init__(encoder, cfg, 4)

    def transform(self, x: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        if self.cfg.mode == "all":
            return all_rotations(x)
        return random_rotation(x, generator=generator)


class Jigsaw(_Pretext):
    """Predict which of J fixed permutations scrambled the n×n tiles (seed 003 §3.1)."""

    config_class = JigsawConfig

    def __init__(self, encoder: nn.Module, cfg: JigsawConfig) -> None:
        super().__init__(encoder, cfg, cfg.num_permutations)
        self.puzzle = JigsawPuzzle(
            grid=cfg.grid, num_permutations=cfg.num_permutations, seed=cfg.permutation_seed
        )

    def transform(self, x: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        return self.puzzle(x, generator=generator)
