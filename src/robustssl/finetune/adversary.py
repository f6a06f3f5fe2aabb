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

from torch import Tensor, nn

from robustssl.attacks import APGD, FGSMRS, NFGSM, PGD, Attack
from robustssl.attacks.adversary import AdversaryConfig
from robustssl.finetune.config import LossConfig
from robustssl.finetune.trades import TradesAttack
from robustssl.utils import mix_seed

_ATTACK_STREAM = 0xA77AC  # separates attack seeds from the other per-step random streams


def build_attack(model: nn.Module, cfg: AdversaryConfig, loss: LossConfig | None = None) -> Attack:
    """The configured attack on ``model`` (eps, steps and BN mode from ``cfg``; TRADES' when the
    training ``loss`` is trades)."""
    if loss is not None and loss.name == "trades":
        return TradesAttack(
            model,
            cfg.norm,
            cfg.eps,
            steps=cfg.steps,
            step_size=cfg.alpha,
            start_std=loss.start_std,
            model_mode=cfg.bn_mode,
        )
    if cfg.single_step_attack:
        adversary = cfg.single_step()
        kind = FGSMRS if cfg.attack == "fgsm_rs" else NFGSM
        return kind(
            model,
            cfg.norm,
            cfg.eps,
            step=adversary.step,
            noise=adversary.noise,
            clip=adversary.clip,
            model_mode=cfg.bn_mode,
        )
    if cfg.attack == "apgd":
        return APGD(model, cfg.norm, cfg.eps, steps=cfg.steps, loss="ce", model_mode=cfg.bn_mode)
    return PGD(
        model,
        cfg.norm,
        cfg.eps,
        steps=cfg.steps,
        step_size=cfg.alpha,
        random_start=cfg.random_start,
        early_stop=False,
        select="best" if cfg.use_best else "last",
        model_mode=cfg.bn_mode,
    )


def adversarial_batch(
    attack: Attack, x: Tensor, y: Tensor, seed: int, epoch: int, step: int
) -> Tensor:
    """x_adv for one training batch, seeded by (seed, epoch, step)."""
    attack.seed = mix_seed(seed, epoch, step, _ATTACK_STREAM)
    return attack(x, y)
