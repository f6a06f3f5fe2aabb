"""Data for the examples: the first n points of Fashion-MNIST when a data root is given, else a
tiny Fashion-MNIST-shaped synthetic set (10 random 28×28 templates + noise; no download)."""

from __future__ import annotations

import torch
from torch import Tensor


def fashion_points(
    n: int, root: str | None = None, split: str = "test", seed: int = 0
) -> tuple[Tensor, Tensor]:
    """(x in [0, 1] of shape (n, 1, 28, 28), y in [0, 10)) on the CPU."""
    if root is not None:
        from robustssl.data import load_dataset

        data = load_dataset("fashion_mnist", split, root=root)
        return data.get_batch(torch.arange(min(n, len(data))))
    gen = torch.Generator().manual_seed(1234)  # the same templates for every split and seed
    templates = torch.rand(10, 1, 28, 28, generator=gen)
    gen.manual_seed(seed)
    y = torch.randint(0, 10, (n,), generator=gen)
    x = (0.7 * templates[y] + 0.3 * torch.rand(n, 1, 28, 28, generator=gen)).clamp(0, 1)
    return x, y
