"""Finetuning augmentation: ``crop_flip`` = zero-pad by p pixels, crop a random H×W window (a
random translation, torchvision's ``RandomCrop(size, padding=p)``) and mirror with probability
``hflip_p``, done for the whole batch in one ``grid_sample`` through the views package's
``resized_crop`` (crop boxes of the output size, so no rescaling). Seed 000 §4.1 augments the
adversarially trained readout with random crop + flip; AdvCL's finetuning script does the same.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from robustssl.data.views import resized_crop
from robustssl.finetune.config import AugmentationConfig
from robustssl.utils import make_generator, mix_seed

_AUGMENT_STREAM = 0xA06  # separates augmentation seeds from the attack seeds


def crop_flip(x: Tensor, padding: int, hflip_p: float, generator: torch.Generator) -> Tensor:
    """Random translation by up to ``padding`` pixels (zero fill) + random horizontal flip."""
    b, _, h, w = x.shape
    top = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
    left = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
    flip = torch.rand(b, generator=generator) < hflip_p
    padded = F.pad(x, (padding,) * 4) if padding else x
    boxes = torch.stack((top, left, torch.full_like(top, h), torch.full_like(left, w)), dim=1)
    return resized_crop(padded, boxes, (h, w), flip).clamp_(0.0, 1.0)


def augment_batch(x: Tensor, cfg: AugmentationConfig, seed: int, epoch: int, step: int) -> Tensor:
    """The configured augmentation of one training batch, seeded by (seed, epoch, step)."""
    if cfg.name == "none":
        return x
    generator = make_generator(mix_seed(seed, epoch, step, _AUGMENT_STREAM))
    return crop_flip(x, cfg.padding, cfg.hflip_p, generator)
