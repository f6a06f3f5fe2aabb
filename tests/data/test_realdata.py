"""Debian's Fashion-MNIST package (dataset-fashion-mnist), read in place."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from robustssl.data import find_local, get_info, load_dataset

DEBIAN = Path("/usr/share/datasets/fashion-mnist")

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(
        not (DEBIAN / "train-images-idx3-ubyte.gz").is_file(),
        reason="Debian's Fashion-MNIST is absent (apt-get install dataset-fashion-mnist)",
    ),
]


def test_debian_fashion_mnist(tmp_path):
    empty_root = tmp_path / "nothing-here"
    assert find_local("fashion_mnist", empty_root) == DEBIAN
    train = load_dataset("fashion_mnist", "train", root=empty_root)
    test = load_dataset("fashion_mnist", "test", root=empty_root, in_memory=False)
    assert len(train) == 60_000 and len(test) == 10_000
    assert train.num_classes == test.num_classes == 10
    assert train.classes[0] == "T-shirt/top" and train.classes[9] == "Ankle boot"
    assert train.images.dtype == torch.uint8 and train.image_shape == (1, 28, 28)
    assert int(train.images.min()) == 0 and int(train.images.max()) == 255
    assert torch.bincount(train.targets).tolist() == [6000] * 10
    assert torch.bincount(test.targets).tolist() == [1000] * 10
    x = train.images.float() / 255
    info = get_info("fashion_mnist")
    assert abs(x.mean().item() - info.mean[0]) < 5e-4
    assert abs(x.std().item() - info.std[0]) < 5e-4
    xb, yb = test.get_batch([0, 9999])
    assert xb.shape == (2, 1, 28, 28) and xb.min() >= 0.0 and xb.max() <= 1.0
    assert yb.tolist() == test.targets[[0, 9999]].tolist()
