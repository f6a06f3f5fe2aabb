"""A tiny learnable Fashion-MNIST-format data root for end-to-end runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakedata import write_fake_fashion_mnist


@pytest.fixture
def tiny_fmnist(tmp_path: Path) -> Path:
    """A data root holding FashionMNIST/raw/*.gz with 120 train and 40 test images."""
    return write_fake_fashion_mnist(tmp_path / "data")
