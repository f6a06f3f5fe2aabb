"""One builder for every attack by name, used by the evaluation suite (its ``attacks:``) and by
training (finetuning's adversary): ``build_attack(name, model, norm, eps, **options)``.

PGD's step size is a fixed ``step_size`` or, when that is None, a rule of (norm, ε, steps)
(:mod:`robustssl.attacks.step_size`; :class:`RulePGD`), so ε-sweeps rescale it.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from robustssl.attacks.apgd import APGD
from robustssl.attacks.base import Attack
from robustssl.attacks.fab import FAB
from robustssl.attacks.mode import ModelMode
from robustssl.attacks.pgd import FGSM, PGD
from robustssl.attacks.single_step import FGSMRS, NFGSM
from robustssl.attacks.square import Square
from robustssl.attacks.step_size import pgd_step_size
from robustssl.attacks.trades import TradesAttack

ATTACK_BUILDERS = (
    "fgsm",
    "fgsm_rs",
    "n_fgsm",
    "pgd",
    "apgd-ce",
    "apgd-dlr",
    "apgd-t",
    "fab-t",
    "square",
    "trades",
)


class RulePGD(PGD):
    """PGD whose step size follows a rule of (norm, ε, steps), so ε-sweeps rescale it."""

    def __init__(self, model: nn.Module, norm: str, eps: float, rule: str, **kw: Any) -> None:
        super().__init__(model, norm, eps, **kw)
        pgd_step_size(self.norm, self.eps, self.steps, rule)  # validates the rule now
        self.rule = rule

    @property
    def step_size(self) -> float:
        if self._step_size is not None:
            return self._step_size
        return pgd_step_size(self.norm, self.eps, self.steps, self.rule)

    def step_settings(self) -> dict[str, object]:
        if self._step_size is not None:
            return {"step_size": self._step_size}
        return {"step_size_rule": self.rule}


def build_attack(
    name: str,
    model: nn.Module,
    norm: str,
    eps: float,
    *,
    seed: int = 0,
    model_mode: ModelMode = "eval",
    **options: Any,
) -> Attack:
    """Attack ``name`` (one of :data:`ATTACK_BUILDERS`) on ``model`` at (norm, ε); ``options``
    go to its class: PGD ``steps``, ``step_size`` (None: ``step_size_rule``, default auto),
    ``restarts``, ``loss``, ``random_start``, ``early_stop``, ``select``; APGD ``steps``,
    ``n_restarts``; Square ``n_queries``; TRADES ``steps``, ``step_size``, ``start_std``;
    FGSM-RS / N-FGSM ``step``, ``noise``, ``clip`` (robustssl.attacks.single_step)."""
    common: dict[str, Any] = {"seed": seed, "model_mode": model_mode}
    if name == "fgsm":
        return FGSM(model, norm, eps, **common, **options)
    if name in ("fgsm_rs", "n_fgsm"):
        return (FGSMRS if name == "fgsm_rs" else NFGSM)(model, norm, eps, **common, **options)
    if name == "pgd":
        rule = options.pop("step_size_rule", "auto")
        return RulePGD(model, norm, eps, rule, **common, **options)
    if name.startswith("apgd-") and name in ATTACK_BUILDERS:
        loss, targeted = ("ce", False) if name == "apgd-ce" else ("dlr", name == "apgd-t")
        return APGD(model, norm, eps, loss=loss, targeted=targeted, **common, **options)
    if name == "fab-t":
        return FAB(model, norm, eps, targeted=True, **common, **options)
    if name == "square":
        return Square(model, norm, eps, **common, **options)
    if name == "trades":
        return TradesAttack(model, norm, eps, **common, **options)
    raise ValueError(f"unknown attack {name!r}; known: {', '.join(ATTACK_BUILDERS)}")
