"""CIFAR-10-C / CIFAR-100-C (Hendrycks & Dietterich 2019; used by seed 003 §4.4) in the official
layout: a directory with ``<corruption>.npy`` (uint8, (50000, 32, 32, 3): the 10 000 test images
at severity 1, then 2, …, 5) and ``labels.npy`` (integers, (50000,)).

``load_cifar_c(root, corruption, severity)`` memory-maps the file and reads only the rows of one
severity; files are read with ``allow_pickle=False``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from robustssl.data.corruptions._common import check_severity
from robustssl.data.corruptions.params import NAMES, SEVERITIES
from robustssl.data.dataset import TensorImageDataset
from robustssl.data.errors import CorruptDatasetError, DatasetError, DatasetNotFoundError
from robustssl.data.labels import labels_outside
from robustssl.data.registry import DATASETS

# The release also ships four extra corruptions (the "validation" ones of the paper).
EXTRA_NAMES: tuple[str, ...] = ("speckle_noise", "gaussian_blur", "spatter", "saturate")
CIFAR_C_NAMES: tuple[str, ...] = NAMES + EXTRA_NAMES
DOWNLOAD_HINT = (
    "download CIFAR-10-C (zenodo.org/records/2535967) or CIFAR-100-C (zenodo.org/records/3555552), "
    "extract the .tar, and pass the directory holding the .npy files as root"
)


class CifarCFormatError(CorruptDatasetError):
    """A CIFAR-C .npy file that is not in the official layout; names the file and the problem."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        DatasetError.__init__(
            self,
            f"{self.path}: {problem}; CIFAR-C files hold uint8 images (5·n, 32, 32, 3) with n "
            f"images per severity and integer labels (5·n,); {DOWNLOAD_HINT}",
        )


def _check_args(corruption: str, severity: int) -> None:
    if corruption not in CIFAR_C_NAMES:
        raise ValueError(
            f"unknown CIFAR-C corruption {corruption!r}; known: {', '.join(CIFAR_C_NAMES)}"
        )
    check_severity(severity)


def _open(path: Path, corruption: str) -> np.ndarray:
    if not path.is_file():
        raise DatasetNotFoundError("cifar_c", corruption, [path], DOWNLOAD_HINT)
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as err:  # not a .npy file, truncated, or an object array
        raise CifarCFormatError(path, f"cannot be read as a .npy array ({err})") from None


def _check_images(images: np.ndarray, path: Path) -> int:
    """Images per severity; raises unless uint8 (5·n, H, W, 3)."""
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3:
        raise CifarCFormatError(
            path, f"expected uint8 (N, H, W, 3), got {images.dtype} {images.shape}"
        )
    if images.shape[0] == 0 or images.shape[0] % len(SEVERITIES):
        raise CifarCFormatError(
            path, f"{images.shape[0]} images do not split into {len(SEVERITIES)} severities"
        )
    return images.shape[0] // len(SEVERITIES)


def _check_labels(labels: np.ndarray, n_images: int, path: Path) -> None:
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise CifarCFormatError(
            path, f"expected 1-D integer labels, got {labels.dtype} {labels.shape}"
        )
    if len(labels) != n_images:
        raise CifarCFormatError(path, f"{len(labels)} labels for {n_images} images")


def _classes(labels: np.ndarray, num_classes: int | None, path: Path) -> Sequence[str]:
    """CIFAR-10 or CIFAR-100 class names (inferred from the largest label when not given)."""
    top = int(labels.max()) if len(labels) else 0
    if num_classes is None:
        num_classes = 10 if top < 10 else 100
    if labels_outside(labels, num_classes) is not None:
        raise CifarCFormatError(path, f"labels outside 0..{num_classes - 1}")
    known = {10: DATASETS["cifar10"].class_names, 100: DATASETS["cifar100"].class_names}
    return known.get(num_classes) or [str(c) for c in range(num_classes)]


def load_cifar_c(
    root: str | Path,
    corruption: str,
    severity: int,
    device: torch.device | str = "cpu",
    num_classes: int | None = None,
) -> TensorImageDataset:
    """The images of one corruption at one severity as uint8 (N, 3, H, W) on ``device``.

    ``root`` is the extracted CIFAR-10-C or CIFAR-100-C directory; ``num_classes`` defaults to 10
    or 100 from the labels. Only the rows of ``severity`` are read from the memory-mapped file.
    """
    _check_args(corruption, severity)
    severity = int(severity)
    root = Path(root).expanduser()
    image_path, label_path = root / f"{corruption}.npy", root / "labels.npy"
    images = _open(image_path, corruption)
    per_severity = _check_images(images, image_path)
    labels = _open(label_path, corruption)
    _check_labels(labels, len(images), label_path)
    rows = slice((severity - 1) * per_severity, severity * per_severity)
    y = np.asarray(labels[rows]).astype(np.int64)
    classes = _classes(y, num_classes, label_path)
    x = torch.from_numpy(np.array(images[rows])).permute(0, 3, 1, 2).contiguous()
    name = "cifar10_c" if len(classes) == 10 else "cifar100_c"
    return TensorImageDataset(
        x.to(device),
        torch.from_numpy(y),
        classes=classes,
        name=f"{name}/{corruption}",
        split=f"severity{severity}",
    )
