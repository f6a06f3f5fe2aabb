"""Robust accuracy against ε: sweeps with survivor pruning, and curves from minimum-norm radii.

A sweep attacks, at each ε in ascending order, only the points still robust at the previous ε
(as AutoAttack attacks only the points still robust after the previous attack); a point broken at
ε₁ counts as broken at every larger ε. Since every attack here draws its random numbers for the
whole batch, a sample's attack at ε is the same whether or not other samples are attacked, so the
sweep is never above independent per-ε runs of the same attack and costs less. A minimum-norm
attack (PLB) gives each point's radius once; the accuracy at ε is then the share of radii above ε
(seed 004 Figure 2 plots one minus this).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor, nn

from robustssl.attacks.base import Attack
from robustssl.attacks.checks import check_batch, check_eps
from robustssl.attacks.mode import clean_correct
from robustssl.utils.progress import tqdm


class RadiusAttack(Protocol):
    """A minimum-norm attack: ``radii(x, y) -> (B,)`` smallest adversarial ‖δ‖ found."""

    @property
    def norm(self) -> str: ...

    def radii(self, x: Tensor, y: Tensor, active: Tensor | None = None) -> Tensor: ...


@dataclass
class RobustnessCurve:
    """Accuracy at each ε (ascending), the per-point robust masks (len(eps), n) behind it, the
    number of points, the attack's name and its norm."""

    eps: list[float]
    accuracy: list[float]
    robust: Tensor
    n: int
    attack: str
    norm: str

    def as_records(self) -> list[dict[str, float | int | str]]:
        """One dict per ε: attack, norm, eps, accuracy, n (e.g. for a results table)."""
        return [
            {"attack": self.attack, "norm": self.norm, "eps": e, "accuracy": a, "n": self.n}
            for e, a in zip(self.eps, self.accuracy, strict=True)
        ]


def _sorted_eps(eps_list: Sequence[float]) -> list[float]:
    eps = [float(e) for e in eps_list]
    if not eps or any(not math.isfinite(e) or e < 0 for e in eps):
        raise ValueError(f"eps_list must be a non-empty list of finite ε ≥ 0, got {eps_list!r}")
    return sorted(eps)


def _curve(robust: Tensor, eps: list[float], attack: str, norm: str) -> RobustnessCurve:
    n = robust.shape[1]
    accuracy = robust.double().mean(1).tolist()
    return RobustnessCurve(eps, accuracy, robust, n, attack, norm)


def robust_accuracy_curve(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    attack: Attack,
    eps_list: Sequence[float],
    progress: bool = True,
) -> RobustnessCurve:
    """Robust accuracy of ``model`` under ``attack`` at each ε, returned sorted ascending.

    Clean correctness first (ε = 0 rows are the clean accuracy; no attack is run there); then, at
    each ε, ``attack.with_eps(ε).run(x, y, active=survivors)`` on the points still robust. A point
    counts as broken when the attack reports success (the attack's own check). Never higher than
    independent per-ε runs; cheaper, since broken points are not attacked again. Inputs are
    checked as by every attack (:mod:`robustssl.attacks.checks`), each ε of ``eps_list`` against
    the attack's ``allow_large_eps``.
    """
    check_batch(model, x, y)
    eps = _sorted_eps(eps_list)
    for e in eps:
        check_eps(attack.norm, e, allow_large_eps=attack.allow_large_eps, name="eps_list entry")
    alive = clean_correct(model, x, y)
    rows = []
    for e in tqdm(eps, desc=f"ε-sweep {type(attack).__name__}", disable=not progress, leave=False):
        if e > 0 and bool(alive.any()):
            alive = alive & ~attack.with_eps(e).run(x, y, active=alive).success
        rows.append(alive.clone())
    return _curve(torch.stack(rows), eps, type(attack).__name__, attack.norm)


def accuracy_from_radii(radii: Tensor, eps_list: Sequence[float]) -> list[float]:
    """Accuracy at each ε (in the caller's order): the share of points with radius > ε.

    Strict: a point whose smallest adversarial perturbation has norm exactly ε is broken at ε
    (the threat model is the closed ball). Radius 0 (misclassified) is broken at every ε ≥ 0, inf
    (no adversarial point found) robust at every ε; nan counts as broken.
    """
    radii = torch.as_tensor(radii).flatten()
    if radii.numel() == 0:
        raise ValueError("radii is empty: need at least one point")
    eps = torch.as_tensor([float(e) for e in eps_list], dtype=radii.dtype, device=radii.device)
    return (radii[None, :] > eps[:, None]).double().mean(1).tolist()


def min_norm_curve(
    attack_with_radii: RadiusAttack, x: Tensor, y: Tensor, eps_list: Sequence[float]
) -> RobustnessCurve:
    """The robustness curve from one minimum-norm run: radii once, then robust = radius > ε at
    each ε (sorted ascending, as :func:`robust_accuracy_curve`)."""
    eps = _sorted_eps(eps_list)
    radii = attack_with_radii.radii(x, y)
    robust = radii[None, :] > torch.tensor(eps, dtype=radii.dtype, device=radii.device)[:, None]
    return _curve(robust, eps, type(attack_with_radii).__name__, attack_with_radii.norm)
