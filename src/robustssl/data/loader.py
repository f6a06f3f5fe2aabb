"""Seeded batch iteration over an :class:`~robustssl.data.dataset.ImageDataset`.

Per epoch: the order is ``randperm(N)`` from a generator seeded by (seed, epoch) when shuffling,
else ``0..N-1``; with ``world_size > 1`` it is padded by repeating its start (no ``drop_last``,
like torch's DistributedSampler) or truncated (``drop_last``) to a multiple of ``world_size``, and
rank r takes every ``world_size``-th index from r. Shards are therefore equal in size and disjoint
except for the padded repeats. Call :meth:`BatchLoader.set_epoch` before each epoch (Lightning
does, through the ``sampler`` attribute).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Protocol

import torch

from robustssl.utils import make_generator, mix_seed


class Batchable(Protocol):
    """What :class:`BatchLoader` iterates: N samples fetched a batch of indices at a time (an
    :class:`~robustssl.data.dataset.ImageDataset`, or finetuning's cached features)."""

    def __len__(self) -> int: ...

    def iter_batches(
        self, batches: list[torch.Tensor]
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]: ...


def _check_int(value: int, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name}={value!r} must be an int ≥ {low}")
    return value


class BatchLoader:
    """Iterable of ``(x, y)`` batches on the dataset's device; ``len`` = batches per epoch."""

    def __init__(
        self,
        dataset: Batchable,
        batch_size: int,
        *,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.dataset = dataset
        self.batch_size = _check_int(batch_size, "batch_size", 1)
        self.world_size = _check_int(world_size, "world_size", 1)
        self.rank = _check_int(rank, "rank", 0)
        if rank >= world_size:
            raise ValueError(f"rank={rank} must be < world_size={world_size}")
        self.shuffle, self.drop_last, self.seed = shuffle, drop_last, seed
        self.epoch = 0

    batch_sampler = None  # Lightning inspects it next to ``sampler``

    @property
    def sampler(self) -> BatchLoader:
        """Self, so Lightning's loops find :meth:`set_epoch` and call it every epoch."""
        return self

    def set_epoch(self, epoch: int) -> None:
        """Use the order of ``epoch`` (same seed and epoch ⇒ same order)."""
        self.epoch = _check_int(epoch, "epoch", 0)

    def _per_rank(self) -> int:
        n = len(self.dataset)
        return n // self.world_size if self.drop_last else math.ceil(n / self.world_size)

    def indices(self) -> torch.Tensor:
        """This rank's dataset indices for the current epoch, in iteration order."""
        n = len(self.dataset)
        if self.shuffle:
            order = torch.randperm(n, generator=make_generator(mix_seed(self.seed, self.epoch)))
        else:
            order = torch.arange(n)
        total = self._per_rank() * self.world_size
        if total > n and n > 0:
            order = order.repeat(math.ceil(total / n))
        return order[:total][self.rank :: self.world_size]

    def batches(self) -> list[torch.Tensor]:
        """This rank's index batches for the current epoch."""
        chunks = list(self.indices().split(self.batch_size))
        if self.drop_last and chunks and len(chunks[-1]) < self.batch_size:
            chunks.pop()
        return chunks

    def __len__(self) -> int:
        per_rank = self._per_rank()
        if self.drop_last:
            return per_rank // self.batch_size
        return math.ceil(per_rank / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        # A generator: the epoch's order is fixed at the first batch, not when iter() is called,
        # because Lightning may create the iterator before it calls set_epoch (e.g. on resume).
        yield from self.dataset.iter_batches(self.batches())
