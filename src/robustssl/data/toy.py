"""The controlled toy datasets of seed 000 §6: triangle-square and L-T.

Each dataset is every placement of a few binary patterns on a zero canvas, the pattern always fully
inside (seed 000 §6.1). Triangle-square (§6.1, Figure 17): two 5×5 patterns with 16 pixels set
each (equal counts, so counting pixels is no shortcut) on a 10×10 canvas → 36 positions × 2 = 72
samples. L-T (§6.2, Figure 21): two 3×3 patterns with 5 pixels each on a 4×4 canvas → 4 × 2 = 8.

Sample order is position-major (row, then column of the pattern's top-left corner) and class-minor,
so labels alternate 0, 1, 0, 1, … as in the thesis code; label 0 is the first pattern (triangle /
L), 1 the second (square / T).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from robustssl.data.dataset import TensorImageDataset

# Rows of 0/1 pixels, top row first (seed 000 Figures 17 and 21).
TRIANGLE = ("01100", "00100", "01110", "11111", "11111")
SQUARE = ("11111", "10001", "10001", "10001", "11111")
L_PATTERN = ("100", "100", "111")
T_PATTERN = ("111", "010", "010")


@dataclass(frozen=True)
class ToySpec:
    """A toy dataset: one binary pattern per class, placed everywhere on a square canvas."""

    name: str
    classes: tuple[str, ...]
    patterns: tuple[tuple[str, ...], ...]
    canvas: int

    @property
    def pattern_size(self) -> int:
        return len(self.patterns[0])

    @property
    def side(self) -> int:
        """Placements along one axis: canvas − pattern + 1."""
        return self.canvas - self.pattern_size + 1

    def __len__(self) -> int:
        return self.side**2 * len(self.classes)


TOY_DATASETS: dict[str, ToySpec] = {
    "triangle_square": ToySpec("triangle_square", ("triangle", "square"), (TRIANGLE, SQUARE), 10),
    "lt": ToySpec("lt", ("L", "T"), (L_PATTERN, T_PATTERN), 4),
}


def toy_spec(name: str) -> ToySpec:
    """The spec of ``name``: "triangle_square" / "triangle-square" or "lt" / "l-t" / "l_t"."""
    key = name.lower().replace("-", "_")
    key = "lt" if key == "l_t" else key
    if key not in TOY_DATASETS:
        raise ValueError(f"unknown toy dataset {name!r}; choose one of {', '.join(TOY_DATASETS)}")
    return TOY_DATASETS[key]


def patterns(name: str) -> torch.Tensor:
    """The binary patterns (num_classes, k, k), float32 0/1."""
    rows = toy_spec(name).patterns
    return torch.tensor([[[float(p) for p in row] for row in pat] for pat in rows])


def placements(name: str) -> list[tuple[int, int, int]]:
    """(row, col, label) of every sample, in dataset order."""
    spec = toy_spec(name)
    n = len(spec.classes)
    return [(i, j, c) for i in range(spec.side) for j in range(spec.side) for c in range(n)]


def toy_tensors(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 1, canvas, canvas) float32 in {0, 1} and int64 labels (N,)."""
    spec, pats = toy_spec(name), patterns(name)
    k, rows = spec.pattern_size, placements(name)
    x = torch.zeros(len(rows), 1, spec.canvas, spec.canvas)
    for n, (i, j, c) in enumerate(rows):
        x[n, 0, i : i + k, j : j + k] = pats[c]
    return x, torch.tensor([c for _, _, c in rows], dtype=torch.int64)


def toy_dataset(name: str, device: torch.device | str = "cpu") -> TensorImageDataset:
    """The toy dataset as a :class:`TensorImageDataset` (uint8 0/255, so batches are exact 0/1)."""
    spec = toy_spec(name)
    x, y = toy_tensors(name)
    images = (x * 255).to(torch.uint8).to(device)
    return TensorImageDataset(images, y, classes=spec.classes, name=spec.name, split="train")
