"""STL-10 binary files: ``<root>/stl10_binary/{train,test,unlabeled}_X.bin`` and ``*_y.bin``.

Images are uint8, 3×96×96 each, stored column-major per channel (so the last two axes are
swapped on read); labels are 1..10 → 0..9; the unlabeled split has targets −1. Images are
memory-mapped, so even the 2.8 GB unlabeled split is read one batch slice at a time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robustssl.data.errors import CorruptDatasetError
from robustssl.data.registry import get_info
from robustssl.data.sources import MemmapSource, RawSplit

IMAGE_BYTES = 3 * 96 * 96


def candidate_dirs(root: Path) -> list[Path]:
    """``<root>/stl10_binary`` (torchvision's layout), then ``<root>`` itself."""
    return [root / "stl10_binary", root]


def _needed(split: str) -> list[str]:
    return [f"{split}_X.bin"] + ([] if split == "unlabeled" else [f"{split}_y.bin"])


def locate_stl10(root: Path, split: str) -> tuple[Path | None, list[Path]]:
    """The directory holding ``split``'s files, and the directories tried."""
    searched = candidate_dirs(root)
    for directory in searched:
        if all((directory / f).is_file() for f in _needed(split)):
            return directory, searched
    return None, searched


def _read_labels(path: Path, count: int) -> np.ndarray:
    labels = np.fromfile(path, dtype=np.uint8)
    if len(labels) != count:
        raise CorruptDatasetError(path, f"{len(labels)} labels for {count} images")
    if count and (labels.min() < 1 or labels.max() > 10):
        raise CorruptDatasetError(path, "labels must be 1..10")
    return labels.astype(np.int64) - 1


def _read_classes(directory: Path) -> list[str]:
    path = directory / "class_names.txt"
    if not path.is_file():
        return list(get_info("stl10").class_names or ())
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if len(names) != 10:
        raise CorruptDatasetError(path, f"expected 10 class names, found {len(names)}")
    return names


def read_stl10(directory: Path, split: str) -> RawSplit:
    """A memory-mapped split found by :func:`locate_stl10`."""
    x_path = directory / f"{split}_X.bin"
    size = x_path.stat().st_size
    if size == 0 or size % IMAGE_BYTES:
        raise CorruptDatasetError(
            x_path, f"size {size} bytes is not a multiple of {IMAGE_BYTES} (3x96x96): truncated"
        )
    count = size // IMAGE_BYTES
    if split == "unlabeled":
        targets = np.full(count, -1, dtype=np.int64)
    else:
        targets = _read_labels(directory / f"{split}_y.bin", count)
    source = MemmapSource(x_path, (count, 3, 96, 96), swap_hw=True)
    return RawSplit(source, targets, _read_classes(directory), directory)
