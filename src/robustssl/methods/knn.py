"""Weighted k-nearest-neighbour classifier on features (Wu et al. 2018's monitor, as used by
solo-learn and lightly), cosine similarity, votes weighted by exp(sim/τ)."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor


@torch.no_grad()
def knn_predict(
    train_features: Tensor,
    train_labels: Tensor,
    query_features: Tensor,
    num_classes: int,
    k: int = 20,
    temperature: float = 0.07,
    weighting: Literal["exp", "uniform"] = "exp",
    chunk_size: int = 1024,
) -> Tensor:
    """Class scores (Q, num_classes) of each query from its k most cosine-similar bank rows."""
    if train_features.shape[0] != train_labels.shape[0]:
        raise ValueError("train_features and train_labels differ in length")
    if not 1 <= k <= train_features.shape[0]:
        raise ValueError(f"k must be in [1, {train_features.shape[0]}], got {k}")
    bank = F.normalize(train_features.float(), dim=1)
    scores = []
    for chunk in query_features.split(chunk_size):
        sim = F.normalize(chunk.float(), dim=1) @ bank.T
        top_sim, top_idx = sim.topk(k, dim=1)
        weights = (top_sim / temperature).exp() if weighting == "exp" else torch.ones_like(top_sim)
        votes = torch.zeros(chunk.shape[0], num_classes, device=chunk.device)
        votes.scatter_add_(1, train_labels[top_idx], weights)
        scores.append(votes)
    return torch.cat(scores)


def knn_accuracy(
    train_features: Tensor,
    train_labels: Tensor,
    test_features: Tensor,
    test_labels: Tensor,
    num_classes: int,
    k: int = 20,
    temperature: float = 0.07,
) -> float:
    """Top-1 accuracy (fraction) of :func:`knn_predict`."""
    scores = knn_predict(
        train_features,
        train_labels.to(train_features.device),
        test_features,
        num_classes,
        k=k,
        temperature=temperature,
    )
    return (scores.argmax(1).cpu() == test_labels.cpu()).float().mean().item()
