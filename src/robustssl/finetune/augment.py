"""Finetuning augmentation: ``crop_flip`` = zero-pad by p pixels, crop a random H×W window (a
random translation, torchvision's ``RandomCrop(size, padding=p)``) and mirror with probability
``hflip_p``: the views package's ``random_translate_flip`` (one gather for the whole batch, no
resampling). Seed 000 §4.1 augments the
adversarially trained readout with random crop + flip; AdvCL's finetuning script does the same.
"""

from __future__ import annotations

from torch import Tensor

from robustssl.data.views.translate import random_translate_flip
from robustssl.finetune.config import AugmentationConfig
from robustssl.utils import make_generator, mix_seed

_AUGMENT_STREAM = 0xA06  # separates augmentation seeds from the attack seeds


def augment_batch(x: Tensor, cfg: AugmentationConfig, seed: int, epoch: int, step: int) -> Tensor:
    """The configured augmentation of one training batch, seeded by (seed, epoch, step)."""
    if cfg.name == "none":
        return x
    generator = make_generator(mix_seed(seed, epoch, step, _AUGMENT_STREAM))
    return random_translate_flip(x, cfg.padding, cfg.hflip_p, generator)
