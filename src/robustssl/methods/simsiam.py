"""SimSiam (Chen & He 2021; seed 000 §2.4 and Table 1): projector + predictor, stop-gradient."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from robustssl.methods.base import MethodStep, ProjectedViewsMethod
from robustssl.methods.config import SimSiamConfig
from robustssl.models import PredictionHead
from robustssl.objectives import simsiam_loss


class SimSiam(ProjectedViewsMethod):
    def __init__(self, encoder: nn.Module, cfg: SimSiamConfig) -> None:
        super().__init__(encoder, cfg, last_bn=True)
        self.predictor = PredictionHead(cfg.projection.out_dim, cfg.predictor_hidden_dim)

    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        (z1, z2), features = self.embed_views(x, 2, generator)
        p1, p2 = self.predictor(torch.cat([z1, z2])).chunk(2)
        return MethodStep(simsiam_loss(p1, p2, z1, z2), features, y)
