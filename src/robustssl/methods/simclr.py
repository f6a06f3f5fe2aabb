"""SimCLR and supervised SimCLR (SupCon): m augmented views, projector, (m-view) NT-Xent.

seed 002 §3.3.2 (SimCLR), seed 001 eq. 4–5 (2- and m-view loss), seed 000 §4.1 (supervised SimCLR:
same-class samples are positives), seed 004 eq. 1; ``tikhonov`` = λ adds λ/2·R, the per-view
input-gradient norms of the batch loss (seed 004 eq. 3, double backprop).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
from pydantic import Field
from torch import Tensor

from robustssl.data.views import SimCLRViewConfig
from robustssl.methods.base import MethodStep, ProjectedViewsMethod
from robustssl.methods.common import MethodConfigBase, ProjectionConfig
from robustssl.methods.distributed import gather_with_grad, require_single_process
from robustssl.objectives import multiview_ntxent_loss, supcon_loss
from robustssl.objectives.tikhonov import contrastive_tikhonov


class SimCLRConfig(MethodConfigBase):
    """SimCLR (seed 002 §3.3.2; seed 001 eq. 4–5 for ``n_views`` > 2)."""

    name: Literal["simclr"] = "simclr"
    temperature: float = Field(0.5, gt=0)
    n_views: int = Field(2, ge=2)
    projection: ProjectionConfig = ProjectionConfig()
    views: SimCLRViewConfig = SimCLRViewConfig()
    # λ of seed 004 eq. 3: λ/2 · per-view input-gradient norms of the batch loss (0 = off)
    tikhonov: float = Field(0.0, ge=0)


class SupConConfig(SimCLRConfig):
    """Supervised SimCLR (seed 000 §4.1): same-class samples are positives."""

    name: Literal["supcon"] = "supcon"  # type: ignore[assignment]


class SimCLR(ProjectedViewsMethod):
    """Views of each image are positives; all other rows of the (gathered) batch are negatives."""

    config_class: ClassVar[type[MethodConfigBase]] = SimCLRConfig

    cfg: SimCLRConfig | SupConConfig

    def contrastive_loss(self, z: list[Tensor], y: Tensor) -> Tensor:
        return multiview_ntxent_loss([gather_with_grad(v) for v in z], self.cfg.temperature)

    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        n = self.cfg.n_views
        if self.cfg.tikhonov == 0:
            z, features = self.embed_views(x, n, generator)
            return MethodStep(self.contrastive_loss(z, y), features, y)
        require_single_process("contrastive Tikhonov (method.tikhonov > 0)")
        cache: dict[str, Tensor] = {}

        def batch_loss(views: list[Tensor]) -> Tensor:
            cache["features"] = self.encoder(torch.cat(views))
            return self.contrastive_loss(list(self.projector(cache["features"]).chunk(n)), y)

        views = self.views.views(x, n_views=n, generator=generator)
        terms = contrastive_tikhonov(batch_loss, views)
        loss = terms.loss + self.cfg.tikhonov / 2 * terms.penalty
        features = cache["features"][: x.shape[0]]
        return MethodStep(loss, features, y, {"tikhonov": terms.penalty.detach()})


class SupCon(SimCLR):
    """Supervised SimCLR (seed 000 §4.1): SimCLR where same-class rows are positives too."""

    config_class = SupConConfig

    needs_labels = True

    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        if bool((y < 0).any()):
            raise ValueError("supcon needs labels for every sample; use a labelled split")
        return super().step(x, y, generator)

    def contrastive_loss(self, z: list[Tensor], y: Tensor) -> Tensor:
        z = [gather_with_grad(v) for v in z]
        return supcon_loss(z, gather_with_grad(y), self.cfg.temperature)
