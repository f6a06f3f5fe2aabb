"""SimSiam (Chen & He 2021; seed 000 §2.4 and Table 1): projector + predictor, stop-gradient."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from robustssl.data.views import SimCLRViews
from robustssl.methods.base import MethodStep, PretrainMethod
from robustssl.methods.config import SimSiamConfig
from robustssl.models import PredictionHead, ProjectionHead
from robustssl.objectives import simsiam_loss


class SimSiam(PretrainMethod):
    def __init__(self, encoder: nn.Module, cfg: SimSiamConfig) -> None:
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
            last_bn=True,
        )
        self.predictor = PredictionHead(proj.out_dim, cfg.predictor_hidden_dim)

    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        v1, v2 = self.views.views(x, n_views=2, generator=generator)
        features = self.encoder(torch.cat([v1, v2]))
        z1, z2 = self.projector(features).chunk(2)
        p1, p2 = self.predictor(torch.cat([z1, z2])).chunk(2)
        return MethodStep(simsiam_loss(p1, p2, z1, z2), features[: x.shape[0]], y)
