"""The adversary slot with a single-step adversary (FGSM-RS, N-FGSM) instead of PGD: the same
calling convention as :func:`robustssl.methods.adversary.perturb` (a per-sample training loss
closure in, x_adv out), one forward and one backward per batch.

The attack itself is :class:`robustssl.attacks.SingleStep` (its docstring has the papers'
defaults and the reference code); here the model is put in ``bn_mode`` for it, with parameter
gradients off and BatchNorm running statistics untouched, and everything is restored afterwards.
Both reference codes attack with the model in train mode and let the attack's forward update the
running statistics (docs/fidelity.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor, nn

from robustssl.attacks import SingleStep, attack_mode
from robustssl.methods.adversary import frozen_bn_statistics


def perturb_single_step(
    loss: Callable[[Tensor], Tensor],
    x: Tensor,
    adversary: SingleStep,
    model: nn.Module,
    generator: torch.Generator,
    bn_mode: Literal["train", "eval"] = "eval",
) -> Tensor:
    """x_adv from one random start and one ascent step on ``loss`` (per-sample losses (B,)), in
    the adversary's ball ∩ [0,1] (``adversary.radius``), with ``model`` in ``bn_mode``."""
    with attack_mode(model, bn_mode), frozen_bn_statistics(model):
        return adversary.perturb(loss, x.detach(), generator).detach()
