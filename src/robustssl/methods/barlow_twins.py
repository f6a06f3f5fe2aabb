"""Barlow Twins (seed 000 §2.4, eq. 12–13): two views' cross-correlation → identity."""

from __future__ import annotations

import torch
from torch import Tensor

from robustssl.methods.base import MethodStep, ProjectedViewsMethod
from robustssl.methods.distributed import gather_with_grad
from robustssl.objectives import barlow_twins_loss


class BarlowTwins(ProjectedViewsMethod):
    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        (z1, z2), features = self.embed_views(x, 2, generator)
        loss = barlow_twins_loss(
            gather_with_grad(z1), gather_with_grad(z2), self.cfg.lambda_offdiag
        )
        return MethodStep(loss, features, y)
