"""Downloads through torchvision into its standard layout, which our readers then read.

torchvision's dataset classes are instantiated with ``download=True`` only; they verify MD5
checksums before loading anything. Our readers never depend on torchvision otherwise.
"""

from __future__ import annotations

from pathlib import Path


def torchvision_download(name: str, root: Path, split: str) -> None:
    """Fetch ``name``'s files for ``split`` into ``root`` (torchvision's layout)."""
    from robustssl.utils.optional import require

    tv = require("torchvision.datasets", "downloading datasets")

    root.mkdir(parents=True, exist_ok=True)
    if name in ("cifar10", "cifar100", "mnist", "fashion_mnist"):
        cls = {
            "cifar10": tv.CIFAR10,
            "cifar100": tv.CIFAR100,
            "mnist": tv.MNIST,
            "fashion_mnist": tv.FashionMNIST,
        }[name]
        cls(str(root), train=split == "train", download=True)
    elif name == "svhn":
        tv.SVHN(str(root), split=split, download=True)
    elif name == "stl10":
        tv.STL10(str(root), split=split, download=True)
    else:
        raise ValueError(f"dataset {name!r} cannot be downloaded; place its files under {root}")
