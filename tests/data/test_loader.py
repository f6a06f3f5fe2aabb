"""BatchLoader: coverage, order, seeding, sharding; in-memory vs streaming batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robustssl.data import BatchLoader, StreamingImageDataset, TensorImageDataset
from robustssl.data.sources import ArraySource


def _toy(n: int) -> TensorImageDataset:
    """Image i is filled with i (mod 256) and labelled i, so a batch reveals its indices."""
    images = (torch.arange(n) % 256).to(torch.uint8).reshape(n, 1, 1, 1).repeat(1, 2, 3, 3)
    return TensorImageDataset(images, torch.arange(n), classes=[str(i) for i in range(n)])


def _flat(lists: list[list[int]]) -> list[int]:
    return [v for sub in lists for v in sub]


def _seen(loader: BatchLoader) -> list[int]:
    return [i for _, y in loader for i in y.tolist()]


def test_sequential_batches_and_values():
    loader = _toy(23).loader(5)
    batches = list(loader)
    assert len(loader) == 5 and [len(y) for _, y in batches] == [5, 5, 5, 5, 3]
    assert _seen(loader) == list(range(23))
    x, y = batches[1]
    assert x.dtype == torch.float32 and x.shape == (5, 2, 3, 3) and y.dtype == torch.int64
    assert torch.equal(x[:, 0, 0, 0], y.float() / 255)


def test_shuffle_covers_each_index_once_and_drop_last():
    loader = _toy(23).loader(4, shuffle=True, seed=1)
    seen = _seen(loader)
    assert sorted(seen) == list(range(23)) and seen != list(range(23))
    dropped = _toy(23).loader(4, shuffle=True, seed=1, drop_last=True)
    assert len(dropped) == 5 and [len(y) for _, y in dropped] == [4] * 5
    assert _seen(dropped) == seen[:20]


def test_set_epoch_is_deterministic():
    ds = _toy(50)
    a, b = ds.loader(8, shuffle=True, seed=7), ds.loader(8, shuffle=True, seed=7)
    first = _seen(a)
    assert _seen(a) == first  # same epoch, same order
    a.set_epoch(1)
    b.set_epoch(1)
    assert _seen(a) == _seen(b) != first
    a.set_epoch(0)
    assert _seen(a) == first
    assert _seen(ds.loader(8, shuffle=True, seed=8)) != first


@pytest.mark.parametrize("shuffle", [False, True])
def test_shards_disjoint_and_equal(shuffle):
    ds = _toy(24)
    shards = [_seen(ds.loader(4, shuffle=shuffle, rank=r, world_size=4)) for r in range(4)]
    assert all(len(s) == 6 for s in shards)
    assert sorted(_flat(shards)) == list(range(24))


def test_uneven_shards_pad_or_truncate():
    ds = _toy(23)
    padded = [ds.loader(5, shuffle=True, rank=r, world_size=4) for r in range(4)]
    shards = [_seen(p) for p in padded]
    assert all(len(s) == 6 for s in shards) and all(len(p) == 2 for p in padded)
    flat = _flat(shards)
    assert set(flat) == set(range(23)) and len(flat) == 24  # one index repeated as padding
    cut = [
        _seen(ds.loader(5, shuffle=True, rank=r, world_size=4, drop_last=True)) for r in range(4)
    ]
    assert all(len(s) == 5 for s in cut)
    assert len(set(_flat(cut))) == 20


def test_bad_arguments():
    ds = _toy(5)
    for kwargs in ({"rank": 2, "world_size": 2}, {"world_size": 0}, {"rank": -1}):
        with pytest.raises(ValueError):
            ds.loader(2, **kwargs)
    with pytest.raises(ValueError, match="batch_size"):
        ds.loader(0)
    with pytest.raises(IndexError, match=r"\[0, 5\)"):
        ds.get_batch([5])
    with pytest.raises(TypeError, match="integers"):
        ds.get_batch(torch.tensor([0.5]))


def test_streaming_equals_memory_batches_and_subsets():
    rng = np.random.default_rng(0)
    array = rng.integers(0, 256, (30, 3, 4, 5), dtype=np.uint8)
    targets = rng.integers(0, 3, 30)
    mem = TensorImageDataset(torch.from_numpy(array), targets, classes=["a", "b", "c"])
    stream = StreamingImageDataset(
        ArraySource(array), targets, classes=["a", "b", "c"], name="toy", split="train"
    )
    for (xm, ym), (xs, ys) in zip(
        mem.loader(7, shuffle=True, seed=3), stream.loader(7, shuffle=True, seed=3), strict=True
    ):
        assert torch.equal(xm, xs) and torch.equal(ym, ys)
    sub_m, sub_s = mem.subset([29, 3, 3, 10]), stream.subset([29, 3, 3, 10])
    assert isinstance(sub_s, StreamingImageDataset) and len(sub_s) == 4
    assert torch.equal(sub_m.get_batch([0, 2])[0], sub_s.get_batch([0, 2])[0])
    twice = sub_s.subset([3, 0])  # subsets of subsets map back to the source
    assert torch.equal(twice.get_batch([0, 1])[0], mem.get_batch([10, 29])[0])
    assert mem.to("cpu") is mem


def test_epoch_seeds_distinct():
    from robustssl.utils import mix_seed

    seeds = {mix_seed(s, e) for s in range(64) for e in range(64)}
    assert len(seeds) == 64 * 64 and all(0 <= v < 2**32 for v in seeds)
    triples = {mix_seed(s, e, r) for s in range(16) for e in range(16) for r in range(8)}
    assert len(triples) == 16 * 16 * 8
    assert mix_seed(1, 2) != mix_seed(2, 1) and mix_seed(5, 0) != mix_seed(5)


def test_lightning_sets_the_epoch():
    from lightning.fabric.utilities.data import _set_sampler_epoch
    from lightning.pytorch.utilities.data import _is_dataloader_shuffled

    loader = _toy(40).loader(8, shuffle=True, seed=0)
    reference = _toy(40).loader(8, shuffle=True, seed=0)
    reference.set_epoch(3)
    _set_sampler_epoch(loader, 3)
    assert loader.epoch == 3 and _seen(loader) == _seen(reference)
    assert _is_dataloader_shuffled(loader) is False  # inspected without errors


def test_order_is_fixed_at_first_batch_not_at_iter() -> None:
    """Lightning may call iter() before set_epoch (on resume); the new epoch's order must win."""
    data = TensorImageDataset(torch.zeros(10, 1, 2, 2, dtype=torch.uint8), torch.arange(10))
    loader = data.loader(10, shuffle=True, seed=0)
    iterator = iter(loader)
    loader.set_epoch(3)
    _, y = next(iterator)
    loader.set_epoch(3)
    expected = next(iter(loader))[1]
    assert torch.equal(y, expected)
    loader.set_epoch(0)
    assert not torch.equal(next(iter(loader))[1], expected)
