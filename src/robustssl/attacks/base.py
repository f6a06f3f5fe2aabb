"""The classifier-attack base: ``attack(x, y) -> x_adv`` with x in [0,1], ε in pixel units.

One small base class behind every attack (like torchattacks'): it checks inputs, puts the model in
the stated mode for the attack and restores it, seeds a fresh generator per call (the same seed and
inputs give the same x_adv) and restricts work to the samples asked for.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod

import torch
from torch import Tensor, nn

from robustssl.attacks.core import AttackOutput
from robustssl.attacks.mode import ModelMode, attack_mode
from robustssl.attacks.threat import ThreatModel
from robustssl.utils import make_generator


def check_inputs(x: Tensor, y: Tensor) -> None:
    """Clear errors for the usual mistakes, before any compute."""
    if not isinstance(x, Tensor) or x.dim() < 2 or not x.is_floating_point():
        raise ValueError("x must be a float tensor of shape (B, C, H, W) (or (B, d)) in [0, 1]")
    if not isinstance(y, Tensor) or y.shape != x.shape[:1] or y.dtype != torch.long:
        raise ValueError(
            f"y must be a long tensor of shape ({len(x)},), got "
            f"{getattr(y, 'dtype', type(y).__name__)} of shape {tuple(getattr(y, 'shape', ()))}"
        )
    if y.device != x.device:
        raise ValueError(f"x is on {x.device} but y on {y.device}; move both to one device")
    if x.numel() and (float(x.min()) < 0.0 or float(x.max()) > 1.0):
        raise ValueError(
            "x must be in [0, 1]: attacks work in pixel space; put normalisation inside the model "
            "(robustssl.models.Normalize)"
        )


class Attack(ABC):
    """Base of the classifier attacks. Subclasses implement :meth:`perturb`."""

    def __init__(
        self,
        model: nn.Module,
        norm: str = "Linf",
        eps: float = 8 / 255,
        seed: int = 0,
        model_mode: ModelMode = "eval",
    ) -> None:
        self.model = model
        self.threat = ThreatModel(norm, eps)  # type: ignore[arg-type]
        self.seed = seed
        self.model_mode = model_mode
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
        return clone

    def __call__(self, x: Tensor, y: Tensor) -> Tensor:
        return self.run(x, y).x_adv

    def run(
        self, x: Tensor, y: Tensor, active: Tensor | None = None, **options: Tensor
    ) -> AttackOutput:
        """Attack the samples in ``active`` (default: all); the others come back unchanged."""
        check_inputs(x, y)
        if active is not None and (active.shape != y.shape or active.dtype != torch.bool):
            raise ValueError(f"active must be a bool mask of shape ({len(y)},)")
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

    def __repr__(self) -> str:
        return f"{type(self).__name__}(norm={self.norm}, eps={self.eps:g}, seed={self.seed})"
