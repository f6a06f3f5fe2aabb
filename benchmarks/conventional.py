"""The conventional SimCLR input pipeline that the benchmarks compare against: PIL images,
torchvision's per-sample transforms, two views per item, a DataLoader with 2 worker processes."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T


class PILPairs(Dataset):
    """PIL images, two independently transformed views per item; ``passes`` repeats the images."""

    def __init__(self, images: list[Image.Image], transform: T.Compose, passes: int = 1) -> None:
        self.images, self.transform, self.passes = images, transform, passes

    def __len__(self) -> int:
        return len(self.images) * self.passes

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        img = self.images[i % len(self.images)]
        return self.transform(img), self.transform(img)


def simclr_pil_transform(side: int, crop_scale: tuple[float, float] = (0.08, 1.0)) -> T.Compose:
    """torchvision's SimCLR CIFAR augmentation (colour strength 0.5, no blur)."""
    return T.Compose(
        [
            T.RandomResizedCrop(side, scale=crop_scale),
            T.RandomHorizontalFlip(),
            T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
            T.RandomGrayscale(0.2),
            T.ToTensor(),
        ]
    )


def conventional_loader(
    arrays: np.ndarray, transform: T.Compose, batch_size: int, passes: int = 1, workers: int = 2
) -> DataLoader:
    """``arrays`` (N, H, W, C) uint8 → PIL ("L" or "RGB") → transforms in ``workers`` processes."""
    gray = arrays.shape[-1] == 1
    images = [Image.fromarray(a[..., 0] if gray else a, "L" if gray else "RGB") for a in arrays]
    return DataLoader(
        PILPairs(images, transform, passes),
        batch_size=batch_size,
        num_workers=workers,
        persistent_workers=True,
    )
