"""What one training epoch iterates over: cached features (the SLF fast path) or images, which
are augmented and attacked on the fly. Both follow the same seeded per-epoch order, so cached and
uncached SLF see the same batches and reach the same head (to float rounding)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from torch import Tensor, nn

from robustssl.attacks import Attack
from robustssl.data import BatchLoader, ImageDataset
from robustssl.finetune.adversary import adversarial_batch
from robustssl.finetune.augment import augment_batch
from robustssl.finetune.config import AugmentationConfig
from robustssl.finetune.features import compute_features
from robustssl.finetune.loop import Batches, Prepare, TrainBatch
from robustssl.utils import mix_seed

_ORDER_STREAM = 0x0DE5


def train_loader(dataset: ImageDataset, batch_size: int, seed: int) -> BatchLoader:
    """Shuffled, seeded per epoch; drops a final batch of one sample (BatchNorm needs two)."""
    return dataset.loader(
        batch_size,
        shuffle=True,
        seed=mix_seed(seed, _ORDER_STREAM),
        drop_last=len(dataset) % batch_size == 1,
    )


@dataclass
class FeatureSource:
    """Features of the whole train split, computed once with the frozen encoder."""

    features: Tensor
    labels: Tensor
    loader: BatchLoader

    @classmethod
    def build(
        cls,
        encoder: nn.Module,
        dataset: ImageDataset,
        batch_size: int,
        eval_batch_size: int,
        seed: int,
        progress: bool,
    ) -> FeatureSource:
        features, labels = compute_features(encoder, dataset, eval_batch_size, progress)
        return cls(features, labels, train_loader(dataset, batch_size, seed))

    def epoch(self, epoch: int) -> Iterator[tuple[Tensor, Tensor]]:
        self.loader.set_epoch(epoch)
        for idx in self.loader.batches():
            idx = idx.to(self.features.device)
            yield self.features[idx], self.labels[idx]

    def prepare(self, epoch: int) -> Prepare | None:
        return None


@dataclass
class ImageSource:
    """Images of the train split; ``prepare`` augments and (with an attack) perturbs them, keeping
    the augmented clean batch as ``natural`` when ``keep_natural`` (TRADES)."""

    loader: BatchLoader
    augmentation: AugmentationConfig
    attack: Attack | None
    seed: int
    keep_natural: bool = False

    def epoch(self, epoch: int) -> Batches:
        self.loader.set_epoch(epoch)
        return self.loader

    def prepare(self, epoch: int) -> Prepare | None:
        if self.augmentation.name == "none" and self.attack is None:
            return None

        def prepare(x: Tensor, y: Tensor, step: int) -> TrainBatch:
            natural = augment_batch(x, self.augmentation, self.seed, epoch, step)
            if self.attack is None:
                return TrainBatch(natural, y)
            x_adv = adversarial_batch(self.attack, natural, y, self.seed, epoch, step)
            return TrainBatch(x_adv, y, natural if self.keep_natural else None)

        return prepare
