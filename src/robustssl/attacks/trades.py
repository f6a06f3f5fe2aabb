"""TRADES' attack (Zhang et al. 2019, as ACL's ``trades.py`` runs it; REFERENCE_FACTS.md): PGD on
the per-sample KL(p(x) ‖ p(x′)) (:func:`robustssl.objectives.trades_kl`), p(x) computed once with
the model in the attack's mode (ACL: eval), starting at x + σ·N(0, 1) with σ = 0.001 (at x′ = x
the KL is at its minimum and its gradient is 0, hence the noise), all steps, last iterate. The
Gaussian start is projected into the box [0, 1] here; ACL's code clamps only after the first step
(a ≤ 0.001 difference at the first gradient, at saturated pixels only). Its training loss:
``robustssl.finetune.trades.TradesLoss``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from robustssl.attacks.base import Attack
from robustssl.attacks.core import AttackOutput, maximise
from robustssl.attacks.mode import ModelMode
from robustssl.attacks.objective import SampleObjective
from robustssl.objectives import trades_kl


class TradesAttack(Attack):
    """x′ maximising KL(p(x) ‖ p(x′)) over the threat model (``attack(x, y)``; y is unused)."""

    def __init__(
        self,
        model: nn.Module,
        norm: str = "Linf",
        eps: float = 8 / 255,
        *,
        steps: int = 10,
        step_size: float = 2 / 255,
        start_std: float = 0.001,
        seed: int = 0,
        model_mode: ModelMode = "eval",
    ) -> None:
        super().__init__(model, norm, eps, seed, model_mode)
        if steps < 1 or step_size <= 0 or start_std < 0:
            raise ValueError(
                f"need steps ≥ 1, step_size > 0 and start_std ≥ 0, got {steps}, {step_size}, "
                f"{start_std}"
            )
        self.steps, self.step_size, self.start_std = steps, step_size, start_std

    def perturb(
        self, x: Tensor, y: Tensor, generator: torch.Generator, active: Tensor | None
    ) -> AttackOutput:
        with torch.no_grad():
            natural = self.model(x)

        def kl(x_adv: Tensor, logits_natural: Tensor) -> Tensor:
            return trades_kl(logits_natural, self.model(x_adv), reduction="none")

        noise = torch.randn(x.shape, generator=generator).to(x.device, x.dtype)
        return maximise(
            SampleObjective(kl, (natural,)),
            x,
            self.threat,
            steps=self.steps,
            step_size=self.step_size,
            generator=generator,
            random_start=False,
            init=self.start_std * noise,
            early_stop=False,
            select="last",
            active=active,
        )
