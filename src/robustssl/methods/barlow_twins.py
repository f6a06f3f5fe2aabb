"""Barlow Twins (seed 000 §2.4, eq. 12–13): two views' cross-correlation → identity."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import Tensor

from robustssl.data.views import SimCLRViewConfig
from robustssl.methods.base import MethodStep, ProjectedViewsMethod
from robustssl.methods.common import MethodConfigBase, ProjectionConfig
from robustssl.methods.distributed import gather_with_grad
from robustssl.objectives import barlow_twins_loss


class BarlowTwinsConfig(MethodConfigBase):
    """Barlow Twins (seed 000 eq. 12–13); seed 000 uses a 1-hidden-layer 2048-wide projector."""

    name: Literal["barlow_twins"] = "barlow_twins"
    lambda_offdiag: float = Field(5e-3, gt=0)
    projection: ProjectionConfig = ProjectionConfig(hidden_dim=2048, out_dim=2048, num_layers=2)
    views: SimCLRViewConfig = SimCLRViewConfig()


class BarlowTwins(ProjectedViewsMethod):
    config_class = BarlowTwinsConfig

    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        (z1, z2), features = self.embed_views(x, 2, generator)
        loss = barlow_twins_loss(
            gather_with_grad(z1), gather_with_grad(z2), self.cfg.lambda_offdiag
        )
        return MethodStep(loss, features, y)
