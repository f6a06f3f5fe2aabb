"""Shared fixtures: a PGD-trained small CNN on the real Fashion-MNIST (trained once per session)."""

from __future__ import annotations

import pytest

from robust_model import fashion_mnist_tensors, have_fashion_mnist, train_robust


@pytest.fixture(scope="session")
def robust_fmnist() -> dict[str, object]:
    if not have_fashion_mnist():
        pytest.skip(
            "Fashion-MNIST is not installed (apt-get install -y dataset-fashion-mnist); CI has it"
        )
    x, y = fashion_mnist_tensors("train", 10000)
    model = train_robust(x, y, eps=0.1, epochs=3)
    xt, yt = fashion_mnist_tensors("test", 1000)
    return {"model": model, "x": xt, "y": yt}
