"""Robustness of toy models on the standard (base) samples: PGD accuracy (seed 000 Table 4 and
Figure 26 protocols), exact certified accuracy, and the corner check of the seed's Assumption 1."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from robustssl.attacks import PGD
from robustssl.evaluation.certify.conv_maxpool import CertificationResult, certify
from robustssl.evaluation.certify.corners import corner_margins
from robustssl.models.toy import PatternMatcher


@dataclass(frozen=True)
class PGDSetting:
    """L∞ PGD (random start) with step size ``step_ratio``·ε and ``steps`` steps."""

    step_ratio: float = 0.5
    steps: int = 10

    @property
    def label(self) -> str:
        return f"PGD(α={self.step_ratio:g}ε, {self.steps} steps)"


TABLE4_PGD = PGDSetting(0.5, 10)  # seed 000 §6.1 Table 4 and §6.2
FIG26_PGD = PGDSetting(0.1, 50)  # seed 000 §6.2.2 Figures 24, 26–27


@torch.no_grad()
def accuracy(model: PatternMatcher, x: Tensor, y: Tensor) -> float:
    return float((model(x).argmax(1) == y).double().mean())


def pgd_accuracy(
    model: PatternMatcher,
    x: Tensor,
    y: Tensor,
    eps: float,
    setting: PGDSetting = TABLE4_PGD,
    seed: int = 0,
) -> float:
    """Accuracy under PGD at ``eps`` (the clean accuracy at eps = 0)."""
    if eps == 0:
        return accuracy(model, x, y)
    step = setting.step_ratio * eps
    attack = PGD(model, "Linf", eps, steps=setting.steps, step_size=step, seed=seed)
    return accuracy(model, attack(x, y), y)


def certified_accuracy(model: PatternMatcher, x: Tensor, y: Tensor, eps: float) -> float:
    """Exact certified accuracy at ``eps`` (perturbations kept in [0, 1], like the attacks)."""
    return certify(model, x, y, eps).certified_accuracy


def assumption1_failures(
    model: PatternMatcher,
    x: Tensor,
    y: Tensor,
    eps: float,
    result: CertificationResult | None = None,
) -> int:
    """Samples with a counter-example inside the box but none at its corners (exact margin ≥ 0 >
    worst corner margin): each one breaks Assumption 1 of seed 000 §6.2.1."""
    result = certify(model, x, y, eps) if result is None else result
    corner, _ = corner_margins(model, x, y, eps)
    return int(((result.margin >= 0) & (corner < 0)).sum())


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value; NaN for none)."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return mean, math.sqrt(var)
