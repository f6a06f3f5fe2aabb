"""The kNN monitor: cosine neighbours, weighted votes."""

from __future__ import annotations

import pytest
import torch

from robustssl.methods import knn_accuracy, knn_predict


def test_knn_picks_nearest_cosine_class() -> None:
    bank = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    labels = torch.tensor([0, 0, 1, 1])
    queries = torch.tensor([[10.0, 1.0], [0.2, 3.0]])  # scale must not matter (cosine)
    scores = knn_predict(bank, labels, queries, num_classes=2, k=2)
    assert scores.argmax(1).tolist() == [0, 1]
    assert scores.shape == (2, 2)


def test_weighted_vote_beats_majority() -> None:
    bank = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.05, 1.0]])
    labels = torch.tensor([0, 1, 1])
    query = torch.tensor([[1.0, 0.02]])
    weighted = knn_predict(bank, labels, query, 2, k=3, temperature=0.05)
    uniform = knn_predict(bank, labels, query, 2, k=3, weighting="uniform")
    assert weighted.argmax().item() == 0 and uniform.argmax().item() == 1


def test_knn_accuracy_on_separable_clusters() -> None:
    gen = torch.Generator().manual_seed(0)
    centres = torch.eye(3) * 5
    labels = torch.arange(3).repeat_interleave(20)
    bank = centres[labels] + torch.randn(60, 3, generator=gen) * 0.3
    test = centres[labels] + torch.randn(60, 3, generator=gen) * 0.3
    assert knn_accuracy(bank, labels, test, labels, 3, k=5) == 1.0
    shuffled = labels[torch.randperm(60, generator=gen)]
    assert knn_accuracy(bank, shuffled, test, labels, 3, k=5) < 0.7


def test_knn_rejects_bad_k() -> None:
    with pytest.raises(ValueError, match="k must be"):
        knn_predict(torch.ones(3, 2), torch.zeros(3, dtype=torch.long), torch.ones(1, 2), 2, k=4)
