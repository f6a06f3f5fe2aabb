"""``AdversaryConfig``: the attack that makes a training batch adversarial — the one config type of
the adversary slot of pretraining methods (``method.adversary``) and of adversarial finetuning
(ALF / AFF / partial: ``adversary``).

PGD's step size α is ``step_size`` when given, else the ``step_size_rule`` of
:mod:`robustssl.attacks.step_size` (the one rule module, also used by evaluation's
``attacks.pgd.step_size_rule``). Each place keeps the defaults it always had, so configs, stage ids
and numbers do not change: finetuning 10 steps with rule ``auto`` (L∞ α = ε/4, seed 003 §4.2),
pretraining 5 steps with rule ``madry`` (α = 2.5·ε/steps; :class:`PretrainAdversaryConfig`).
``step_rule`` (the finetuning key before the rule had one name) is read as ``step_size_rule``.

``attack: fgsm_rs | n_fgsm`` puts a single-step adversary in the slot
(:mod:`robustssl.attacks.single_step`: one random start in the ``noise``·ε ball, one step of α,
an optional projection onto the ``clip``·ε ball; the papers' defaults when the knobs are not
given). Its α is ``step_size`` when given, else the attack's own default (FGSM-RS 1.25·ε, N-FGSM
ε), never the PGD step rule; it takes one step (``steps`` is 1).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from robustssl.attacks.checks import check_eps
from robustssl.attacks.single_step import (
    SINGLE_STEP_DEFAULTS,
    SINGLE_STEP_KINDS,
    SingleStep,
    single_step,
)
from robustssl.attacks.step_size import StepRule, pgd_step_size
from robustssl.attacks.threat import Norm, canonical_norm
from robustssl.utils.config import StrictConfig, parse_fraction

LEGACY_RULE_KEY = "step_rule"


class AdversaryConfig(StrictConfig):
    """PGD (or APGD-CE) inside training: ``norm``, ``eps`` (pixel units, ``8/255`` accepted),
    ``steps``, α (``step_size`` or ``step_size_rule``), ``random_start``, the model mode during the
    attack (``bn_mode``), and ``use_best``: train on each sample's iterate (start included) with
    the highest loss, the MadryLab robustness library's default (``use_best=1`` in its
    ``defaults.py``), instead of the last iterate (the other references). ``attack: apgd``
    (seed 000 §4.3: APGD-CE, 10 steps) sets its own step sizes and returns its best iterate.
    ``attack: fgsm_rs | n_fgsm``: a single-step adversary (module docstring) with its knobs
    ``noise`` (start radius, × ε; default 1 for FGSM-RS, 2 for N-FGSM), ``clip`` (projection
    radius × ε; null = no projection; default 1 for FGSM-RS, none for N-FGSM) and α =
    ``step_size`` (default 1.25·ε for FGSM-RS, ε for N-FGSM)."""

    attack: Literal["pgd", "apgd", "fgsm_rs", "n_fgsm"] = "pgd"
    norm: Norm = "Linf"
    eps: float = Field(8 / 255, gt=0, allow_inf_nan=False)
    steps: int = Field(10, ge=1)
    step_size: float | None = Field(None, gt=0, allow_inf_nan=False)
    step_size_rule: StepRule = "auto"
    random_start: bool = True
    bn_mode: Literal["eval", "train"] = "eval"
    use_best: bool = False
    noise: float | None = Field(None, ge=0, allow_inf_nan=False)
    clip: float | Literal["default"] | None = "default"

    _fractions = field_validator("eps", "step_size", mode="before")(parse_fraction)

    @model_validator(mode="before")
    @classmethod
    def _legacy_rule_key(cls, data: Any) -> Any:
        """``step_rule`` (the old finetuning key) is ``step_size_rule``; both at once: an error."""
        if not isinstance(data, dict) or LEGACY_RULE_KEY not in data:
            return data
        if "step_size_rule" in data:
            raise ValueError(
                "give the step-size rule once: step_rule is the old name of step_size_rule; "
                "remove step_rule"
            )
        data = dict(data)
        data["step_size_rule"] = data.pop(LEGACY_RULE_KEY)
        return data

    @model_validator(mode="before")
    @classmethod
    def _one_step(cls, data: Any) -> Any:
        """A single-step attack takes one step: ``steps`` is 1 (an error when set otherwise)."""
        if not isinstance(data, dict) or data.get("attack") not in SINGLE_STEP_KINDS:
            return data
        if data.get("steps", 1) != 1:
            raise ValueError(
                f"attack={data['attack']} takes one step; set steps=1 (or remove steps), or use "
                f"attack=pgd for steps={data['steps']}"
            )
        return {**data, "steps": 1}

    @field_validator("clip")
    @classmethod
    def _clip(cls, v: Any) -> Any:
        if isinstance(v, float) and not 0 < v < float("inf"):
            raise ValueError(f"clip must be > 0 (a multiple of eps) or null, got {v}")
        return v

    @field_validator("norm", mode="before")
    @classmethod
    def _norm(cls, v: Any) -> Any:
        return canonical_norm(v) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _sensible(self) -> AdversaryConfig:
        check_eps(self.norm, self.eps, name="eps", config=True)
        if self.attack == "apgd":
            if self.norm == "L1":
                raise ValueError("APGD trains only for norm Linf or L2; use attack=pgd for L1")
            if self.step_size is not None:
                raise ValueError(
                    "APGD sets its own step sizes (η₀ = 2ε); remove adversary.step_size"
                )
            if self.use_best:
                raise ValueError(
                    "APGD always returns its best iterate; remove adversary.use_best or use "
                    "attack=pgd"
                )
        if self.attack in SINGLE_STEP_KINDS:
            self._check_single_step()
        elif self.noise is not None or self.clip != "default":
            raise ValueError(
                f"noise and clip are knobs of the single-step attacks; remove them for "
                f"attack={self.attack}, or use attack=fgsm_rs or attack=n_fgsm"
            )
        return self

    def _check_single_step(self) -> None:
        if self.norm == "L1":
            raise ValueError(
                f"attack={self.attack} supports norm Linf or L2, not L1; use attack=pgd for L1"
            )
        if self.use_best:
            raise ValueError(f"attack={self.attack} has one iterate; remove use_best")
        if not self.random_start:
            raise ValueError(
                f"attack={self.attack} starts from a random point; for a start at x (plain FGSM) "
                "set noise=0 instead of random_start=false"
            )

    @property
    def single_step_attack(self) -> bool:
        """True for ``attack: fgsm_rs | n_fgsm``."""
        return self.attack in SINGLE_STEP_KINDS

    def single_step(self) -> SingleStep:
        """The validated single-step adversary of this config (``attack: fgsm_rs | n_fgsm``)."""
        if not self.single_step_attack:
            raise ValueError(f"attack={self.attack} is not a single-step attack")
        return single_step(
            self.attack,
            self.norm,
            self.eps,
            step=self.alpha / self.eps,
            noise=self.noise,
            clip=self.clip,
        )

    @property
    def alpha(self) -> float:
        """The step size α: ``step_size``, or the ``step_size_rule``'s value (PGD), or the
        single-step attack's default multiple of ε."""
        if self.step_size is not None:
            return self.step_size
        if self.attack in SINGLE_STEP_KINDS:
            return SINGLE_STEP_DEFAULTS[self.attack][1] * self.eps
        return pgd_step_size(self.norm, self.eps, self.steps, self.step_size_rule)


class PretrainAdversaryConfig(AdversaryConfig):
    """The adversary slot of a pretraining method: PGD on the method's loss, by default 5 steps
    with α = 2.5·ε/steps (rule ``madry``, Madry et al.) as pretraining always had, or a
    single-step adversary (``attack: fgsm_rs | n_fgsm``)."""

    steps: int = Field(5, ge=1)
    step_size_rule: StepRule = "madry"

    @model_validator(mode="after")
    def _no_apgd(self) -> PretrainAdversaryConfig:
        if self.attack == "apgd":
            raise ValueError(
                "a pretraining adversary runs PGD or a single-step attack on the method's loss; "
                "attack=apgd is for finetuning (ALF / AFF) only: use attack=pgd, fgsm_rs or n_fgsm"
            )
        return self
