"""Regression → classification tasks with a known safety margin δ* (seed 000 §7.2–7.3).

A continuous causal factor (the spotlight angle θ) is cut into non-overlapping intervals, one per
class; samples in the gaps are left out. The most robust head puts its boundaries at the gap
midpoints, so a regressed value may move by δ* = (smallest gap)/2 without changing class (seed 000
Figure 30): δ* belongs to the task, not to the model. With θ = (π/2)·z for the raw latent
z ∈ [−1, 1] (§7.3, eq. 27) the spotlight task has classes 0: [π/4, π/2], 1: [−π/8, π/8],
2: [−π/2, −π/4] — the seed's order and its code's labels — of equal length (balanced), gaps of
π/8 and δ* = π/16 (1/8 in units of z).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import torch
from torch import Tensor

from robustssl.data.causal.layout import SPOTLIGHT_COLUMN, CausalData
from robustssl.data.dataset import ImageDataset
from robustssl.data.labels import labels_outside


@dataclass(frozen=True)
class IntervalTask:
    """Class k is the closed interval ``intervals[k]`` of a scalar; intervals must not touch."""

    intervals: tuple[tuple[float, float], ...]
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        iv = self.intervals
        if len(iv) < 2 or any(lo >= hi for lo, hi in iv):
            raise ValueError(f"need ≥ 2 intervals with lo < hi, got {iv}")
        if any(lo >= hi for lo, hi in self.gaps):
            raise ValueError(f"intervals must be separated by gaps, got {iv}")
        if self.names and len(self.names) != len(iv):
            raise ValueError(f"{len(self.names)} names for {len(iv)} intervals")

    @property
    def num_classes(self) -> int:
        return len(self.intervals)

    @property
    def order(self) -> list[int]:
        """Classes sorted by their interval's position on the axis."""
        return sorted(range(len(self.intervals)), key=lambda k: self.intervals[k][0])

    @property
    def gaps(self) -> list[tuple[float, float]]:
        """(end, start) of the neighbouring intervals around each gap, ascending."""
        return [(a[1], b[0]) for a, b in pairwise(self.intervals[k] for k in self.order)]

    @property
    def boundaries(self) -> Tensor:
        """The most robust head's thresholds, ascending: the gap midpoints."""
        return torch.tensor([(lo + hi) / 2 for lo, hi in self.gaps], dtype=torch.float64)

    @property
    def delta_star(self) -> float:
        """Half the smallest gap: how far any in-class value may move without changing class."""
        return min(hi - lo for lo, hi in self.gaps) / 2

    def labels(self, value: Tensor) -> Tensor:
        """Class of each value, −1 in the gaps or outside every interval."""
        v = value.double()
        out = torch.full(v.shape, -1, dtype=torch.int64, device=v.device)
        for k, (lo, hi) in enumerate(self.intervals):
            out[(v >= lo) & (v <= hi)] = k
        return out

    def head(self, value: Tensor) -> Tensor:
        """The fixed classification head (seed 000 Figure 31): the class of the nearest
        interval, i.e. cut at the gap midpoints."""
        bins = torch.bucketize(value.double(), self.boundaries.to(value.device))
        return torch.tensor(self.order, device=value.device)[bins]

    def margin(self, value: Tensor) -> Tensor:
        """Distance of each value to the nearest head boundary (≥ δ* for in-class values)."""
        b = self.boundaries.to(value.device)
        return (value.double()[..., None] - b).abs().amin(-1)


SPOTLIGHT_TASK = IntervalTask(
    ((math.pi / 4, math.pi / 2), (-math.pi / 8, math.pi / 8), (-math.pi / 2, -math.pi / 4)),
    ("front", "centre", "back"),
)


def spotlight_angle(latents: Tensor, column: int = SPOTLIGHT_COLUMN) -> Tensor:
    """θ = (π/2)·z of the raw spotlight latent z ∈ [−1, 1] (seed 000 §7.3)."""
    return latents[:, column].double() * (math.pi / 2)


def relabel(
    dataset: ImageDataset, indices: Tensor, targets: Tensor, classes: Sequence[str]
) -> ImageDataset:
    """The samples at ``indices`` (same storage kind and device) with new targets and classes."""
    targets = torch.as_tensor(targets, dtype=torch.int64).cpu().reshape(-1)
    if len(targets) != len(dataset.check_indices(indices)):
        raise ValueError(f"{len(targets)} targets for {len(indices)} indices")
    if labels_outside(targets, len(classes)) is not None:
        raise ValueError(f"targets must be in [0, {len(classes)})")
    out = dataset.subset(indices)
    out.targets, out.classes = targets, list(classes)
    return out


def spotlight_dataset(
    data: CausalData, task: IntervalTask = SPOTLIGHT_TASK, column: int = SPOTLIGHT_COLUMN
) -> tuple[ImageDataset, Tensor]:
    """(dataset of the in-class samples labelled by θ's interval, their θ) — seed 000 §7.3."""
    theta = spotlight_angle(data.latents, column)
    labels = task.labels(theta)
    keep = torch.nonzero(labels >= 0).flatten()
    if len(keep) == 0:
        raise ValueError("no sample falls inside the task's intervals; check the latent column")
    names = task.names or tuple(str(k) for k in range(task.num_classes))
    return relabel(data.dataset, keep, labels[keep], names), theta[keep]
