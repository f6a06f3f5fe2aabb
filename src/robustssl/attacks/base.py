"""The classifier-attack base: ``attack(x, y) -> x_adv`` with x in [0,1], ε in pixel units.

One small base class behind every attack (like torchattacks'): it checks inputs (the shared
:mod:`robustssl.attacks.checks`: labels, NaN/inf, dtype, empty batch, an L∞ ε ≥ 1), puts the model
in the stated mode for the attack and restores it, seeds a fresh generator per call (the same seed
and inputs give the same x_adv) and restricts work to the samples asked for.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod

import torch
from torch import Tensor, nn

from robustssl.attacks.checks import check_batch, check_eps
from robustssl.attacks.core import AttackOutput
from robustssl.attacks.mode import ModelMode, attack_mode
from robustssl.attacks.threat import ThreatModel, canonical_norm
from robustssl.utils import make_generator


class Attack(ABC):
    """Base of the classifier attacks. Subclasses implement :meth:`perturb`."""

    def __init__(
        self,
        model: nn.Module,
        norm: str = "Linf",
        eps: float = 8 / 255,
        seed: int = 0,
        model_mode: ModelMode = "eval",
        allow_large_eps: bool = False,
    ) -> None:
        self.model = model
        self.threat = ThreatModel(canonical_norm(norm), eps)
        self.allow_large_eps = allow_large_eps
        check_eps(self.threat.norm, self.threat.eps, allow_large_eps=allow_large_eps)
        self.seed = seed
        self.model_mode = model_mode
        self._classes: dict[int, int] = {}  # id(model) → classes; shared by copies (with_eps)
        make_generator(seed)  # validates the seed now rather than at the first call

    @property
    def norm(self) -> str:
        return self.threat.norm

    @property
    def eps(self) -> float:
        return self.threat.eps

    def with_eps(self, eps: float) -> Attack:
        """A copy attacking at another radius (for ε-sweeps)."""
        clone = copy.copy(self)
        clone.threat = self.threat.with_eps(eps)
        check_eps(clone.norm, clone.eps, allow_large_eps=self.allow_large_eps)
        return clone

    def check(self, x: Tensor, y: Tensor, active: Tensor | None = None) -> None:
        """The shared input checks (:func:`robustssl.attacks.checks.check_batch`), with the
        model's class count found once per model."""
        classes = self._classes.get(id(self.model))
        self._classes[id(self.model)] = check_batch(self.model, x, y, classes)
        if active is not None and (active.shape != y.shape or active.dtype != torch.bool):
            raise ValueError(f"active must be a bool mask of shape ({len(y)},)")

    def __call__(self, x: Tensor, y: Tensor) -> Tensor:
        return self.run(x, y).x_adv

    def run(
        self, x: Tensor, y: Tensor, active: Tensor | None = None, **options: Tensor
    ) -> AttackOutput:
        """Attack the samples in ``active`` (default: all); the others come back unchanged."""
        self.check(x, y, active)
        x = x.detach()
        with attack_mode(self.model, self.model_mode):
            out = self.perturb(x, y, make_generator(self.seed), active, **options)
        out.x_adv = out.x_adv.detach()
        return out

    @abstractmethod
    def perturb(
        self, x: Tensor, y: Tensor, generator: torch.Generator, active: Tensor | None
    ) -> AttackOutput:
        """x_adv for the active samples (the model is already in attack mode)."""

    def settings(self) -> dict[str, object]:
        """Every setting besides (norm, ε, seed) that changes this attack's numbers, as plain JSON
        values (results record them: :mod:`robustssl.evaluation.provenance`). Subclasses add
        theirs."""
        return {"attack": type(self).__name__, "model_mode": self.model_mode}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(norm={self.norm}, eps={self.eps:g}, seed={self.seed})"
