"""SimSiam (Chen & He 2021; seed 000 §2.4 and Table 1): projector + predictor, stop-gradient."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import Tensor, nn

from robustssl.data.views import SimCLRViewConfig
from robustssl.methods.base import MethodStep, ProjectedViewsMethod
from robustssl.methods.common import MethodConfigBase, ProjectionConfig
from robustssl.models import PredictionHead
from robustssl.objectives import simsiam_loss


class SimSiamConfig(MethodConfigBase):
    name: Literal["simsiam"] = "simsiam"
    projection: ProjectionConfig = ProjectionConfig(hidden_dim=2048, out_dim=2048, num_layers=3)
    predictor_hidden_dim: int = Field(512, gt=0)
    views: SimCLRViewConfig = SimCLRViewConfig()


class SimSiam(ProjectedViewsMethod):
    config_class = SimSiamConfig

    def __init__(self, encoder: nn.Module, cfg: SimSiamConfig) -> None:
        super().__init__(encoder, cfg, last_bn=True)
        self.predictor = PredictionHead(cfg.projection.out_dim, cfg.predictor_hidden_dim)

    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        (z1, z2), features = self.embed_views(x, 2, generator)
        p1, p2 = self.predictor(torch.cat([z1, z2])).chunk(2)
        return MethodStep(simsiam_loss(p1, p2, z1, z2), features, y)
