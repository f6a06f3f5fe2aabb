"""Seeding: one ``torch.Generator`` per run; the same config + seed give the same numbers."""

from __future__ import annotations

import random

import numpy as np
import torch


def make_generator(seed: int) -> torch.Generator:
    """A CPU generator seeded with ``seed``.

    Random parameters (crop boxes, jitter factors, permutations) are drawn on the CPU from this
    generator and then moved to the data's device, so results do not depend on the device.
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    gen = torch.Generator(device="cpu")
    gen.manual_seed(seed)
    return gen


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch global RNGs (for code that does not take a generator)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
