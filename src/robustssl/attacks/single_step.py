"""Single-step adversaries for fast adversarial training: FGSM with a random start (FGSM-RS) and
N-FGSM, on any per-sample objective (the same closures the PGD core maximises).

Both are one member of a family: a random start in the ball of radius ``noise``·ε, one
steepest-ascent step of ``step_size`` (the sign of the gradient in L∞, the normalised gradient in
L2), then optionally a projection onto the ball of radius ``clip``·ε; the result always stays in
the image box [0,1].

- **FGSM-RS** (Wong, Rice & Kolter 2020, "Fast is better than free"): noise 1, step 1.25·ε,
  clip 1. Reference code locuslab/fast_adversarial ``CIFAR10/train_fgsm.py``: ε = 8/255 and
  α = 10/255 (L30–31, ``--epsilon 8 --alpha 10``); the start is uniform in [−ε, ε] per pixel and
  clamped into the image box (L105–110); one signed step, clipped to [−ε, ε] and into the box
  (L116–118). ``MNIST/train_mnist.py``: ε = 0.3, α = 0.375 = 1.25·ε (L28–29).
- **N-FGSM** (de Jorge et al. 2022, "Make some noise"): noise 2, step ε, no clip, so the
  perturbation lives in the (noise·ε + step)-ball, 3ε by default. Reference code pdejorge/N-FGSM
  ``train.py``: ``--unif 2.0`` (noise U(−kε, kε), L51–56), ``--alpha 8`` = ε (L50), ``--clip -1``
  (no clipping; a positive value clips to ±clip·ε, L57–62); the noise is clamped into the box
  (L216–221), the step is δ = η + α·sign(∇) and clamped into the box (L229–233).
  ``experiments.sh`` uses α = ε for every ε and k = 2 except SVHN ε = 12/255 (k = 3) and
  WideResNet CIFAR-10 ε = 16/255 (k = 4).

The start is drawn for the whole batch on the CPU from the generator (ARCHITECTURE.md), so a
sample's perturbation does not depend on which others are attacked. L1 is refused: its sparse
steepest-ascent step has no single-step recipe in either paper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from robustssl.attacks.base import Attack
from robustssl.attacks.checks import check_eps
from robustssl.attacks.core import AttackOutput, Objective, loss_at
from robustssl.attacks.mode import ModelMode
from robustssl.attacks.objective import SampleObjective, classifier_objective
from robustssl.attacks.threat import ThreatModel, canonical_norm

SingleStepKind = Literal["fgsm_rs", "n_fgsm"]
SINGLE_STEP_KINDS: tuple[str, ...] = ("fgsm_rs", "n_fgsm")
# (noise, step, clip) as multiples of ε: the papers' defaults (module docstring)
SINGLE_STEP_DEFAULTS: dict[str, tuple[float, float, float | None]] = {
    "fgsm_rs": (1.0, 1.25, 1.0),
    "n_fgsm": (2.0, 1.0, None),
}


def _check_multiple(name: str, value: float, *, allow_zero: bool) -> None:
    ok = isinstance(value, (int, float)) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        bound = "≥ 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound} (a multiple of ε), got {value!r}")


@dataclass(frozen=True)
class SingleStep:
    """One random start + one ascent step (+ optional projection), validated once.

    ``noise``, ``clip`` and ``step`` are multiples of ``threat.eps``; ``clip=None`` keeps the
    perturbation unprojected (N-FGSM). Build it with :func:`single_step`.
    """

    kind: SingleStepKind
    threat: ThreatModel
    noise: float
    step: float
    clip: float | None

    def __post_init__(self) -> None:
        if self.kind not in SINGLE_STEP_DEFAULTS:
            raise ValueError(
                f"kind must be one of {', '.join(SINGLE_STEP_KINDS)}, got {self.kind!r}"
            )
        if self.threat.norm == "L1":
            raise ValueError("single-step adversaries support norm Linf or L2, not L1")
        if self.threat.eps == 0:
            raise ValueError(
                "eps must be > 0 for a single-step adversary (pixel units, e.g. 8/255)"
            )
        _check_multiple("noise", self.noise, allow_zero=True)
        _check_multiple("step", self.step, allow_zero=False)
        if self.clip is not None:
            _check_multiple("clip", self.clip, allow_zero=False)

    @property
    def step_size(self) -> float:
        """α in pixel units."""
        return self.step * self.threat.eps

    @property
    def radius(self) -> float:
        """The largest ‖x_adv − x‖ this adversary can return (in its norm, pixel units)."""
        if self.clip is not None:
            return self.clip * self.threat.eps
        return (self.noise + self.step) * self.threat.eps

    def settings(self) -> dict[str, object]:
        """The settings that change x_adv, as plain JSON values (for records)."""
        return {"kind": self.kind, "noise": self.noise, "step": self.step, "clip": self.clip}

    def start(self, x: Tensor, generator: torch.Generator) -> Tensor:
        """The random start: uniform in the (noise·ε)-ball around x, clamped into [0,1]."""
        if self.noise == 0:
            return x.clone()
        return self.threat.with_eps(self.noise * self.threat.eps).random_start(x, generator)

    def perturb(
        self,
        objective: Objective,
        x: Tensor,
        generator: torch.Generator,
        active: Tensor | None = None,
    ) -> Tensor:
        """x_adv for ``objective`` (per-sample losses (B,), ascended): one forward and one
        backward. ``active`` (B,) bool attacks a subset (needs a :class:`SampleObjective`); the
        other samples come back unchanged."""
        x = x.detach()
        start = self.start(x, generator)  # whole batch: sample-independent draws
        if active is None or bool(active.all()):
            return self._step(objective, x, start)
        if not isinstance(objective, SampleObjective):
            raise ValueError(
                "attacking a subset needs a SampleObjective (bind the per-sample tensors)"
            )
        idx = active.nonzero()[:, 0]
        out = x.clone()
        if len(idx):
            out[idx] = self._step(objective.subset(idx), x[idx], start[idx])
        return out

    def _step(self, objective: Objective, x: Tensor, start: Tensor) -> Tensor:
        _, _, grad = loss_at(objective, start, need_grad=True)
        assert grad is not None
        moved = start + self.threat.ascent(grad, self.step_size)
        if self.clip is None:
            return moved.clamp(0.0, 1.0)
        return self.threat.with_eps(self.clip * self.threat.eps).project(moved, x)


def single_step(
    kind: str,
    norm: str = "Linf",
    eps: float = 8 / 255,
    *,
    step: float | None = None,
    noise: float | None = None,
    clip: float | Literal["default"] | None = "default",
    allow_large_eps: bool = False,
) -> SingleStep:
    """A validated :class:`SingleStep`. ``kind``: "fgsm_rs" (defaults noise 1, step 1.25, clip 1)
    or "n_fgsm" (noise 2, step 1, no clip); ``step``, ``noise`` and ``clip`` (None = no
    projection) override them, as multiples of ε. ε is in pixel units (8/255, not 8)."""
    if kind not in SINGLE_STEP_DEFAULTS:
        raise ValueError(f"kind must be one of {', '.join(SINGLE_STEP_KINDS)}, got {kind!r}")
    threat = ThreatModel(canonical_norm(norm), eps)
    check_eps(threat.norm, threat.eps, allow_large_eps=allow_large_eps)
    d_noise, d_step, d_clip = SINGLE_STEP_DEFAULTS[kind]
    return SingleStep(
        kind,  # type: ignore[arg-type]
        threat,
        d_noise if noise is None else noise,
        d_step if step is None else step,
        d_clip if clip == "default" else clip,
    )


class _SingleStepClassifierAttack(Attack):
    """A single-step adversary on a classifier's cross-entropy (for finetuning and checks)."""

    kind: SingleStepKind
    label: str

    def __init__(
        self,
        model: nn.Module,
        norm: str = "Linf",
        eps: float = 8 / 255,
        *,
        step: float | None = None,
        noise: float | None = None,
        clip: float | Literal["default"] | None = "default",
        seed: int = 0,
        model_mode: ModelMode = "eval",
        allow_large_eps: bool = False,
    ) -> None:
        super().__init__(model, norm, eps, seed, model_mode, allow_large_eps)
        self.adversary = single_step(
            self.kind, norm, eps, step=step, noise=noise, clip=clip, allow_large_eps=allow_large_eps
        )

    def perturb(
        self, x: Tensor, y: Tensor, generator: torch.Generator, active: Tensor | None
    ) -> AttackOutput:
        adversary = SingleStep(
            self.kind, self.threat, self.adversary.noise, self.adversary.step, self.adversary.clip
        )  # follows with_eps
        objective = classifier_objective(self.model, "ce", y)
        x_adv = adversary.perturb(objective, x, generator, active)
        loss, success, _ = loss_at(objective, x_adv, need_grad=False)
        assert success is not None
        if active is not None:
            success = success & active
        return AttackOutput(x_adv, success, loss)

    def settings(self) -> dict[str, object]:
        return {
            "attack": self.label,
            "model_mode": self.model_mode,
            "loss": "ce",
            **{k: v for k, v in self.adversary.settings().items() if k != "kind"},
        }


class FGSMRS(_SingleStepClassifierAttack):
    """FGSM with a random start (Wong et al. 2020): uniform start in the ε-ball, one signed step
    of 1.25·ε, projection onto the ε-ball ∩ [0,1] (module docstring for the reference code)."""

    kind = "fgsm_rs"
    label = "FGSM-RS"


class NFGSM(_SingleStepClassifierAttack):
    """N-FGSM (de Jorge et al. 2022): uniform noise in the 2ε-ball, one signed step of ε, no
    projection (the result lies in the 3ε-ball ∩ [0,1]); ``clip`` projects onto clip·ε."""

    kind = "n_fgsm"
    label = "N-FGSM"
