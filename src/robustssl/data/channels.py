"""Channel conversion for a model trained on other images (e.g. an RGB encoder on Fashion-MNIST),
used by cross-dataset finetuning and the evaluation of a checkpoint: gray → RGB by repetition,
RGB → gray by ITU-R 601 luma (``robustssl.data.views.rgb_to_grayscale``). Applied to float
batches, so no extra rounding."""

from __future__ import annotations

import torch
from torch import Tensor

from robustssl.data.dataset import Batch, ImageDataset, Indices, WrappedDataset
from robustssl.data.views import rgb_to_grayscale


def convert_channels(x: Tensor, channels: int) -> Tensor:
    """(B, C, H, W) float images in [0,1] as ``channels`` channels (1 ↔ 3)."""
    c = x.shape[1]
    if c == channels:
        return x
    if c == 1 and channels == 3:
        return x.expand(-1, 3, -1, -1).contiguous()
    if c == 3 and channels == 1:
        return rgb_to_grayscale(x).clamp_(0.0, 1.0)
    raise ValueError(f"cannot convert {c}-channel images to {channels} channels (only 1 ↔ 3)")


class ChannelAdapter(WrappedDataset):
    """``base`` seen with ``channels`` channels; batches are converted on the device."""

    def __init__(self, base: ImageDataset, channels: int) -> None:
        if channels not in (1, 3) or base.image_shape[0] not in (1, 3):
            raise ValueError(
                f"channel conversion works between 1 and 3 channels; {base.name} has "
                f"{base.image_shape[0]}, the encoder takes {channels}"
            )
        super().__init__(base)
        self.channels = channels

    @property
    def image_shape(self) -> tuple[int, int, int]:
        _, h, w = self.base.image_shape
        return (self.channels, h, w)

    def read_uint8(self, indices: torch.Tensor) -> torch.Tensor:
        x = convert_channels(self.base.read_uint8(indices).float().div_(255), self.channels)
        return x.mul_(255).round_().clamp_(0, 255).to(torch.uint8)

    def get_batch(self, indices: Indices) -> Batch:
        x, y = self.base.get_batch(indices)
        return convert_channels(x, self.channels), y

    def subset(self, indices: Indices) -> ChannelAdapter:
        return ChannelAdapter(self.base.subset(indices), self.channels)


def with_channels(dataset: ImageDataset, channels: int) -> ImageDataset:
    """``dataset`` when it has ``channels`` channels already, else a :class:`ChannelAdapter`."""
    if dataset.image_shape[0] == channels:
        return dataset
    return ChannelAdapter(dataset, channels)
