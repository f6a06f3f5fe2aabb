"""What finetuning trains on: the training split (images, or their cached features for SLF) as
sharded, seeded batches, and each image batch turned into the training batch (augmented, then
attacked for ALF / AFF). Cached and uncached SLF follow the same per-epoch order, so they see
the same batches and reach the same head (to float rounding)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from robustssl.attacks import Attack
from robustssl.data.loader import Batchable
from robustssl.finetune.adversary import adversarial_batch
from robustssl.finetune.augment import augment_batch
from robustssl.finetune.config import AugmentationConfig
from robustssl.finetune.loop import TrainBatch
from robustssl.training.data_module import ShardedData
from robustssl.utils import mix_seed

_ORDER_STREAM = 0x0DE5


def train_data(train: Batchable, batch_size: int, seed: int) -> ShardedData:
    """Shuffled, seeded per epoch, sharded over DDP ranks; drops a final batch of one sample
    (BatchNorm needs two)."""
    return ShardedData(train, batch_size, mix_seed(seed, _ORDER_STREAM), drop_last="single")


@dataclass
class BatchPreparer:
    """``(x, y, epoch, step)`` → the training batch: ``x`` augmented and (with an attack)
    perturbed, keeping the augmented clean batch as ``natural`` when ``keep_natural`` (TRADES).
    Every draw is seeded by (seed, epoch, step), so a resumed run repeats them."""

    augmentation: AugmentationConfig
    attack: Attack | None
    seed: int
    keep_natural: bool = False

    def __call__(self, x: Tensor, y: Tensor, epoch: int, step: int) -> TrainBatch:
        natural = augment_batch(x, self.augmentation, self.seed, epoch, step)
        if self.attack is None:
            return TrainBatch(natural, y)
        x_adv = adversarial_batch(self.attack, natural, y, self.seed, epoch, step)
        return TrainBatch(x_adv, y, natural if self.keep_natural else None)
