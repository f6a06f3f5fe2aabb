"""Pieces shared by the adversarial contrastive methods (ACL, RoCL, AdvCL, adversarial SimCLR):
per-anchor / per-sample NT-Xent for the adversary's loss closure, and a context in which the
unperturbed views are embedded once, as the attack sees them.

The adversary (:func:`robustssl.methods.adversary.perturb`) ascends the sum of per-sample losses.
For NT-Xent over m views of B samples, the per-anchor losses (m·B,) serve when every view is
perturbed (they line up with the concatenated views); when only some views are perturbed, the
per-sample loss is the mean over the sample's m anchors (seed 001 eq. 5 restricted to sample i).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from robustssl.attacks import attack_mode
from robustssl.attacks.adversary import PretrainAdversaryConfig
from robustssl.methods.adversary import frozen_bn_statistics
from robustssl.objectives import grouped_contrastive_loss


def anchor_losses(views: Sequence[Tensor], temperature: float) -> Tensor:
    """(m·B,) NT-Xent loss of every anchor, rows in the order of ``torch.cat(views)``."""
    z = torch.cat(list(views))
    batch = views[0].shape[0]
    groups = torch.arange(batch, device=z.device).repeat(len(views))
    return grouped_contrastive_loss(z, groups, temperature, reduction="none")


def sample_losses(views: Sequence[Tensor], temperature: float) -> Tensor:
    """(B,) mean over each sample's m anchors of the m-view NT-Xent; its mean over the batch is
    the batch loss ``multiview_ntxent_loss(views)``."""
    return anchor_losses(views, temperature).view(len(views), -1).mean(0)


@contextmanager
def as_attacked(model: nn.Module, cfg: PretrainAdversaryConfig) -> Iterator[nn.Module]:
    """``model`` as the adversary runs it (``cfg.bn_mode``, BN running statistics frozen), without
    gradients: embed the views the attack does not perturb here, once, instead of per step."""
    with attack_mode(model, cfg.bn_mode), frozen_bn_statistics(model), torch.no_grad():
        yield model
