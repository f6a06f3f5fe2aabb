"""PGD (Madry et al. 2018; seed 000 §2.1, seed 003 eq. 5–6) and FGSM (Goodfellow et al. 2015) on a
classifier, as thin wrappers that build a loss closure for the PGD core."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from robustssl.attacks.base import Attack
from robustssl.attacks.core import AttackOutput, maximise
from robustssl.attacks.mode import ModelMode
from robustssl.attacks.objective import classifier_objective
from robustssl.attacks.step_size import pgd_step_size


class PGD(Attack):
    """Projected gradient ascent on CE (or DLR / margin) from a random start, with restarts.

    ``step_size`` defaults to 2.5·ε/steps (Madry et al.); ``early_stop`` stops a sample at its first
    misclassified iterate (never weaker than running on); ``select="last"`` returns the final
    iterate like torchattacks. Targeted: call :meth:`run_targeted` with target classes.
    """

    def __init__(
        self,
        model: nn.Module,
        norm: str = "Linf",
        eps: float = 8 / 255,
        steps: int = 10,
        step_size: float | None = None,
        random_start: bool = True,
        restarts: int = 1,
        loss: str = "ce",
        early_stop: bool = True,
        select: Literal["best", "last"] = "best",
        seed: int = 0,
        model_mode: ModelMode = "eval",
        allow_large_eps: bool = False,
    ) -> None:
        super().__init__(model, norm, eps, seed, model_mode, allow_large_eps)
        if steps < 1 or restarts < 1:
            raise ValueError(f"need steps ≥ 1 and restarts ≥ 1, got {steps}, {restarts}")
        if step_size is not None and step_size <= 0:
            raise ValueError(f"step_size must be > 0, got {step_size}")
        classifier_objective(model, loss, torch.zeros(1, dtype=torch.long))  # validates loss
        self.steps, self.restarts, self.loss = steps, restarts, loss
        self._step_size, self.random_start = step_size, random_start
        self.early_stop, self.select = early_stop, select
        self.init: Tensor | None = None  # a fixed first start δ₀ (for cross-checks)

    @property
    def step_size(self) -> float:
        if self._step_size is not None:
            return self._step_size
        return pgd_step_size(self.norm, self.eps, self.steps, "madry")

    def step_settings(self) -> dict[str, object]:
        """The step size as set: a fixed α, or the rule that gives α from (norm, ε, steps)."""
        if self._step_size is not None:
            return {"step_size": self._step_size}
        return {"step_size_rule": "madry"}

    def settings(self) -> dict[str, object]:
        return {
            **super().settings(),
            "steps": self.steps,
            **self.step_settings(),
            "restarts": self.restarts,
            "loss": self.loss,
            "random_start": self.random_start,
            "early_stop": self.early_stop,
            "select": self.select,
        }

    def run_targeted(
        self, x: Tensor, y: Tensor, target: Tensor, active: Tensor | None = None
    ) -> AttackOutput:
        """Towards ``target`` (B,) classes: maximise −CE(target) (or targeted DLR); success is
        reaching the target (with loss "ce") or any misclassification (with "dlr")."""
        if target.shape != y.shape or target.dtype != torch.long:
            raise ValueError(f"target must be a long tensor of shape ({len(y)},)")
        return self.run(x, y, active, target=target)

    def perturb(
        self,
        x: Tensor,
        y: Tensor,
        generator: torch.Generator,
        active: Tensor | None,
        target: Tensor | None = None,
    ) -> AttackOutput:
        objective = classifier_objective(self.model, self.loss, y, target)
        return maximise(
            objective,
            x,
            self.threat,
            steps=self.steps,
            step_size=self.step_size,
            generator=generator,
            random_start=self.random_start,
            restarts=self.restarts,
            init=self.init,
            early_stop=self.early_stop,
            select=self.select,
            active=active,
        )


class FGSM(PGD):
    """One signed-gradient step of size ε from x (L∞); in L2/L1 the steepest-ascent step."""

    def __init__(
        self,
        model: nn.Module,
        norm: str = "Linf",
        eps: float = 8 / 255,
        loss: str = "ce",
        seed: int = 0,
        model_mode: ModelMode = "eval",
        allow_large_eps: bool = False,
    ) -> None:
        super().__init__(
            model,
            norm,
            eps,
            steps=1,
            step_size=eps if eps > 0 else None,
            random_start=False,
            loss=loss,
            early_stop=False,
            select="last",
            seed=seed,
            model_mode=model_mode,
            allow_large_eps=allow_large_eps,
        )

    @property
    def step_size(self) -> float:
        return self.eps

    def settings(self) -> dict[str, object]:
        return {"attack": "FGSM", "model_mode": self.model_mode, "loss": self.loss}
