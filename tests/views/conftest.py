"""Shared fixtures for the view tests: seeded random image batches."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from robustssl.utils import make_generator


@pytest.fixture
def images() -> Callable[..., torch.Tensor]:
    """Factory: ``images(b, c, h, w, seed=0)`` → float batch in [0, 1]."""

    def make(b: int, c: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
        return torch.rand(b, c, h, w, generator=make_generator(seed))

    return make
