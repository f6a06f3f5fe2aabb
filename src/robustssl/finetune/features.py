"""Frozen-encoder features computed once (the SLF fast path): seed 000 §4.1 trains the readout on
the whole train set without augmentation, so the encoder's output never changes and every epoch
after the first only needs the linear head."""

from __future__ import annotations

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
