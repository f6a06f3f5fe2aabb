"""Datasets too large for the device: batches are read from disk through a DataLoader.

The DataLoader's sampler yields whole index batches (``batch_size=None``), so each worker call
reads one batch: a memmap slice, an array fancy-index, or a loop of PIL decodes for image files.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from robustssl.data.dataset import Batch, ImageDataset, Indices
from robustssl.data.sources import ImageSource


class _BatchReader(Dataset):
    """Map-style dataset whose items are whole batches: ``reader[index_batch]``."""

    def __init__(self, source: ImageSource, indices: torch.Tensor) -> None:
        self.source = source
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, batch: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.source.read(self.indices[batch].numpy()))


class StreamingImageDataset(ImageDataset):
    """Images read on demand from an :class:`ImageSource`; ``num_workers`` reader processes."""

    def __init__(
        self,
        source: ImageSource,
        targets: torch.Tensor | np.ndarray,
        *,
        classes: Sequence[str],
        name: str,
        split: str,
        device: torch.device | str = "cpu",
        num_workers: int = 0,
        indices: torch.Tensor | None = None,
    ) -> None:
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"num_workers={num_workers!r} must be an int ≥ 0")
        self.source = source
        self.source_indices = torch.arange(len(source)) if indices is None else indices
        targets = torch.as_tensor(np.asarray(targets), dtype=torch.int64)
        if len(targets) != len(self.source_indices):
            raise ValueError(f"{len(self.source_indices)} images but {len(targets)} targets")
        super().__init__(name=name, split=split, classes=classes, targets=targets, device=device)
        self.num_workers = num_workers

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.source.image_shape

    def read_uint8(self, indices: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.source.read(self.source_indices[indices].numpy()))

    def subset(self, indices: Indices) -> StreamingImageDataset:
        idx = self.check_indices(indices)
        return StreamingImageDataset(
            self.source,
            self.targets[idx],
            classes=self.classes,
            name=self.name,
            split=self.split,
            device=self.device,
            num_workers=self.num_workers,
            indices=self.source_indices[idx],
        )

    def iter_batches(self, batches: list[torch.Tensor]) -> Iterator[Batch]:
        """Batches read by ``num_workers`` DataLoader workers (in order), then moved to device."""
        if self.num_workers == 0:
            yield from super().iter_batches(batches)
            return
        loader = DataLoader(
            _BatchReader(self.source, self.source_indices),
            sampler=batches,
            batch_size=None,
            num_workers=self.num_workers,
            pin_memory=self.device.type == "cuda",
        )
        for idx, images in zip(batches, loader, strict=True):
            yield self._to_batch(images, idx)
