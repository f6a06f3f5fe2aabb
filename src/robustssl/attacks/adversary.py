"""``AdversaryConfig``: the attack that makes a training batch adversarial — the one config type of
the adversary slot of pretraining methods (``method.adversary``) and of adversarial finetuning
(ALF / AFF / partial: ``adversary``).

PGD's step size α is ``step_size`` when given, else the ``step_size_rule`` of
:mod:`robustssl.attacks.step_size` (the one rule module, also used by evaluation's
``attacks.pgd.step_size_rule``). Each place keeps the defaults it always had, so configs, stage ids
and numbers do not change: finetuning 10 steps with rule ``auto`` (L∞ α = ε/4, seed 003 §4.2),
pretraining 5 steps with rule ``madry`` (α = 2.5·ε/steps; :class:`PretrainAdversaryConfig`).
``step_rule`` (the finetuning key before the rule had one name) is read as ``step_size_rule``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from robustssl.attacks.checks import check_eps
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
    (seed 000 §4.3: APGD-CE, 10 steps) sets its own step sizes and returns its best iterate."""

    attack: Literal["pgd", "apgd"] = "pgd"
    norm: Norm = "Linf"
    eps: float = Field(8 / 255, gt=0, allow_inf_nan=False)
    steps: int = Field(10, ge=1)
    step_size: float | None = Field(None, gt=0, allow_inf_nan=False)
    step_size_rule: StepRule = "auto"
    random_start: bool = True
    bn_mode: Literal["eval", "train"] = "eval"
    use_best: bool = False

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
        return self

    @property
    def alpha(self) -> float:
        """PGD's step size α: ``step_size``, or the ``step_size_rule``'s value."""
        if self.step_size is not None:
            return self.step_size
        return pgd_step_size(self.norm, self.eps, self.steps, self.step_size_rule)


class PretrainAdversaryConfig(AdversaryConfig):
    """The adversary slot of a pretraining method: PGD on the method's loss, by default 5 steps
    with α = 2.5·ε/steps (rule ``madry``, Madry et al.) as pretraining always had."""

    steps: int = Field(5, ge=1)
    step_size_rule: StepRule = "madry"

    @model_validator(mode="after")
    def _pgd_only(self) -> PretrainAdversaryConfig:
        if self.attack != "pgd":
            raise ValueError(
                "a pretraining adversary runs PGD on the method's loss; attack=apgd is for "
                "finetuning (ALF / AFF) only: remove method.adversary.attack"
            )
        return self
