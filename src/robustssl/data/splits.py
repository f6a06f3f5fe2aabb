"""Seeded, stratified label fractions and train/validation splits (index level).

Label fractions follow seed 004 Table 1 (100 / 10 / 1 % of the labels); the validation split
defaults to seed 003 §4's 15 % (7500 of CIFAR-10's 50000 training images).
"""

from __future__ import annotations

import math

import torch

from robustssl.utils import make_generator


def _as_targets(targets: torch.Tensor | list[int]) -> torch.Tensor:
    t = torch.as_tensor(targets).detach().cpu()
    if t.ndim != 1 or t.dtype.is_floating_point or t.dtype == torch.bool:
        raise ValueError(f"targets must be a 1-D integer tensor, got {t.dtype} {tuple(t.shape)}")
    return t.long()


def class_groups(targets: torch.Tensor) -> list[torch.Tensor]:
    """Ascending indices of each class, classes in ascending label order."""
    order = torch.argsort(targets, stable=True)
    _, counts = torch.unique_consecutive(targets[order], return_counts=True)
    return list(order.split(counts.tolist()))


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def _check_fraction(value: float, name: str, *, allow_one: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValueError(f"{name}={value!r} must be a number")
    upper_ok = value <= 1 if allow_one else value < 1
    if not (value > 0 and upper_ok):
        bound = "(0, 1]" if allow_one else "(0, 1)"
        raise ValueError(f"{name}={value!r} must be in {bound}, e.g. 0.01, 0.1 or 0.15")
    return float(value)


def stratified_fraction_indices(
    targets: torch.Tensor | list[int], fraction: float, seed: int = 0
) -> torch.Tensor:
    """Sorted indices keeping round(fraction·n_c) (at least 1) random samples of each class c.

    ``fraction`` is in (0, 1]; 1.0 returns every index. Same seed ⇒ same indices.
    """
    fraction = _check_fraction(fraction, "fraction", allow_one=True)
    t = _as_targets(targets)
    if (t < 0).any():
        raise ValueError("targets contain -1 (unlabelled samples); label fractions need labels")
    if fraction == 1.0:
        return torch.arange(len(t))
    gen = make_generator(seed)
    chosen = []
    for group in class_groups(t):
        keep = min(len(group), max(1, _round_half_up(fraction * len(group))))
        chosen.append(group[torch.randperm(len(group), generator=gen)[:keep]])
    return torch.sort(torch.cat(chosen)).values if chosen else torch.empty(0, dtype=torch.long)


def train_val_split_indices(
    targets: torch.Tensor | list[int],
    val_fraction: float = 0.15,
    seed: int = 0,
    stratified: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Disjoint sorted (train, val) indices covering every sample, val ≈ ``val_fraction``.

    Stratified: each class c gives round(val_fraction·n_c) samples to val, never its last one.
    Otherwise round(val_fraction·N) samples drawn uniformly. Same seed ⇒ same split.
    """
    val_fraction = _check_fraction(val_fraction, "val_fraction", allow_one=False)
    t = _as_targets(targets)
    gen = make_generator(seed)
    groups = class_groups(t) if stratified else [torch.arange(len(t))]
    val_parts = []
    for group in groups:
        n_val = min(_round_half_up(val_fraction * len(group)), len(group) - 1)
        val_parts.append(group[torch.randperm(len(group), generator=gen)[:n_val]])
    val = torch.sort(torch.cat(val_parts)).values if val_parts else torch.empty(0, dtype=torch.long)
    if len(t) and len(val) == 0:
        raise ValueError(
            f"val_fraction={val_fraction} of {len(t)} samples leaves the validation split empty; "
            "use a larger val_fraction or more data"
        )
    in_val = torch.zeros(len(t), dtype=torch.bool)
    in_val[val] = True
    return torch.nonzero(~in_val).reshape(-1), val
