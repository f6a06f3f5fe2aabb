"""The adversary slot of a method: PGD on any training loss, inside a training step.

A method gives a loss closure over the input it wants perturbed (one view, several views
concatenated along the batch, the un-augmented image, ...) and gets x_adv back. The closure
returns per-sample losses (B,); PGD ascends their sum, which for a batch loss such as NT-Xent is
B × the batch loss (the sign / normalised gradient step does not see the scale). Madry et al.
(seed 003 eq. 5–6), seed 003 Algorithm 1 lines 6–8 (a weighted sum of losses), seed 001 eq. 7
(AdvCL), seed 002 §5.2 (3 steps on NT-Xent).

The config is :class:`robustssl.attacks.adversary.PretrainAdversaryConfig` (the one adversary
config with pretraining's defaults: 5 steps, α = 2.5·ε/steps). BatchNorm during the attack is part
of each recipe and stated in the config (``bn_mode``): AdvCL attacks with BN in train mode (batch
statistics; its running statistics are not updated here), ACL with the model in eval mode
(REFERENCE_FACTS.md).

With ``attack: fgsm_rs | n_fgsm`` the slot runs the single-step adversary instead
(:func:`robustssl.methods.single_step_adversary.perturb_single_step`): one forward and one
backward per batch, under the same ``bn_mode``, for every method that calls :func:`perturb`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from robustssl.attacks import ThreatModel, attack_mode, maximise
from robustssl.attacks.adversary import PretrainAdversaryConfig

_BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


@contextmanager
def frozen_bn_statistics(model: nn.Module) -> Iterator[nn.Module]:
    """BatchNorm layers in train mode normalise with batch statistics but do not update their
    running statistics (momentum 0) inside this block."""
    saved = {}
    for m in model.modules():
        if isinstance(m, _BN_TYPES) and m.track_running_stats:
            tracked = m.num_batches_tracked
            assert tracked is not None  # a buffer whenever track_running_stats
            saved[m] = (m.momentum, tracked, tracked.clone())
            m.momentum = 0.0
    try:
        yield model
    finally:
        for m, (momentum, buffer, count) in saved.items():
            m.momentum = momentum
            buffer.copy_(count)


def perturb(
    loss: Callable[[Tensor], Tensor],
    x: Tensor,
    cfg: PretrainAdversaryConfig,
    model: nn.Module,
    generator: torch.Generator,
) -> Tensor:
    """x_adv in the ε-ball of ``x`` ∩ [0,1] after ``cfg.steps`` PGD steps on ``loss`` (the last
    iterate, as most reference training codes, or with ``cfg.use_best`` each sample's highest-loss
    iterate), with ``model`` in ``cfg.bn_mode`` (restored afterwards, parameter gradients off, BN
    running statistics untouched). A single-step ``cfg.attack`` returns its one step instead (in
    its own ball: ``cfg.single_step().radius``)."""
    if cfg.single_step_attack:
        from robustssl.methods.single_step_adversary import perturb_single_step  # imports us

        return perturb_single_step(loss, x, cfg.single_step(), model, generator, cfg.bn_mode)
    threat = ThreatModel(cfg.norm, cfg.eps)
    with attack_mode(model, cfg.bn_mode), frozen_bn_statistics(model):
        out = maximise(
            loss,
            x.detach(),
            threat,
            steps=cfg.steps,
            step_size=cfg.alpha,
            generator=generator,
            random_start=cfg.random_start,
            early_stop=False,
            select="best" if cfg.use_best else "last",
        )
    return out.x_adv.detach()
