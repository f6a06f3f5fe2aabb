"""CIFAR-style ResNet-18/34/50 backbones (3×3 stride-1 stem, no max-pool) giving pooled features.

The CIFAR variant of He et al.'s ResNet is the encoder of seed 000 §4.1, seed 001 §5 and seed 002
§3.3.2.3 (ResNet-18), seed 003 §4.2 (ResNet-18/34) and seed 004 "Experiments" (ResNet-50).
Child names follow torchvision (``conv1``, ``bn1``, ``layer1``…, ``downsample``) so layer names
and state-dict keys read the same; only the stem differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from robustssl.models._checks import check_image_batch, check_positive_int, init_conv_bn


def _conv3x3(in_planes: int, planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)


def _conv1x1(in_planes: int, planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=False)


def _downsample(in_planes: int, out_planes: int, stride: int) -> nn.Sequential | None:
    """1×1 projection shortcut when the shape changes, else None (identity shortcut)."""
    if stride == 1 and in_planes == out_planes:
        return None
    return nn.Sequential(_conv1x1(in_planes, out_planes, stride), nn.BatchNorm2d(out_planes))


class BasicBlock(nn.Module):
    """Two 3×3 convs with an identity/projection shortcut (ResNet-18/34)."""

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv3x3(in_planes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU()
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = _downsample(in_planes, planes * self.expansion, stride)
        self.relu_out = nn.ReLU()

    def last_bn(self) -> nn.Module:
        """The BN before the residual sum (zeroed by ``zero_init_residual``)."""
        return self.bn2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu_out(out + identity)


class Bottleneck(nn.Module):
    """1×1 → 3×3 (strided) → 1×1 convs with 4× expansion (ResNet-50, torchvision's v1.5 stride)."""

    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv1x1(in_planes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU()
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu2 = nn.ReLU()
        self.conv3 = _conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.downsample = _downsample(in_planes, planes * self.expansion, stride)
        self.relu_out = nn.ReLU()

    def last_bn(self) -> nn.Module:
        """The BN before the residual sum (zeroed by ``zero_init_residual``)."""
        return self.bn3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu_out(out + identity)


class ResNet(nn.Module):
    """CIFAR ResNet trunk: 3×3 stride-1 stem, BN, ReLU, no max-pool, four stages, global avg-pool.

    ``forward`` returns features of shape (B, feature_dim); classifiers are separate heads.
    Stages have ``width``·(1, 2, 4, 8) planes (64/128/256/512 by default).
    """

    layer1: nn.Sequential
    layer2: nn.Sequential
    layer3: nn.Sequential
    layer4: nn.Sequential

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: Sequence[int],
        in_channels: int = 3,
        width: int = 64,
        zero_init_residual: bool = False,
    ) -> None:
        super().__init__()
        if len(layers) != 4 or any(
            isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in layers
        ):
            raise ValueError(f"layers must be 4 positive ints (blocks per stage), got {layers!r}")
        self.in_channels = check_positive_int("in_channels", in_channels)
        width = check_positive_int("width", width)
        self.conv1 = _conv3x3(in_channels, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        planes_in = width
        for i, n_blocks in enumerate(layers):
            planes = width * 2**i
            stage = [block(planes_in, planes, 1 if i == 0 else 2)]
            planes_in = planes * block.expansion
            stage += [block(planes_in, planes) for _ in range(n_blocks - 1)]
            self.add_module(f"layer{i + 1}", nn.Sequential(*stage))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.feature_dim: int = planes_in
        self._init_weights(zero_init_residual)

    def _init_weights(self, zero_init_residual: bool) -> None:
        """Kaiming-normal (fan_out) convs, BN weight 1, bias 0; optionally zero blocks' last BN."""
        init_conv_bn(self)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, BasicBlock | Bottleneck):
                    bn = m.last_bn()
                    assert isinstance(bn, nn.BatchNorm2d)  # as built (before any BN swap)
                    nn.init.zeros_(bn.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_image_batch(x, self.in_channels)
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.flatten(self.avgpool(x))


def resnet18(in_channels: int = 3, **kwargs: Any) -> ResNet:
    """CIFAR ResNet-18 (BasicBlock ×[2,2,2,2], feature_dim 512·width/64)."""
    return ResNet(BasicBlock, (2, 2, 2, 2), in_channels=in_channels, **kwargs)


def resnet34(in_channels: int = 3, **kwargs: Any) -> ResNet:
    """CIFAR ResNet-34 (BasicBlock ×[3,4,6,3], feature_dim 512·width/64)."""
    return ResNet(BasicBlock, (3, 4, 6, 3), in_channels=in_channels, **kwargs)


def resnet50(in_channels: int = 3, **kwargs: Any) -> ResNet:
    """CIFAR ResNet-50 (Bottleneck ×[3,4,6,3], feature_dim 2048·width/64)."""
    return ResNet(Bottleneck, (3, 4, 6, 3), in_channels=in_channels, **kwargs)
