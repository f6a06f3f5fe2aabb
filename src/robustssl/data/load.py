"""``load_dataset``: find a dataset's files, read them, and hold them in memory or stream them.

A split is held in memory (one uint8 tensor on ``device``) when N·C·H·W bytes ≤
``max_in_memory_bytes`` (1 GiB by default) or ``in_memory=True``; otherwise it streams from disk.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from robustssl.data import cifar, imagefolder, mnist, stl10, svhn
from robustssl.data.dataset import ImageDataset, TensorImageDataset
from robustssl.data.download import torchvision_download
from robustssl.data.errors import DatasetNotFoundError
from robustssl.data.registry import canonical_name, get_info
from robustssl.data.resize import parse_image_size
from robustssl.data.sources import ImageFileSource, ImageSource, RawSplit, ResizedSource
from robustssl.data.streaming import StreamingImageDataset
from robustssl.utils import resolve_device
from robustssl.utils.progress import tqdm

Locator = Callable[[Path, str], tuple[Path | None, list[Path]]]
Reader = Callable[[Path, str, tuple[int, int] | None], RawSplit]

_LOCATORS: dict[str, Locator] = {
    "cifar10": lambda root, split: cifar.locate_cifar("cifar10", root, split),
    "cifar100": lambda root, split: cifar.locate_cifar("cifar100", root, split),
    "mnist": lambda root, split: mnist.locate_idx("mnist", root, split),
    "fashion_mnist": lambda root, split: mnist.locate_idx("fashion_mnist", root, split),
    "svhn": svhn.locate_svhn,
    "stl10": stl10.locate_stl10,
    "imagefolder": imagefolder.locate_imagefolder,
}
_READERS: dict[str, Reader] = {
    "cifar10": lambda d, split, _: cifar.read_cifar("cifar10", d, split),
    "cifar100": lambda d, split, _: cifar.read_cifar("cifar100", d, split),
    "mnist": lambda d, split, _: mnist.read_idx_split("mnist", d, split),
    "fashion_mnist": lambda d, split, _: mnist.read_idx_split("fashion_mnist", d, split),
    "svhn": lambda d, split, _: svhn.read_svhn(d, split),
    "stl10": lambda d, split, _: stl10.read_stl10(d, split),
    "imagefolder": lambda d, _, size: imagefolder.read_imagefolder(d, size),
}


def default_data_root() -> Path:
    """``$ROBUSTSSL_DATA`` when set, else ``./data`` (absolute, from the current directory)."""
    env = os.environ.get("ROBUSTSSL_DATA")
    return Path(env).expanduser() if env else Path.cwd() / "data"


def _root(name: str, root: str | Path | None) -> Path:
    if root is not None:
        if not str(root).strip():
            raise ValueError(
                f"the data root of {name} is empty ({str(root)!r}); set data.root=<folder holding "
                "the data>, or leave it unset (null) to use $ROBUSTSSL_DATA, ./data or Debian's "
                "copy"
            )
        return Path(root).expanduser()
    if name == "imagefolder":
        raise ValueError("imagefolder needs root=<folder holding <split>/<class>/<image>>")
    return default_data_root()


def _not_found_hint(name: str, root: Path) -> str:
    if name == "imagefolder":
        return (
            f"Arrange images as {root}/<split>/<class>/<image> (or pass root=<folder of class "
            "folders> for split 'train'); imagefolder data cannot be downloaded."
        )
    hint = (
        f"Get it with load_dataset({name!r}, root={str(root)!r}, download=True) "
        "(torchvision downloads it there), or put the files in one of the places above"
    )
    info = get_info(name)
    if info.debian_package:
        hint += (
            f", or install Debian's package (apt-get install {info.debian_package}), which "
            "is read in place"
        )
    return hint + "."


def find_local(name: str, root: str | Path | None = None) -> Path | None:
    """Where the files of ``name``'s default split are, or None (never downloads)."""
    key = canonical_name(name)
    if key == "imagefolder" and root is None:
        return None
    found, _ = _LOCATORS[key](_root(key, root), get_info(key).splits[0])
    return found


def _locate(name: str, root: Path, split: str, download: bool) -> Path:
    found, searched = _LOCATORS[name](root, split)
    if found is None and download:
        if name == "imagefolder":
            raise DatasetNotFoundError(name, split, searched, _not_found_hint(name, root))
        try:
            torchvision_download(name, root, split)
        except Exception as exc:  # network, disk or checksum errors from torchvision
            raise DatasetNotFoundError(
                name, split, searched, f"download into {root} failed: {exc}"
            ) from exc
        found, searched = _LOCATORS[name](root, split)
    if found is None:
        raise DatasetNotFoundError(name, split, searched, _not_found_hint(name, root))
    return found


def _materialize(source: ImageSource, device: torch.device, desc: str) -> torch.Tensor:
    """Every image of ``source`` as one uint8 tensor on ``device``, read in chunks."""
    n, c, h, w = source.shape
    out = torch.empty((n, c, h, w), dtype=torch.uint8, device=device)
    chunk = 512 if source.slow else max(1, (64 << 20) // max(1, c * h * w))
    starts = range(0, n, chunk)
    for start in tqdm(starts, desc=desc, disable=not source.slow or len(starts) < 2, leave=False):
        stop = min(start + chunk, n)
        out[start:stop] = torch.from_numpy(source.read(np.arange(start, stop)))
    return out


def load_dataset(
    name: str,
    split: str = "train",
    *,
    root: str | Path | None = None,
    download: bool = False,
    device: str | torch.device = "cpu",
    image_size: int | tuple[int, int] | None = None,
    in_memory: bool | None = None,
    max_in_memory_bytes: int = 2**30,
    num_workers: int = 0,
) -> ImageDataset:
    """Load one split of a registered dataset (see ``dataset_names()``).

    ``image_size`` resizes every image (bilinear, antialiased); ``in_memory=None`` chooses by
    size; ``num_workers`` only matters when streaming. Raises UnknownDatasetError,
    InvalidSplitError, DatasetNotFoundError or CorruptDatasetError with the fix in the message.
    """
    key = canonical_name(name)
    if key != "imagefolder":
        get_info(key).check_split(split)
    size = parse_image_size(image_size)
    dev = resolve_device(device)
    base = _root(key, root)
    raw = _READERS[key](_locate(key, base, split, download), split, size)
    source = raw.source
    if (
        size is not None
        and not isinstance(source, ImageFileSource)
        and source.image_shape[1:] != size
    ):
        source = ResizedSource(source, size)
    keep = source.nbytes <= max_in_memory_bytes if in_memory is None else in_memory
    if keep:
        images = _materialize(source, dev, f"reading {key}/{split}")
        return TensorImageDataset(images, raw.targets, classes=raw.classes, name=key, split=split)
    return StreamingImageDataset(
        source,
        raw.targets,
        classes=raw.classes,
        name=key,
        split=split,
        device=dev,
        num_workers=num_workers,
    )
