"""PGD step-size rules — the one owner, shared by training (``adversary.step_size_rule`` of
:class:`robustssl.attacks.adversary.AdversaryConfig`, pretraining and finetuning) and evaluation
(``attacks.pgd.step_size_rule``); records name the rule under the same key.

- ``seed003`` — seed 003 §4.2 as written: L∞ α = ε/4 (2/255 at ε = 8/255, also AdvCL's PGD-20),
  L2 α = ε²/#steps (citing the supplement of its ref. [24]).
- ``madry`` — α = 2.5·ε/#steps (Madry et al. 2018).
- ``auto`` (the default) — L∞ as seed 003, L2 as Madry. The literal L2 rule moves ε² in total,
  less than the radius when ε < 1 (0.25 at ε = 0.5), which weakens the attack and so overstates
  robustness; at ε = 1 the two L2 rules move ε and 2.5ε.
"""

from __future__ import annotations

from typing import Literal

StepRule = Literal["auto", "seed003", "madry"]
STEP_RULES: tuple[str, ...] = ("auto", "seed003", "madry")


def pgd_step_size(norm: str, eps: float, steps: int, rule: str = "auto") -> float:
    """The PGD step size α for ``norm``, ``eps`` and ``steps`` under ``rule`` (see module doc)."""
    if rule not in STEP_RULES:
        raise ValueError(f"step-size rule must be one of {', '.join(STEP_RULES)}, got {rule!r}")
    if steps < 1:
        raise ValueError(f"steps must be ≥ 1, got {steps}")
    if rule == "madry" or (rule == "auto" and norm != "Linf"):
        return 2.5 * eps / steps
    return eps / 4 if norm == "Linf" else eps**2 / steps


def step_rule_text(norm: str | None, steps: object, rule: str = "auto") -> str:
    """α under ``rule`` in units of ε, as reports print it (``α=ε/4``, ``α=2.5ε/20``)."""
    if rule == "madry" or (rule == "auto" and norm != "Linf"):
        return f"α=2.5ε/{steps}"
    return "α=ε/4" if norm == "Linf" else f"α=ε²/{steps}"
