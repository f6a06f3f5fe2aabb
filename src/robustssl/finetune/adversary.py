"""The training-time attack of ALF / AFF / adversarial partial finetuning.

With ``loss: trades`` the attack is TRADES' (robustssl.finetune.trades): PGD on the KL from a
Gaussian start.

PGD (Madry et al.; seed 003 §4.2: 10 steps for training, L∞ α = 2/255 at ε = 8/255) runs all its
steps from a random start and returns the last iterate (early stopping would weaken training), or
with ``adversary.use_best`` each sample's highest-loss iterate (the MadryLab robustness library);
APGD-CE (seed 000 §4.3: 10 iterations to train the readout) returns its best adversarial iterate.
FGSM-RS / N-FGSM (``attack: fgsm_rs | n_fgsm``, robustssl.attacks.single_step) take one step.
The attack goes through the whole classifier (encoder + head); frozen parts stay frozen. Each
batch gets its own seed from (run seed, epoch, step), so a resumed run repeats the same attacks.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from robustssl.attacks import Attack
from robustssl.attacks.adversary import AdversaryConfig
from robustssl.attacks.build import build_attack
from robustssl.finetune.config import LossConfig
from robustssl.utils import mix_seed

_ATTACK_STREAM = 0xA77AC  # separates attack seeds from the other per-step random streams


def training_attack(
    model: nn.Module, cfg: AdversaryConfig, loss: LossConfig | None = None
) -> Attack:
    """The configured attack on ``model`` (eps, steps and BN mode from ``cfg``; TRADES' when the
    training ``loss`` is trades), from the one builder
    :func:`robustssl.attacks.build.build_attack`."""
    common: dict[str, Any] = {"model_mode": cfg.bn_mode, "steps": cfg.steps}
    if loss is not None and loss.name == "trades":
        options: dict[str, Any] = {"step_size": cfg.alpha, "start_std": loss.start_std}
        return build_attack("trades", model, cfg.norm, cfg.eps, **common, **options)
    if cfg.single_step_attack:
        adversary = cfg.single_step()
        knobs: dict[str, Any] = {
            "step": adversary.step,
            "noise": adversary.noise,
            "clip": adversary.clip,
        }
        return build_attack(cfg.attack, model, cfg.norm, cfg.eps, model_mode=cfg.bn_mode, **knobs)
    if cfg.attack == "apgd":
        return build_attack("apgd-ce", model, cfg.norm, cfg.eps, **common)
    return build_attack(
        "pgd",
        model,
        cfg.norm,
        cfg.eps,
        step_size=cfg.alpha,
        random_start=cfg.random_start,
        early_stop=False,
        select="best" if cfg.use_best else "last",
        **common,
    )


def adversarial_batch(
    attack: Attack, x: Tensor, y: Tensor, seed: int, epoch: int, step: int
) -> Tensor:
    """x_adv for one training batch, seeded by (seed, epoch, step)."""
    attack.seed = mix_seed(seed, epoch, step, _ATTACK_STREAM)
    return attack(x, y)
