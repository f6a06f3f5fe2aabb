"""Image datasets with batched, device-side access: the abstract API and the in-memory kind.

Every dataset returns batches as float images in [0, 1], (B, C, H, W), and int64 labels, both on
its device. :class:`TensorImageDataset` holds all images as one uint8 tensor on the device, so a
batch is one index operation; :class:`~robustssl.data.streaming.StreamingImageDataset` reads
batches from disk instead.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from robustssl.data.loader import BatchLoader
from robustssl.data.splits import stratified_fraction_indices, train_val_split_indices

Indices = torch.Tensor | Sequence[int] | np.ndarray
Batch = tuple[torch.Tensor, torch.Tensor]


class ImageDataset(ABC):
    """Labelled images (labels −1 when unlabelled) with batch access on ``device``."""

    def __init__(
        self,
        *,
        name: str,
        split: str,
        classes: Sequence[str],
        targets: torch.Tensor,
        device: torch.device | str,
    ) -> None:
        self.name = name
        self.split = split
        self.classes = list(classes)
        self.targets = torch.as_tensor(targets, dtype=torch.int64).cpu().reshape(-1)
        self.device = torch.device(device)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    @abstractmethod
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of every image."""

    @abstractmethod
    def read_uint8(self, indices: torch.Tensor) -> torch.Tensor:
        """uint8 images (B, C, H, W) at checked CPU ``indices`` (on any device)."""

    @abstractmethod
    def subset(self, indices: Indices) -> ImageDataset:
        """A dataset of the same kind and device holding the samples at ``indices``."""

    def __len__(self) -> int:
        return len(self.targets)

    def check_indices(self, indices: Indices) -> torch.Tensor:
        """``indices`` as a 1-D CPU LongTensor, bounds-checked (negative ones not allowed)."""
        idx = torch.as_tensor(np.asarray(indices) if isinstance(indices, range) else indices)
        idx = idx.detach().cpu().reshape(-1)
        if idx.dtype.is_floating_point or idx.dtype == torch.bool:
            raise TypeError(f"indices must be integers, got {idx.dtype}")
        idx = idx.long()
        if len(idx) and (idx.min() < 0 or idx.max() >= len(self)):
            raise IndexError(
                f"indices must be in [0, {len(self)}) for {self.name}/{self.split}; got "
                f"min {int(idx.min())}, max {int(idx.max())}"
            )
        return idx

    def get_batch(self, indices: Indices) -> Batch:
        """Float images in [0, 1] (B, C, H, W) and int64 labels, both on ``device``."""
        idx = self.check_indices(indices)
        return self._to_batch(self.read_uint8(idx), idx)

    def _to_batch(self, images: torch.Tensor, idx: torch.Tensor) -> Batch:
        x = images.to(self.device, non_blocking=True).float().div_(255)
        return x, self.targets[idx].to(self.device, non_blocking=True)

    def iter_batches(self, batches: list[torch.Tensor]) -> Iterator[Batch]:
        """``get_batch`` of each index batch in turn."""
        for idx in batches:
            yield self.get_batch(idx)

    def loader(
        self,
        batch_size: int,
        *,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> BatchLoader:
        """A seeded, shardable batch iterator (see :class:`BatchLoader`)."""
        return BatchLoader(
            self,
            batch_size,
            shuffle=shuffle,
            drop_last=drop_last,
            seed=seed,
            rank=rank,
            world_size=world_size,
        )

    def label_fraction(self, fraction: float, seed: int = 0) -> ImageDataset:
        """Stratified subset with round(fraction·n_c) (≥ 1) samples per class (seed 004 Table 1)."""
        return self.subset(stratified_fraction_indices(self.targets, fraction, seed))

    def train_val_split(
        self, val_fraction: float = 0.15, seed: int = 0
    ) -> tuple[ImageDataset, ImageDataset]:
        """Stratified held-out validation split (seed 003 §4 holds out 15 %)."""
        train, val = train_val_split_indices(self.targets, val_fraction, seed)
        return self.subset(train), self.subset(val)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, split={self.split!r}, n={len(self)}, "
            f"image_shape={self.image_shape}, classes={self.num_classes}, device={self.device})"
        )


class WrappedDataset(ImageDataset):
    """``base`` seen through a wrapper: its name, split, classes, labels and device, and (unless
    a subclass changes them) its images. Subclasses add what they change (channels, label
    columns) and their own ``subset``."""

    def __init__(self, base: ImageDataset) -> None:
        super().__init__(
            name=base.name,
            split=base.split,
            classes=base.classes,
            targets=base.targets,
            device=base.device,
        )
        self.base = base

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.base.image_shape

    def read_uint8(self, indices: torch.Tensor) -> torch.Tensor:
        return self.base.read_uint8(indices)


class TensorImageDataset(ImageDataset):
    """All images as one uint8 (N, C, H, W) tensor on the device; batches are index slices."""

    def __init__(
        self,
        images: torch.Tensor,
        targets: torch.Tensor | np.ndarray | Sequence[int],
        *,
        classes: Sequence[str] | None = None,
        name: str = "tensor",
        split: str = "train",
    ) -> None:
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError(
                f"images must be uint8 (N, C, H, W), got {images.dtype} {tuple(images.shape)}; "
                "convert with (x * 255).round().to(torch.uint8)"
            )
        targets = torch.as_tensor(targets, dtype=torch.int64)
        if len(targets) != len(images):
            raise ValueError(f"{len(images)} images but {len(targets)} targets")
        if classes is None:
            classes = [str(c) for c in range(int(targets.max()) + 1 if len(targets) else 0)]
        super().__init__(
            name=name, split=split, classes=classes, targets=targets, device=images.device
        )
        self.images = images

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def read_uint8(self, indices: torch.Tensor) -> torch.Tensor:
        return self.images[indices.to(self.images.device)]

    def subset(self, indices: Indices) -> TensorImageDataset:
        idx = self.check_indices(indices)
        return TensorImageDataset(
            self.read_uint8(idx),
            self.targets[idx],
            classes=self.classes,
            name=self.name,
            split=self.split,
        )

    def to(self, device: torch.device | str) -> TensorImageDataset:
        """The same data on ``device`` (self when already there)."""
        images = self.images.to(device)
        if images is self.images:
            return self
        return TensorImageDataset(
            images,
            self.targets,
            classes=self.classes,
            name=self.name,
            split=self.split,
        )
