"""Stratified label fractions and train/validation splits."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from robustssl.data import (
    TensorImageDataset,
    stratified_fraction_indices,
    train_val_split_indices,
)

# class 0: 100, class 1: 50, class 2: 7, class 3: 1, class 4: 5 samples, interleaved
COUNTS = [100, 50, 7, 1, 5]
TARGETS = torch.cat([torch.full((n,), c) for c, n in enumerate(COUNTS)])[
    torch.randperm(sum(COUNTS), generator=torch.Generator().manual_seed(0))
]


def _per_class(targets: torch.Tensor, idx: torch.Tensor) -> list[int]:
    return torch.bincount(targets[idx], minlength=len(COUNTS)).tolist()


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [
        (0.1, [10, 5, 1, 1, 1]),  # 0.7 and 0.5 round half up to 1; ≥ 1 per class
        (0.01, [1, 1, 1, 1, 1]),
        (0.5, [50, 25, 4, 1, 3]),  # 3.5 → 4, 2.5 → 3
        (0.3, [30, 15, 2, 1, 2]),
    ],
)
def test_fraction_counts_are_exact_per_class(fraction, expected):
    idx = stratified_fraction_indices(TARGETS, fraction, seed=0)
    assert _per_class(TARGETS, idx) == expected
    assert torch.equal(idx, torch.sort(idx).values) and len(idx.unique()) == len(idx)


def test_fraction_seeded_and_full():
    a = stratified_fraction_indices(TARGETS, 0.1, seed=3)
    assert torch.equal(a, stratified_fraction_indices(TARGETS, 0.1, seed=3))
    assert not torch.equal(a, stratified_fraction_indices(TARGETS, 0.1, seed=4))
    assert torch.equal(stratified_fraction_indices(TARGETS, 1.0), torch.arange(len(TARGETS)))


@pytest.mark.parametrize("bad", [0, 0.0, -0.1, 1.5, float("nan"), True, "0.1"])
def test_fraction_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="fraction"):
        stratified_fraction_indices(TARGETS, bad)


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.integers(1, 40), min_size=1, max_size=6),
    fraction=st.floats(0.001, 1.0),
    seed=st.integers(0, 2**31),
)
def test_fraction_property(counts, fraction, seed):
    targets = torch.cat([torch.full((n,), c) for c, n in enumerate(counts)])
    idx = stratified_fraction_indices(targets, fraction, seed)
    got = torch.bincount(targets[idx], minlength=len(counts)).tolist()
    want = [min(n, max(1, math.floor(fraction * n + 0.5))) for n in counts]
    assert got == want
    assert bool((idx[1:] > idx[:-1]).all())


def test_val_split_sizes_disjoint_and_seeded():
    train, val = train_val_split_indices(TARGETS, 0.15, seed=0)
    # per class round(0.15 n) capped at n - 1: 15, 7.5 → 8, 1.05 → 1, 0 (single sample), 0.75 → 1
    assert _per_class(TARGETS, val) == [15, 8, 1, 0, 1]
    assert len(train) + len(val) == len(TARGETS)
    assert set(train.tolist()).isdisjoint(val.tolist())
    assert sorted(train.tolist() + val.tolist()) == list(range(len(TARGETS)))
    again = train_val_split_indices(TARGETS, 0.15, seed=0)
    assert torch.equal(val, again[1]) and torch.equal(train, again[0])
    assert not torch.equal(val, train_val_split_indices(TARGETS, 0.15, seed=1)[1])


def test_cifar10_sized_split_matches_seed003():
    targets = torch.arange(50_000) % 10
    train, val = train_val_split_indices(targets, 0.15, seed=0)
    assert len(val) == 7_500 and len(train) == 42_500
    assert torch.bincount(targets[val]).tolist() == [750] * 10


def test_unstratified_split_and_errors():
    train, val = train_val_split_indices(TARGETS, 0.2, seed=0, stratified=False)
    assert len(val) == round(0.2 * len(TARGETS)) and len(train) == len(TARGETS) - len(val)
    for bad in (0, 1.0, 1.2):
        with pytest.raises(ValueError, match="val_fraction"):
            train_val_split_indices(TARGETS, bad)
    with pytest.raises(ValueError, match="empty"):
        train_val_split_indices(torch.arange(3), 0.1)


def test_dataset_methods_keep_pixels_and_labels():
    images = torch.arange(len(TARGETS), dtype=torch.uint8).reshape(-1, 1, 1, 1).expand(-1, 1, 2, 2)
    ds = TensorImageDataset(images.contiguous(), TARGETS, classes=list("abcde"), name="toy")
    sub = ds.label_fraction(0.1, seed=5)
    idx = stratified_fraction_indices(TARGETS, 0.1, seed=5)
    assert isinstance(sub, TensorImageDataset) and sub.classes == ds.classes
    assert torch.equal(sub.images[:, 0, 0, 0].long(), idx)
    assert torch.equal(sub.targets, TARGETS[idx])
    train, val = ds.train_val_split(0.15, seed=0)
    assert len(train) + len(val) == len(ds)
    tr_idx, va_idx = train_val_split_indices(TARGETS, 0.15, seed=0)
    assert torch.equal(val.images[:, 0, 0, 0].long(), va_idx)
    assert torch.equal(train.targets, TARGETS[tr_idx])
