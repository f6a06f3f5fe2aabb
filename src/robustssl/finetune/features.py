"""Frozen-encoder features computed once (the SLF fast path): seed 000 §4.1 trains the readout on
the whole train set without augmentation, so the encoder's output never changes and every epoch
after the first only needs the linear head."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor, nn

from robustssl.data import ImageDataset
from robustssl.utils.progress import tqdm


@torch.no_grad()
def compute_features(
    encoder: nn.Module, dataset: ImageDataset, batch_size: int, progress: bool = True
) -> tuple[Tensor, Tensor]:
    """(features (N, D), labels (N,)) of ``dataset`` in order, with ``encoder`` in eval mode."""
    was_training = encoder.training
    encoder.eval()
    feats, labels = [], []
    try:
        loader = dataset.loader(batch_size, shuffle=False)
        for x, y in tqdm(
            loader,
            desc=f"features {dataset.name}/{dataset.split}",
            disable=not progress,
            leave=False,
            unit="batch",
        ):
            feats.append(encoder(x))
            labels.append(y)
    finally:
        encoder.train(was_training)
    return torch.cat(feats), torch.cat(labels)


class FeatureDataset:
    """Cached features as a dataset: (features[idx], labels[idx]) per index batch, so the SLF
    fast path trains through the same sharded, seeded loader as images
    (:class:`robustssl.data.loader.Batchable`)."""

    def __init__(self, features: Tensor, labels: Tensor) -> None:
        if len(features) != len(labels):
            raise ValueError(f"{len(features)} feature rows for {len(labels)} labels")
        self.features, self.labels = features, labels

    @classmethod
    def build(
        cls, encoder: nn.Module, dataset: ImageDataset, batch_size: int, progress: bool = True
    ) -> FeatureDataset:
        """The features of ``dataset`` through the frozen ``encoder`` (one pass)."""
        return cls(*compute_features(encoder, dataset, batch_size, progress))

    def __len__(self) -> int:
        return len(self.labels)

    def iter_batches(self, batches: list[Tensor]) -> Iterator[tuple[Tensor, Tensor]]:
        for idx in batches:
            idx = idx.to(self.features.device)
            yield self.features[idx], self.labels[idx]
