"""DynACL (Luo, Wang & Wang, ICLR 2023, "Rethinking the Effect of Data Augmentation in Adversarial
Contrastive Learning"): ACL's dual-stream contrastive learning (a clean pair under the clean BN, an
adversarial pair under the adversarial BN; :mod:`robustssl.methods.acl`) with

- views annealed from strong to weak: strength μ = 1 − ⌊e/K⌋·K/E, the views rebuilt every K
  epochs (:mod:`robustssl.data.views.schedule`);
- the dynamic loss weight w = min(1 + ⌊(e+1)/K⌋·(K/E)·λ, 2) on ((2 − w)·clean + w·adv)/2
  (:mod:`robustssl.objectives.dynacl`);
- (``momentum_encoder``, the reference) the second view of every pair through a momentum copy
  of the encoder and projector (m = 0.99, no gradient), updated after each step's forwards from
  the parameters before the step, as the reference; the momentum encoder's adversarial branch is
  the one saved (``encoder.safetensors``). ``momentum_encoder: false`` is ACL-DS with the
  schedule: both views through the trained encoder, which is saved.

Reference code PKU-ML/DYNACL ``train_DynACL.py`` (the loop L270–300, ``PGD_contrastive``: both views
perturbed jointly through the swapped model in eval mode; LARS lr 5.0, weight decay 1e-6,
batch 512, 1000 epochs, τ = 0.5, K = 50, λ = 2/3) and ``models/resnet_multi_bn.py``
(``resnet18_momentum``: ``swap=True`` sends even rows through ``encoder_q`` and odd rows through
``encoder_k``; ``_momentum_update_encoder_k`` updates the parameters only, the BN running
statistics of the momentum encoder come from its own train-mode forwards). The online probe and
the kNN monitor see the trained encoder's adversarial branch.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Literal

import torch
from pydantic import Field
from torch import Tensor, nn

from robustssl.attacks.adversary import PretrainAdversaryConfig
from robustssl.data.views import SimCLRViewConfig, SimCLRViews
from robustssl.data.views.schedule import (
    DYNACL_BASE_VIEWS,
    DYNACL_RELOAD_EVERY,
    dynacl_strength,
    dynacl_views,
)
from robustssl.methods.acl import ACL, ADV, CLEAN, _acl_adversary
from robustssl.methods.adversary import perturb
from robustssl.methods.base import MethodStep
from robustssl.methods.common import MethodConfigBase, ProjectionConfig
from robustssl.methods.contrastive_adversary import anchor_losses
from robustssl.methods.distributed import gather_with_grad
from robustssl.models import extract_bn_branch, set_bn_branch
from robustssl.objectives import ntxent_loss
from robustssl.objectives.dynacl import DYNACL_SWAP, dynacl_adv_weight, dynacl_loss

DYNACL_MOMENTUM = 0.99  # m of resnet18_momentum (module docstring)


class DynACLConfig(MethodConfigBase):
    """DynACL: ACL dual-stream with annealed ``views`` (the strength-1 views; rebuilt every
    ``reload_every`` epochs at strength μ), the loss weight with λ = ``swap``, and the reference's
    momentum encoder for the second view (``momentum_encoder``, m = ``momentum``)."""

    name: Literal["dynacl"] = "dynacl"
    temperature: float = Field(0.5, gt=0)
    projection: ProjectionConfig = ProjectionConfig(hidden_dim=512, out_dim=128, num_layers=3)
    views: SimCLRViewConfig = DYNACL_BASE_VIEWS
    reload_every: int = Field(DYNACL_RELOAD_EVERY, ge=1)
    swap: float = Field(DYNACL_SWAP, ge=0, allow_inf_nan=False)
    momentum_encoder: bool = True
    momentum: float = Field(DYNACL_MOMENTUM, ge=0, lt=1)
    adversary: PretrainAdversaryConfig = Field(default_factory=_acl_adversary)


class DynACL(ACL):
    """ACL dual-stream + DynACL's view schedule, loss weight and (optionally) momentum encoder."""

    config_class = DynACLConfig

    def __init__(self, encoder: nn.Module, cfg: DynACLConfig) -> None:
        super().__init__(encoder, cfg, mode="dual_stream")  # type: ignore[arg-type]
        self.dyn = cfg
        self.strength = 1.0
        self.views = SimCLRViews(dynacl_views(self.strength, cfg.views))
        self.adv_weight = 1.0
        self.encoder_k: nn.Module | None = None
        self.projector_k: nn.Module | None = None
        if cfg.momentum_encoder:  # copies of the dual-BN modules, outside the optimiser
            self.encoder_k = copy.deepcopy(self.encoder).requires_grad_(False)
            self.projector_k = copy.deepcopy(self.projector).requires_grad_(False)
            set_bn_branch(self, ADV)

    def set_epoch(self, epoch: int, epochs: int) -> None:
        """μ and w of ``epoch`` (0-indexed) of ``epochs``; the views are rebuilt when μ changes."""
        cfg = self.dyn
        strength = dynacl_strength(epoch, epochs, cfg.reload_every)
        if strength != self.strength:
            self.strength = strength
            self.views = SimCLRViews(dynacl_views(strength, cfg.views))
        self.adv_weight = dynacl_adv_weight(epoch, epochs, cfg.reload_every, cfg.swap)

    # --- the momentum pair -----------------------------------------------------------------
    def embed_pair(self, a: Tensor, b: Tensor, branch: str) -> tuple[Tensor, Tensor, Tensor]:
        """(z of ``a`` through the trained encoder, z of ``b`` through the momentum encoder, the
        trained encoder's features of ``a``), both through BN branch ``branch``."""
        assert self.encoder_k is not None and self.projector_k is not None
        with self.branch(branch):
            h = self.encoder(a)
            z_b = self.projector_k(self.encoder_k(b))
            return self.projector(h), z_b, h

    def swapped_objective(self) -> Callable[[Tensor], Tensor]:
        """Closure over both views concatenated, all perturbed: per-anchor NT-Xent of the pair
        through the swapped model (the adversarial branch)."""

        def loss(x_adv: Tensor) -> Tensor:
            a, b = x_adv.chunk(2)
            z_a, z_b, _ = self.embed_pair(a, b, ADV)
            return anchor_losses([z_a, z_b], self.cfg.temperature)

        return loss

    def pair_loss(self, a: Tensor, b: Tensor, branch: str) -> tuple[Tensor, Tensor]:
        z_a, z_b, h = self.embed_pair(a, b, branch)
        loss = ntxent_loss(gather_with_grad(z_a), gather_with_grad(z_b), self.cfg.temperature)
        return loss, h

    @torch.no_grad()
    def momentum_update(self) -> None:
        """k ← m·k + (1 − m)·q for every parameter (not the BN running statistics). New tensors,
        as the reference's ``param_k.data = …``: the forwards already taken keep their weights."""
        assert self.encoder_k is not None and self.projector_k is not None
        m = self.dyn.momentum
        pairs = (self.encoder, self.encoder_k), (self.projector, self.projector_k)
        for q_module, k_module in pairs:
            for q, k in zip(q_module.parameters(), k_module.parameters(), strict=True):
                k.data = k.data * m + q.data * (1.0 - m)

    # --- training --------------------------------------------------------------------------
    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        v1, v2 = self.views.views(x, n_views=2, generator=generator)
        if self.encoder_k is None:
            a1, a2 = self.attack_pair(v1, v2, ADV, generator)
            adv, features = self.contrast(torch.cat([a1, a2]), ADV)
            clean, _ = self.contrast(torch.cat([v1, v2]), CLEAN)
        else:
            both = torch.cat([v1, v2])
            x_adv = perturb(self.swapped_objective(), both, self.cfg.adversary, self, generator)
            a1, a2 = x_adv.chunk(2)
            adv, features = self.pair_loss(a1, a2, ADV)
            clean, _ = self.pair_loss(v1, v2, CLEAN)
            self.momentum_update()
        w = self.adv_weight
        logs = {
            "loss_clean": clean.detach(),
            "loss_adv": adv.detach(),
            "adv_weight": torch.tensor(w),
            "view_strength": torch.tensor(self.strength),
        }
        return MethodStep(dynacl_loss(clean, adv, w), features, y, logs)

    def export_encoder(self) -> nn.Module:
        """The encoder used downstream: the adversarial branch of the momentum encoder (the
        reference's ``model_encoder_k.pt``), or of the trained one without momentum."""
        source = self.encoder_k if self.encoder_k is not None else self.encoder
        return extract_bn_branch(source, ADV)
