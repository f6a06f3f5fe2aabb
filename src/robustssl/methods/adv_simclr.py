"""Adversarial SimCLR (seed 002 §5.2): before each step, PGD (3 steps) on the NT-Xent loss turns
both augmented views into adversarial views; SimCLR then trains on the adversarial pair. This is
ACL's A2A composition (seed 000 §2.7.2) with seed 002's attack budget."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from torch import nn

from robustssl.attacks.adversary import PretrainAdversaryConfig
from robustssl.data.views import SimCLRViewConfig
from robustssl.methods.acl import ACL
from robustssl.methods.common import MethodConfigBase, ProjectionConfig


class AdvSimCLRConfig(MethodConfigBase):
    """Adversarial SimCLR (seed 002 §5.2): PGD (3 steps) on NT-Xent over both views, trained on
    the adversarial pair. Seed 002 runs the attack inside the training forward, hence BN in train
    mode; its ε is given in its own units, so ε here is ours (pixel units)."""

    name: Literal["adv_simclr"] = "adv_simclr"
    temperature: float = Field(0.5, gt=0)
    projection: ProjectionConfig = ProjectionConfig()
    views: SimCLRViewConfig = SimCLRViewConfig()
    adversary: PretrainAdversaryConfig = Field(
        default_factory=lambda: PretrainAdversaryConfig(eps=8 / 255, steps=3, bn_mode="train")
    )


class AdversarialSimCLR(ACL):
    """One BN; both views attacked jointly; NT-Xent on the adversarial views."""

    config_class = AdvSimCLRConfig

    def __init__(self, encoder: nn.Module, cfg: AdvSimCLRConfig) -> None:
        super().__init__(encoder, cfg, mode="a2a")
