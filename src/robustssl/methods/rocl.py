"""RoCL: robust contrastive learning (Kim et al. 2020; a baseline of seed 001 Table 1).

An instance-wise attack: PGD perturbs t1(x) to maximise its NT-Xent against t2(x) (no labels);
the adversarial example joins the views as a third positive. Loss = 3-view NT-Xent (t1, t2, adv)
+ w·NT-Xent(adv, t2) with w = 1/256 (RoCL's λ = 256, ``regularize_to=other``); one BN; the
attack runs with the model in eval mode (../shared/REFERENCE_FACTS.md: PGD 7 steps, ε 0.0314,
α 0.007). Differences from the public code, by design: both losses here come from one forward of
(t1, t2, adv) (RoCL forwards (adv, t2) a second time), and its 3-view loss sums an anchor's two
positives where ours averages them: a factor 2 in the loss value only, since RoCL's
``pairwise_similarity`` detaches its second operand, which halves the gradient of its summed
form, so the gradients equal those of ours.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from pydantic import Field
from torch import Tensor

from robustssl.attacks.adversary import PretrainAdversaryConfig
from robustssl.data.views import SimCLRViewConfig
from robustssl.methods.adversary import perturb
from robustssl.methods.base import MethodStep, ProjectedViewsMethod
from robustssl.methods.common import MethodConfigBase, ProjectionConfig
from robustssl.methods.contrastive_adversary import as_attacked, sample_losses
from robustssl.methods.distributed import gather_with_grad
from robustssl.objectives import multiview_ntxent_loss, ntxent_loss


class RoCLConfig(MethodConfigBase):
    """RoCL (Kim et al. 2020): PGD on t1(x) against t2(x); 3-view NT-Xent (t1, t2, adv) +
    ``regularizer_weight``·NT-Xent(adv, t2) (RoCL's 1/λ with λ = 256); one BN."""

    name: Literal["rocl"] = "rocl"
    temperature: float = Field(0.5, gt=0)
    regularizer_weight: float = Field(1 / 256, ge=0)
    projection: ProjectionConfig = ProjectionConfig()
    views: SimCLRViewConfig = SimCLRViewConfig()
    adversary: PretrainAdversaryConfig = Field(
        default_factory=lambda: PretrainAdversaryConfig(
            norm="Linf", eps=0.0314, steps=7, step_size=0.007, bn_mode="eval"
        )
    )


class RoCL(ProjectedViewsMethod):
    config_class = RoCLConfig

    cfg: RoCLConfig

    def objective(self, target: Tensor) -> Callable[[Tensor], Tensor]:
        """Per-sample NT-Xent of the perturbed view against ``target`` = t2(x) (embedded once)."""
        with as_attacked(self, self.cfg.adversary):
            z_target = self.projector(self.encoder(target))

        def loss(x_adv: Tensor) -> Tensor:
            z_adv = self.projector(self.encoder(x_adv))
            return sample_losses([z_adv, z_target], self.cfg.temperature)

        return loss

    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        t1, t2 = self.views.views(x, n_views=2, generator=generator)
        adv = perturb(self.objective(t2), t1, self.cfg.adversary, self, generator)
        features = self.encoder(torch.cat([t1, t2, adv]))
        z1, z2, za = (gather_with_grad(z) for z in self.projector(features).chunk(3))
        contrastive = multiview_ntxent_loss([z1, z2, za], self.cfg.temperature)
        regulariser = ntxent_loss(za, z2, self.cfg.temperature)
        loss = contrastive + self.cfg.regularizer_weight * regulariser
        logs = {"loss_contrastive": contrastive.detach(), "loss_regulariser": regulariser.detach()}
        return MethodStep(loss, features[: x.shape[0]], y, logs)
