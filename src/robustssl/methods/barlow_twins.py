"""Barlow Twins (seed 000 §2.4, eq. 12–13): two views' cross-correlation → identity."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from robustssl.data.views import SimCLRViews
from robustssl.methods.base import MethodStep, PretrainMethod
from robustssl.methods.config import BarlowTwinsConfig
from robustssl.methods.distributed import gather_with_grad
from robustssl.models import ProjectionHead
from robustssl.objectives import barlow_twins_loss


class BarlowTwins(PretrainMethod):
    def __init__(self, encoder: nn.Module, cfg: BarlowTwinsConfig) -> None:
        super().__init__(encoder)
        self.cfg = cfg
        self.views = SimCLRViews(cfg.views)
        proj = cfg.projection
        self.projector = ProjectionHead(
            self.feature_dim,
            proj.hidden_dim,
            proj.out_dim,
            proj.num_layers,
            batch_norm=proj.batch_norm,
        )

    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        v1, v2 = self.views.views(x, n_views=2, generator=generator)
        features = self.encoder(torch.cat([v1, v2]))
        z1, z2 = (gather_with_grad(z) for z in self.projector(features).chunk(2))
        loss = barlow_twins_loss(z1, z2, self.cfg.lambda_offdiag)
        return MethodStep(loss, features[: x.shape[0]], y)
