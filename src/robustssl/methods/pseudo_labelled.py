"""A training set whose batches carry extra label columns (AdvCL's ClusterFit pseudo-labels).

Batches are ``(x, labels)`` with ``labels`` (B, 1 + n): column 0 the dataset's own label (−1 when
unknown, used only by the online probe), columns 1… the n pseudo-labels of each sample. The
images come from the wrapped dataset (its own batching, e.g. a streaming dataset's prefetch).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from robustssl.data import ImageDataset
from robustssl.data.dataset import Batch, Indices, WrappedDataset


class PseudoLabelledDataset(WrappedDataset):
    """``base`` with per-sample label columns ``pseudo_labels`` (N, n) int64 appended."""

    def __init__(self, base: ImageDataset, pseudo_labels: Tensor) -> None:
        if pseudo_labels.ndim != 2 or pseudo_labels.shape[0] != len(base):
            raise ValueError(
                f"pseudo_labels must be (N, n) with N = {len(base)} samples of {base.name}, "
                f"got {tuple(pseudo_labels.shape)}"
            )
        super().__init__(base)
        self.pseudo_labels = pseudo_labels.to(torch.int64).cpu()

    def subset(self, indices: Indices) -> PseudoLabelledDataset:
        idx = self.check_indices(indices)
        return PseudoLabelledDataset(self.base.subset(idx), self.pseudo_labels[idx])

    def _columns(self, y: Tensor, idx: Tensor) -> Tensor:
        extra = self.pseudo_labels[idx].to(y.device, non_blocking=True)
        return torch.cat([y[:, None], extra], dim=1)

    def get_batch(self, indices: Indices) -> Batch:
        idx = self.check_indices(indices)
        x, y = self.base.get_batch(idx)
        return x, self._columns(y, idx)

    def iter_batches(self, batches: list[Tensor]) -> Iterator[Batch]:
        checked = [self.check_indices(b) for b in batches]
        for idx, (x, y) in zip(checked, self.base.iter_batches(checked), strict=True):
            yield x, self._columns(y, idx)
