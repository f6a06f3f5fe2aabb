"""MNIST and Fashion-MNIST from IDX files, read in place (never copied).

Looked for, in order: ``<root>/<MNIST|FashionMNIST>/raw`` (torchvision's layout),
``<root>/<name>``, ``<root>`` itself, and for Fashion-MNIST Debian's
``/usr/share/datasets/fashion-mnist`` (package ``dataset-fashion-mnist``;
``$ROBUSTSSL_DEBIAN_DATASETS`` replaces ``/usr/share/datasets``, e.g. to check a machine without
it). Each file may be raw or ``.gz``; the raw one is preferred.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from robustssl.data.errors import CorruptDatasetError
from robustssl.data.idx import read_idx
from robustssl.data.labels import labels_outside
from robustssl.data.registry import get_info
from robustssl.data.sources import ArraySource, RawSplit

IDX_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
TORCHVISION_DIRS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}
DEBIAN_DATASETS = Path(os.environ.get("ROBUSTSSL_DEBIAN_DATASETS") or "/usr/share/datasets")
SYSTEM_DIRS: dict[str, tuple[Path, ...]] = {
    "mnist": (),
    "fashion_mnist": (DEBIAN_DATASETS / "fashion-mnist",),
}


def candidate_dirs(name: str, root: Path) -> list[Path]:
    """Directories searched for ``name``'s IDX files, in order."""
    alt = name.replace("_", "-")
    dirs = [root / TORCHVISION_DIRS[name] / "raw", root / name, root / alt, root]
    return list(dict.fromkeys(dirs + list(SYSTEM_DIRS[name])))


def _find_file(directory: Path, stem: str) -> Path | None:
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def locate_idx(name: str, root: Path, split: str) -> tuple[Path | None, list[Path]]:
    """The first directory holding both IDX files of ``split``, and every directory tried."""
    searched = candidate_dirs(name, root)
    for directory in searched:
        if all(_find_file(directory, stem) for stem in IDX_FILES[split]):
            return directory, searched
    return None, searched


def read_idx_split(name: str, directory: Path, split: str) -> RawSplit:
    """Images (N, 1, 28, 28) and labels of one split found by :func:`locate_idx`."""
    info = get_info(name)
    image_path, label_path = (_find_file(directory, stem) for stem in IDX_FILES[split])
    assert image_path is not None and label_path is not None
    images, labels = read_idx(image_path), read_idx(label_path)
    assert info.image_shape is not None and info.num_classes is not None  # fixed in the registry
    _, h, w = info.image_shape
    if images.ndim != 3 or images.shape[1:] != (h, w) or images.dtype != np.uint8:
        raise CorruptDatasetError(
            image_path,
            f"expected uint8 images of shape (N, {h}, {w}), got {images.dtype} {images.shape}",
        )
    if labels.ndim != 1 or len(labels) != len(images):
        raise CorruptDatasetError(
            label_path, f"expected {len(images)} labels (one per image), got shape {labels.shape}"
        )
    if labels_outside(labels, info.num_classes) is not None:
        raise CorruptDatasetError(label_path, f"labels outside 0..{info.num_classes - 1}")
    return RawSplit(
        source=ArraySource(images[:, None]),
        targets=labels.astype(np.int64),
        classes=list(info.class_names or ()),
        location=directory,
    )
