"""SimCLR and supervised SimCLR (SupCon): m augmented views, projector, (m-view) NT-Xent.

seed 002 §3.3.2 (SimCLR), seed 001 eq. 4–5 (2- and m-view loss), seed 000 §4.1 (supervised SimCLR:
same-class samples are positives), seed 004 eq. 1.
"""

from __future__ import annotations

import torch
from torch import Tensor

from robustssl.methods.base import MethodStep, ProjectedViewsMethod
from robustssl.methods.config import SimCLRConfig, SupConConfig
from robustssl.methods.distributed import gather_with_grad
from robustssl.objectives import multiview_ntxent_loss, supcon_loss


class SimCLR(ProjectedViewsMethod):
    """Views of each image are positives; all other rows of the (gathered) batch are negatives."""

    cfg: SimCLRConfig | SupConConfig

    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        z, features = self.embed_views(x, self.cfg.n_views, generator)
        loss = multiview_ntxent_loss([gather_with_grad(v) for v in z], self.cfg.temperature)
        return MethodStep(loss, features, y)


class SupCon(SimCLR):
    """Supervised SimCLR (seed 000 §4.1): SimCLR where same-class rows are positives too."""

    needs_labels = True

    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        if bool((y < 0).any()):
            raise ValueError("supcon needs labels for every sample; use a labelled split")
        z, features = self.embed_views(x, self.cfg.n_views, generator)
        z = [gather_with_grad(v) for v in z]
        loss = supcon_loss(z, gather_with_grad(y), self.cfg.temperature)
        return MethodStep(loss, features, y)
