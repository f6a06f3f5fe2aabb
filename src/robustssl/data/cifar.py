"""CIFAR-10 / CIFAR-100 python batches (torchvision's layout), read with a safe unpickler.

CIFAR-10: ``cifar-10-batches-py/data_batch_1..5``, ``test_batch``, ``batches.meta``.
CIFAR-100: ``cifar-100-python/train``, ``test``, ``meta``; fine labels are used.
Each batch is a dict with ``data`` (N, 3072) uint8 (R, G, B planes of 32×32, row-major) and
labels; keys may be bytes (python-2 pickles) or str.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from robustssl.data.errors import CorruptDatasetError
from robustssl.data.labels import labels_outside
from robustssl.data.registry import get_info
from robustssl.data.safe_pickle import load_numpy_pickle
from robustssl.data.sources import ArraySource, RawSplit


@dataclass(frozen=True)
class CifarLayout:
    """File names of one CIFAR variant."""

    folder: str
    batches: dict[str, tuple[str, ...]]
    meta: str
    label_key: str
    names_key: str


LAYOUTS: dict[str, CifarLayout] = {
    "cifar10": CifarLayout(
        "cifar-10-batches-py",
        {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)},
        "batches.meta",
        "labels",
        "label_names",
    ),
    "cifar100": CifarLayout(
        "cifar-100-python",
        {"train": ("train",), "test": ("test",)},
        "meta",
        "fine_labels",
        "fine_label_names",
    ),
}


def candidate_dirs(name: str, root: Path) -> list[Path]:
    """``<root>/<folder>`` (torchvision's layout), then ``<root>`` itself."""
    return [root / LAYOUTS[name].folder, root]


def locate_cifar(name: str, root: Path, split: str) -> tuple[Path | None, list[Path]]:
    """The first directory holding every batch of ``split``, and the directories tried."""
    searched = candidate_dirs(name, root)
    for directory in searched:
        if all((directory / f).is_file() for f in LAYOUTS[name].batches[split]):
            return directory, searched
    return None, searched


def _str_keys(obj: Any, path: Path) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise CorruptDatasetError(path, f"expected a pickled dict, got {type(obj).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in obj.items()}


def _read_batch(path: Path, label_key: str, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) and labels of one batch file."""
    batch = _str_keys(load_numpy_pickle(path), path)
    for key in ("data", label_key):
        if key not in batch:
            raise CorruptDatasetError(path, f"missing key {key!r} (found {sorted(batch)})")
    data = batch["data"]
    if (
        not isinstance(data, np.ndarray)
        or data.dtype != np.uint8
        or data.ndim != 2
        or data.shape[1] != 3 * 32 * 32
    ):
        shape = getattr(data, "shape", None)
        raise CorruptDatasetError(path, f"'data' must be uint8 (N, 3072), got {shape}")
    labels = np.asarray(batch[label_key])
    if labels.shape != (len(data),) or not np.issubdtype(labels.dtype, np.integer):
        raise CorruptDatasetError(
            path, f"{label_key!r} must hold {len(data)} integers, got shape {labels.shape}"
        )
    if labels_outside(labels, num_classes) is not None:
        raise CorruptDatasetError(path, f"{label_key!r} outside 0..{num_classes - 1}")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def _read_classes(name: str, directory: Path) -> list[str]:
    """Class names from the meta file, else the registry's."""
    layout, info = LAYOUTS[name], get_info(name)
    path = directory / layout.meta
    if not path.is_file():
        return list(info.class_names or ())
    meta = _str_keys(load_numpy_pickle(path), path)
    names = meta.get(layout.names_key)
    if not isinstance(names, (list, tuple)) or len(names) != info.num_classes:
        raise CorruptDatasetError(
            path, f"{layout.names_key!r} must list {info.num_classes} class names"
        )
    return [n.decode("latin1") if isinstance(n, bytes) else str(n) for n in names]


def read_cifar(name: str, directory: Path, split: str) -> RawSplit:
    """One split of CIFAR-10/100 found by :func:`locate_cifar`."""
    layout, info = LAYOUTS[name], get_info(name)
    assert info.num_classes is not None  # fixed in the registry
    parts = [
        _read_batch(directory / f, layout.label_key, info.num_classes)
        for f in layout.batches[split]
    ]
    images = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
    labels = np.concatenate([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
    return RawSplit(ArraySource(images), labels, _read_classes(name, directory), directory)
