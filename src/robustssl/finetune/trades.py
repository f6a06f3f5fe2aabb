"""TRADES finetuning (``loss: trades``; Zhang et al. 2019 as ACL's ``trades.py`` runs it, the AFF
of ACL and of seed 001 Table 1's ACL rows; REFERENCE_FACTS.md): the attack is
:class:`robustssl.attacks.trades.TradesAttack` (PGD on the KL from a Gaussian start); the loss is
CE(f(x), y) + β·KL(p(x) ‖ p(x′)) with both forwards in train mode.
"""

from __future__ import annotations

from torch import Tensor, nn

from robustssl.attacks.trades import TradesAttack
from robustssl.finetune.loop import TrainBatch
from robustssl.objectives import trades_loss

__all__ = ["TradesAttack", "TradesLoss"]


class TradesLoss:
    """The training loss of one batch: (CE(f(x), y) + β·KL(p(x) ‖ p(x′)), logits at x′)."""

    def __init__(self, beta: float) -> None:
        self.beta = beta

    def __call__(self, model: nn.Module, batch: TrainBatch) -> tuple[Tensor, Tensor]:
        if batch.natural is None:
            raise ValueError("TRADES needs the natural batch next to the adversarial one")
        logits_natural = model(batch.natural)
        logits_adv = model(batch.x)
        return trades_loss(logits_natural, logits_adv, batch.y, self.beta), logits_adv
