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


_MASK64 = (1 << 64) - 1


def mix_seed(*values: int) -> int:
    """A well-mixed 32-bit seed from several ints (splitmix64 steps, folded to 32 bits).

    torch's CPU generator uses only the low 32 bits of a seed, so pairs like (seed, epoch) are
    hashed rather than concatenated.
    """
    x = 0
    for value in values:
        x = (x ^ (value & _MASK64)) * 0x9E3779B97F4A7C15 + 1 & _MASK64
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
        x ^= x >> 31
    return (x ^ (x >> 32)) & 0xFFFFFFFF


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch global RNGs (for code that does not take a generator)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
