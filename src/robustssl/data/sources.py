"""Random access to uint8 images by batches of indices, whatever the storage.

A source answers ``read(indices) -> uint8 array (B, C, H, W)``: one numpy fancy-index (or memmap
slice) per batch, never one Python call per sample, except for image files, which must be decoded
one by one. In-memory datasets read every index once; streaming ones read per batch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robustssl.data.errors import CorruptDatasetError, MixedImageSizesError
from robustssl.data.resize import resize_uint8
from robustssl.utils.optional import require


class ImageSource(ABC):
    """N images of one shape (C, H, W), read in batches as C-contiguous uint8 arrays."""

    slow: bool = False  # True when reading decodes files one by one (worth a progress bar)

    @property
    @abstractmethod
    def shape(self) -> tuple[int, int, int, int]:
        """(N, C, H, W) of the images this source returns."""

    @abstractmethod
    def read(self, indices: np.ndarray) -> np.ndarray:
        """uint8 array (len(indices), C, H, W) of the images at ``indices``."""

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.shape[1:]

    @property
    def nbytes(self) -> int:
        n, c, h, w = self.shape
        return n * c * h * w


class ArraySource(ImageSource):
    """Images already in a numpy array (N, C, H, W), possibly a strided view (e.g. SVHN)."""

    def __init__(self, array: np.ndarray) -> None:
        if array.ndim != 4 or array.dtype != np.uint8:
            raise ValueError(f"expected uint8 (N, C, H, W) images, got {array.dtype} {array.shape}")
        self.array = array

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return tuple(self.array.shape)

    def read(self, indices: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(self.array[indices])


class MemmapSource(ImageSource):
    """Raw uint8 images in a file, memory-mapped lazily (so worker processes re-open it).

    ``disk_shape`` is (N, C, A, B) as stored; ``swap_hw`` transposes the last two axes (STL-10 is
    stored column-major per channel).
    """

    def __init__(
        self,
        path: Path,
        disk_shape: tuple[int, int, int, int],
        *,
        offset: int = 0,
        swap_hw: bool = False,
    ) -> None:
        self.path = Path(path)
        self.disk_shape = disk_shape
        self.offset = offset
        self.swap_hw = swap_hw
        self._array: np.memmap | None = None

    @property
    def shape(self) -> tuple[int, int, int, int]:
        n, c, a, b = self.disk_shape
        return (n, c, b, a) if self.swap_hw else (n, c, a, b)

    def _mapped(self) -> np.memmap:
        if self._array is None:
            self._array = np.memmap(
                self.path, dtype=np.uint8, mode="r", offset=self.offset, shape=self.disk_shape
            )
        return self._array

    def read(self, indices: np.ndarray) -> np.ndarray:
        batch = np.asarray(self._mapped()[indices])
        if self.swap_hw:
            batch = batch.transpose(0, 1, 3, 2)
        return np.ascontiguousarray(batch)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_array"] = None  # pickling a memmap would copy the whole file
        return state


class ResizedSource(ImageSource):
    """Another source resized to (H, W) per batch with :func:`resize_uint8`."""

    def __init__(self, base: ImageSource, size: tuple[int, int]) -> None:
        self.base = base
        self.size = size
        self.slow = base.slow

    @property
    def shape(self) -> tuple[int, int, int, int]:
        n, c, _, _ = self.base.shape
        return (n, c, *self.size)

    def read(self, indices: np.ndarray) -> np.ndarray:
        batch = torch.from_numpy(self.base.read(indices))
        return resize_uint8(batch, self.size).numpy()


class ImageFileSource(ImageSource):
    """Image files decoded with PIL as RGB; all must be ``size`` (H, W) unless ``resize``."""

    slow = True

    def __init__(self, paths: Sequence[Path], size: tuple[int, int], *, resize: bool) -> None:
        self.paths = [Path(p) for p in paths]
        self.size = size
        self.resize = resize

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (len(self.paths), 3, *self.size)

    def read(self, indices: np.ndarray) -> np.ndarray:
        out = np.empty((len(indices), 3, *self.size), dtype=np.uint8)
        for row, i in enumerate(np.asarray(indices).reshape(-1).tolist()):
            out[row] = self.decode(self.paths[i])
        return out

    def decode(self, path: Path) -> np.ndarray:
        """One image as uint8 (3, H, W)."""
        h, w = self.size
        pil = require("PIL.Image", "reading image files")
        try:
            with pil.open(path) as img:
                rgb = img.convert("RGB")
                if rgb.size != (w, h):
                    if not self.resize:
                        raise MixedImageSizesError(path, (rgb.size[1], rgb.size[0]), (h, w))
                    rgb = rgb.resize((w, h), pil.Resampling.BILINEAR)
                pixels = np.asarray(rgb, dtype=np.uint8)
        except (pil.UnidentifiedImageError, OSError, SyntaxError) as exc:
            raise CorruptDatasetError(path, f"not a decodable image ({exc})") from exc
        return pixels.transpose(2, 0, 1)


@dataclass
class RawSplit:
    """What a format reader returns: images, int64 labels (-1 = unlabelled), class names."""

    source: ImageSource
    targets: np.ndarray
    classes: list[str]
    location: Path
