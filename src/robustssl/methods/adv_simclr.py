"""Adversarial SimCLR (seed 002 §5.2): before each step, PGD (3 steps) on the NT-Xent loss turns
both augmented views into adversarial views; SimCLR then trains on the adversarial pair. This is
ACL's A2A composition (seed 000 §2.7.2) with seed 002's attack budget."""

from __future__ import annotations

from torch import nn

from robustssl.methods.acl import ACL
from robustssl.methods.config import AdvSimCLRConfig


class AdversarialSimCLR(ACL):
    """One BN; both views attacked jointly; NT-Xent on the adversarial views."""

    def __init__(self, encoder: nn.Module, cfg: AdvSimCLRConfig) -> None:
        super().__init__(encoder, cfg, mode="a2a")
