"""SimCLR and supervised SimCLR (SupCon): m augmented views, projector, (m-view) NT-Xent.

seed 002 §3.3.2 (SimCLR), seed 001 eq. 4–5 (2- and m-view loss), seed 000 §4.1 (supervised SimCLR:
same-class samples are positives), seed 004 eq. 1.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from robustssl.data.views import SimCLRViews
from robustssl.methods.base import MethodStep, PretrainMethod
from robustssl.methods.config import SimCLRConfig, SupConConfig
from robustssl.methods.distributed import gather_with_grad
from robustssl.models import ProjectionHead
from robustssl.objectives import multiview_ntxent_loss, supcon_loss


class SimCLR(PretrainMethod):
    """Views of each image are positives; all other rows of the (gathered) batch are negatives."""

    def __init__(self, encoder: nn.Module, cfg: SimCLRConfig | SupConConfig) -> None:
        super().__init__(encoder)
        self.cfg = cfg
        self.views = SimCLRViews(cfg.views)
        self.projector = ProjectionHead(
            self.feature_dim,
            cfg.projection.hidden_dim,
            cfg.projection.out_dim,
            cfg.projection.num_layers,
            batch_norm=cfg.projection.batch_norm,
        )

    def project_views(self, x: Tensor, generator: torch.Generator) -> tuple[list[Tensor], Tensor]:
        """Projections of each view (gathered across ranks) and the first view's features."""
        views = self.views.views(x, n_views=self.cfg.n_views, generator=generator)
        features = self.encoder(torch.cat(views))
        z = self.projector(features).chunk(self.cfg.n_views)
        return [gather_with_grad(zv) for zv in z], features[: x.shape[0]]

    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        z, features = self.project_views(x, generator)
        loss = multiview_ntxent_loss(z, self.cfg.temperature)
        return MethodStep(loss, features, y)


class SupCon(SimCLR):
    """Supervised SimCLR (seed 000 §4.1): SimCLR where same-class rows are positives too."""

    needs_labels = True

    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        if bool((y < 0).any()):
            raise ValueError("supcon needs labels for every sample; use a labelled split")
        z, features = self.project_views(x, generator)
        loss = supcon_loss(z, gather_with_grad(y), self.cfg.temperature)
        return MethodStep(loss, features, y)
