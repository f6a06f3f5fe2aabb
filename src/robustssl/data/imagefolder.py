"""ImageFolder trees: ``<root>/<split>/<class>/<image>``, or a root of class folders directly.

Classes are the sorted sub-folder names; images are found recursively inside each class folder,
sorted, and decoded with PIL as RGB. Without ``image_size`` every image must have the size of the
first one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robustssl.data.errors import CorruptDatasetError, DatasetLayoutError, DatasetNotFoundError
from robustssl.data.sources import ImageFileSource, RawSplit
from robustssl.utils.optional import require

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
)


def _class_dirs(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))


def _images_in(directory: Path) -> list[Path]:
    return sorted(
        p
        for p in directory.rglob("*")
        if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file() and not p.name.startswith(".")
    )


def _is_class_tree(directory: Path) -> bool:
    """True when some sub-folder of ``directory`` directly holds image files."""
    return directory.is_dir() and any(
        p.suffix.lower() in IMAGE_EXTENSIONS for d in _class_dirs(directory) for p in d.iterdir()
    )


def locate_imagefolder(root: Path, split: str) -> tuple[Path | None, list[Path]]:
    """``<root>/<split>``, or ``<root>`` itself for split "train" when it holds class folders."""
    searched = [root / split]
    if (root / split).is_dir():
        return root / split, searched
    if split == "train":
        searched.append(root)
        if _is_class_tree(root):
            return root, searched
    return None, searched


def _first_size(path: Path) -> tuple[int, int]:
    pil = require("PIL.Image", "reading image folders")
    try:
        with pil.open(path) as img:
            return img.size[1], img.size[0]
    except (pil.UnidentifiedImageError, OSError) as exc:
        raise CorruptDatasetError(path, f"not a decodable image ({exc})") from exc


def read_imagefolder(directory: Path, image_size: tuple[int, int] | None) -> RawSplit:
    """Paths and labels of every image under ``directory``'s class folders (decoded lazily)."""
    classes = _class_dirs(directory)
    paths: list[Path] = []
    labels: list[int] = []
    empty: list[str] = []
    for label, class_dir in enumerate(classes):
        found = _images_in(class_dir)
        paths += found
        labels += [label] * len(found)
        if not found:
            empty.append(class_dir.name)
    if paths and empty:  # it would still count as a class: a head with a never-seen output
        raise DatasetLayoutError(
            f"imagefolder {directory}: class folder(s) {', '.join(repr(e) for e in empty)} hold "
            f"no images (of {len(classes)} class folders); an empty class would still be counted "
            "as a class. Add images to it, or remove the empty folder(s)"
        )
    if not paths:
        extensions = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise DatasetNotFoundError(
            "imagefolder",
            directory.name,
            [directory],
            f"It holds no images; expected <class>/<image> sub-folders, images ending in "
            f"{extensions}.",
        )
    size = image_size or _first_size(paths[0])
    source = ImageFileSource(paths, size, resize=image_size is not None)
    targets = np.asarray(labels, dtype=np.int64)
    return RawSplit(source, targets, [c.name for c in classes], directory)
