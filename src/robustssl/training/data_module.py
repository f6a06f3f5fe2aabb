"""The training data of a run as a LightningDataModule: the loader is made once the trainer
knows this process's rank, so each DDP rank gets its own disjoint shard (rank r takes every
world-th index of the epoch's seeded order, so one step's shards together are the batch one
process would have drawn: :class:`robustssl.data.BatchLoader`)."""

from __future__ import annotations

from typing import Literal

import lightning as L

from robustssl.data import BatchLoader
from robustssl.data.loader import Batchable


class ShardedData(L.LightningDataModule):
    """``train`` (images, or cached features) in seeded, per-epoch shuffled batches of
    ``batch_size`` in total over all processes. ``drop_last``: True drops an incomplete last
    batch (pretraining: a batch may not exceed the data); "single" drops it only when it would
    hold one sample (BatchNorm needs two; finetuning)."""

    def __init__(
        self,
        train: Batchable,
        batch_size: int,
        seed: int,
        drop_last: bool | Literal["single"] = True,
    ) -> None:
        super().__init__()
        self.train, self.batch_size, self.seed = train, batch_size, seed
        self.drop_last = drop_last

    def train_dataloader(self) -> BatchLoader:
        world = self.trainer.world_size if self.trainer is not None else 1
        rank = self.trainer.global_rank if self.trainer is not None else 0
        per_rank = self.batch_size // world
        if per_rank * world != self.batch_size:
            raise ValueError(
                f"data.batch_size={self.batch_size} is not divisible by the {world} processes; "
                "use a multiple of the world size"
            )
        drop = self.drop_last
        if drop == "single":
            drop = len(self.train) % self.batch_size == 1
        elif per_rank > len(self.train) // world:
            raise ValueError(
                f"data.batch_size={self.batch_size} exceeds the {len(self.train)} samples; "
                "lower data.batch_size"
            )
        return BatchLoader(
            self.train,
            per_rank,
            shuffle=True,
            drop_last=bool(drop),
            seed=self.seed,
            rank=rank,
            world_size=world,
        )
