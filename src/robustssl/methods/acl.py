"""ACL: adversarial contrastive learning (Jiang et al. 2020, described in seed 000 §2.7.2 and used
as a baseline in seed 001 Table 1).

- ``a2a``: both SimCLR views attacked jointly (PGD on their NT-Xent), NT-Xent on the adversarial
  pair, one BN (seed 001 eq. 6).
- ``a2s``: view 1 attacked against the clean view 2; the adversarial branch has its own BN
  (encoder and projector), the clean branch the other; NT-Xent(adv branch, clean branch).
- ``dual_stream``: the clean pair through the clean BN and the adversarial pair (both views
  attacked jointly, under the adversarial BN) through the adversarial BN; the two NT-Xent
  losses are averaged. Only this mode is in the public ACL code (../shared/REFERENCE_FACTS.md):
  PGD 5 × 2/255 at 8/255 with the model in eval mode, τ = 0.5, dual BN in the 3-layer projector.

Every BN-separated encoder is used downstream through its adversarial branch
(:meth:`ACL.export_encoder`); it is also the branch the online probe and kNN monitor see.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, ClassVar, Literal

import torch
from pydantic import Field
from torch import Tensor, nn

from robustssl.attacks.adversary import PretrainAdversaryConfig
from robustssl.data.views import SimCLRViewConfig
from robustssl.methods.adversary import perturb
from robustssl.methods.base import MethodStep, ProjectedViewsMethod
from robustssl.methods.common import MethodConfigBase, ProjectionConfig
from robustssl.methods.contrastive_adversary import anchor_losses, as_attacked, sample_losses
from robustssl.methods.distributed import gather_with_grad
from robustssl.models import bn_branch, convert_to_multi_bn, extract_bn_branch, set_bn_branch
from robustssl.objectives import ntxent_loss

if TYPE_CHECKING:
    from robustssl.methods.adv_simclr import AdvSimCLRConfig


def _acl_adversary() -> PretrainAdversaryConfig:
    """ACL's PGD_contrastive: L∞ 8/255, 5 steps of 2/255, random start, model in eval mode with the
    adversarial BN (../shared/REFERENCE_FACTS.md)."""
    return PretrainAdversaryConfig(
        norm="Linf", eps=8 / 255, steps=5, step_size=2 / 255, bn_mode="eval"
    )


class ACLConfig(MethodConfigBase):
    """ACL (Jiang et al. 2020; seed 000 §2.7.2): ``a2a`` both views attacked, one BN; ``a2s`` one
    view attacked, its own BN; ``dual_stream`` a clean pair (clean BN) and an adversarial pair
    (adversarial BN), losses averaged. The adversarial-BN encoder is the one used downstream."""

    name: Literal["acl"] = "acl"
    mode: Literal["a2a", "a2s", "dual_stream"] = "dual_stream"
    temperature: float = Field(0.5, gt=0)
    projection: ProjectionConfig = ProjectionConfig(hidden_dim=512, out_dim=128, num_layers=3)
    views: SimCLRViewConfig = SimCLRViewConfig()
    adversary: PretrainAdversaryConfig = Field(default_factory=_acl_adversary)


Mode = Literal["a2a", "a2s", "dual_stream"]
CLEAN, ADV = "clean", "adv"


class ACL(ProjectedViewsMethod):
    """SimCLR views + projector; PGD on NT-Xent; dual BN for ``a2s`` and ``dual_stream``."""

    config_class: ClassVar[type[MethodConfigBase]] = ACLConfig

    cfg: ACLConfig | AdvSimCLRConfig

    def __init__(
        self, encoder: nn.Module, cfg: ACLConfig | AdvSimCLRConfig, mode: Mode | None = None
    ) -> None:
        super().__init__(encoder, cfg)
        self.mode: Mode = mode if mode is not None else cfg.mode  # type: ignore[union-attr]
        self.dual_bn = self.mode != "a2a"
        if self.dual_bn:
            convert_to_multi_bn(self.encoder, (CLEAN, ADV))
            convert_to_multi_bn(self.projector, (CLEAN, ADV))
            set_bn_branch(self, ADV)  # outside a step (monitor, probe): the downstream branch

    def branch(self, name: str | None) -> AbstractContextManager[object]:
        """Context selecting BN branch ``name`` (no-op with a single BN)."""
        return bn_branch(self, name) if self.dual_bn and name else nullcontext()

    def embed(self, x: Tensor, branch: str | None = None) -> tuple[Tensor, Tensor]:
        """(projections, encoder features) of x through BN branch ``branch``."""
        with self.branch(branch):
            h = self.encoder(x)
            return self.projector(h), h

    def pair_objective(self, n_views: int, branch: str | None) -> Callable[[Tensor], Tensor]:
        """Loss closure over ``n_views`` concatenated views, all perturbed: per-anchor NT-Xent."""

        def loss(x_adv: Tensor) -> Tensor:
            z, _ = self.embed(x_adv, branch)
            return anchor_losses(z.chunk(n_views), self.cfg.temperature)

        return loss

    def one_view_objective(self, clean_view: Tensor) -> Callable[[Tensor], Tensor]:
        """A2S closure: NT-Xent of the perturbed view (adv BN) against ``clean_view`` (clean BN,
        embedded once as the attack sees it); per-sample losses."""
        with as_attacked(self, self.cfg.adversary):
            z_clean, _ = self.embed(clean_view, CLEAN)

        def loss(x_adv: Tensor) -> Tensor:
            z_adv, _ = self.embed(x_adv, ADV)
            return sample_losses([z_adv, z_clean], self.cfg.temperature)

        return loss

    def attack_pair(
        self, v1: Tensor, v2: Tensor, branch: str | None, generator: torch.Generator
    ) -> tuple[Tensor, Tensor]:
        """Both views perturbed jointly (one batch) to maximise their NT-Xent."""
        objective = self.pair_objective(2, branch)
        adv = perturb(objective, torch.cat([v1, v2]), self.cfg.adversary, self, generator)
        a1, a2 = adv.chunk(2)
        return a1, a2

    def contrast(self, x: Tensor, branch: str | None) -> tuple[Tensor, Tensor]:
        """NT-Xent of the two halves of x (two views, one forward) and the first half's features."""
        z, h = self.embed(x, branch)
        z1, z2 = z.chunk(2)
        loss = ntxent_loss(gather_with_grad(z1), gather_with_grad(z2), self.cfg.temperature)
        return loss, h[: len(h) // 2]

    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        v1, v2 = self.views.views(x, n_views=2, generator=generator)
        if self.mode == "a2a":
            a1, a2 = self.attack_pair(v1, v2, None, generator)
            loss, features = self.contrast(torch.cat([a1, a2]), None)
            return MethodStep(loss, features, y)
        if self.mode == "a2s":
            a1 = perturb(self.one_view_objective(v2), v1, self.cfg.adversary, self, generator)
            z_adv, features = self.embed(a1, ADV)
            z_clean, _ = self.embed(v2, CLEAN)
            loss = ntxent_loss(
                gather_with_grad(z_adv), gather_with_grad(z_clean), self.cfg.temperature
            )
            return MethodStep(loss, features, y)
        a1, a2 = self.attack_pair(v1, v2, ADV, generator)
        clean, _ = self.contrast(torch.cat([v1, v2]), CLEAN)
        adv, features = self.contrast(torch.cat([a1, a2]), ADV)
        logs = {"loss_clean": clean.detach(), "loss_adv": adv.detach()}
        return MethodStep((clean + adv) / 2, features, y, logs)

    def export_encoder(self) -> nn.Module:
        """The encoder used downstream: the adversarial-BN branch as a plain Encoder."""
        return extract_bn_branch(self.encoder, ADV) if self.dual_bn else self.encoder
