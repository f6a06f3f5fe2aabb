"""SVHN cropped digits: ``<root>/{train,test,extra}_32x32.mat`` (torchvision's layout).

``X`` is (32, 32, 3, N) uint8 and ``y`` is (N, 1) with labels 1..10, where 10 means digit 0.
``scipy.io.loadmat`` reads the whole file into RAM (the 1.6 GB ``extra`` split too); above the
in-memory limit the array then stays in host RAM and batches stream from it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io

from robustssl.data.errors import CorruptDatasetError, DatasetError
from robustssl.data.registry import get_info
from robustssl.data.sources import ArraySource, RawSplit


def file_name(split: str) -> str:
    return f"{split}_32x32.mat"


def candidate_dirs(root: Path) -> list[Path]:
    """``<root>`` (torchvision's layout), then ``<root>/svhn``."""
    return [root, root / "svhn"]


def locate_svhn(root: Path, split: str) -> tuple[Path | None, list[Path]]:
    """The directory holding ``<split>_32x32.mat``, and the file paths tried."""
    searched = [d / file_name(split) for d in candidate_dirs(root)]
    for path in searched:
        if path.is_file():
            return path.parent, searched
    return None, searched


def _load_mat(path: Path) -> dict:
    try:
        return scipy.io.loadmat(path, variable_names=("X", "y"))
    except DatasetError:
        raise
    except Exception as exc:  # scipy raises many types (ValueError, MatReadError, OSError, ...)
        raise CorruptDatasetError(path, f"not a readable .mat file ({exc})") from exc


def read_svhn(directory: Path, split: str) -> RawSplit:
    """Images (N, 3, 32, 32) and labels 0..9 (file label 10 → 0)."""
    path = directory / file_name(split)
    mat = _load_mat(path)
    if "X" not in mat or "y" not in mat:
        raise CorruptDatasetError(path, f"expected variables 'X' and 'y', found {sorted(mat)}")
    x, y = mat["X"], np.asarray(mat["y"]).reshape(-1)
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.dtype != np.uint8:
        raise CorruptDatasetError(path, f"'X' must be uint8 (32,32,3,N), got {x.dtype} {x.shape}")
    if len(y) != x.shape[3]:
        raise CorruptDatasetError(path, f"'y' has {len(y)} labels for {x.shape[3]} images")
    if len(y) and (y.min() < 1 or y.max() > 10):
        raise CorruptDatasetError(path, "'y' must hold labels 1..10 (10 = digit 0)")
    images = x.transpose(3, 2, 0, 1)  # (H, W, C, N) → (N, C, H, W), a view
    targets = y.astype(np.int64) % 10
    classes = list(get_info("svhn").class_names or ())
    return RawSplit(ArraySource(images), targets, classes, directory)
