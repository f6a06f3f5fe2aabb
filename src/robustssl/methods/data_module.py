"""The training data of a pretraining run as a LightningDataModule: the loader is made once the
trainer knows this process's rank, so each DDP rank gets its own disjoint shard."""

from __future__ import annotations

import lightning as L

from robustssl.data import BatchLoader, ImageDataset


class PretrainData(L.LightningDataModule):
    def __init__(self, train: ImageDataset, batch_size: int, seed: int) -> None:
        super().__init__()
        self.train, self.batch_size, self.seed = train, batch_size, seed

    def train_dataloader(self) -> BatchLoader:
        world = self.trainer.world_size if self.trainer is not None else 1
        rank = self.trainer.global_rank if self.trainer is not None else 0
        per_rank = self.batch_size // world
        if per_rank * world != self.batch_size:
            raise ValueError(
                f"data.batch_size={self.batch_size} is not divisible by the {world} processes; "
                "use a multiple of the world size"
            )
        if per_rank > len(self.train) // world:
            raise ValueError(
                f"data.batch_size={self.batch_size} exceeds the {len(self.train)} samples; "
                "lower data.batch_size"
            )
        return self.train.loader(
            per_rank, shuffle=True, drop_last=True, seed=self.seed, rank=rank, world_size=world
        )
