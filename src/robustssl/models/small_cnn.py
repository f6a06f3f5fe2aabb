"""A small conv-BN-ReLU CNN for fast CPU studies on 28×28 (Fashion-MNIST) and 32×32 images."""

from __future__ import annotations

import torch
from torch import nn

from robustssl.models._checks import check_image_batch, check_positive_int, init_conv_bn


def _conv_bn_relu(in_ch: int, out_ch: int) -> list[nn.Module]:
    return [nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU()]


def _conv_bn_pool_relu(in_ch: int, out_ch: int) -> list[nn.Module]:
    """conv → BN → 2×2 max-pool → ReLU: the same function as ReLU before the pool (max and
    ReLU commute), with ReLU and its backward on a quarter of the activations (faster steps)."""
    conv, bn, relu = _conv_bn_relu(in_ch, out_ch)
    return [conv, bn, nn.MaxPool2d(2), relu]


class SmallCNN(nn.Module):
    """Three conv blocks and global average pooling, returning (B, feature_dim) features.

    ``block1``: conv(in→w), BN, 2×2 max-pool, ReLU; ``block2``: the same for w→2w; ``block3``:
    conv(2w→4w), conv(4w→feature_dim); then ``avgpool``/``flatten``. Every conv is 3×3 + BN + ReLU.
    Inputs need H, W ≥ 4. The CPU stand-in for the papers' ResNets (SPEC §2).
    """

    min_size = 4

    def __init__(self, in_channels: int = 1, width: int = 32, feature_dim: int | None = None):
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        width = check_positive_int("width", width)
        out_dim = 4 * width if feature_dim is None else feature_dim
        check_positive_int("feature_dim", out_dim)
        self.block1 = nn.Sequential(*_conv_bn_pool_relu(in_channels, width))
        self.block2 = nn.Sequential(*_conv_bn_pool_relu(width, 2 * width))
        self.block3 = nn.Sequential(
            *_conv_bn_relu(2 * width, 4 * width), *_conv_bn_relu(4 * width, out_dim)
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.feature_dim: int = out_dim
        init_conv_bn(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_image_batch(x, self.in_channels, self.min_size)
        return self.flatten(self.avgpool(self.block3(self.block2(self.block1(x)))))
