"""Backbones: shapes, CIFAR stem, parameter counts (vs torchvision), init, validation, registry."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from robustssl.models import (
    BasicBlock,
    Encoder,
    LinearClassifier,
    ResNet,
    SmallCNN,
    available_backbones,
    build_backbone,
    build_encoder,
)

FEATURE_DIMS = {"resnet18": 512, "resnet34": 512, "resnet50": 2048, "small_cnn": 128}
# CIFAR variants without classifier: torchvision count − fc − (7×7 stem − 3×3 stem = 64·3·40).
PARAMS_NO_FC = {"resnet18": 11_168_832, "resnet34": 21_276_992, "resnet50": 23_500_352}


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module")
def backbones() -> dict[tuple[str, int], nn.Module]:
    torch.manual_seed(0)
    return {(n, c): build_backbone(n, c) for n in FEATURE_DIMS for c in (1, 3)}


def test_registry_names() -> None:
    assert available_backbones() == sorted(FEATURE_DIMS)


@pytest.mark.parametrize("name", sorted(FEATURE_DIMS))
@pytest.mark.parametrize(("channels", "size"), [(1, 28), (3, 32)])
def test_output_shape_and_feature_dim(
    backbones: dict[tuple[str, int], nn.Module], name: str, channels: int, size: int
) -> None:
    model = backbones[(name, channels)].eval()
    batch = 2 if name == "resnet50" else 3
    with torch.no_grad():
        out = model(torch.rand(batch, channels, size, size))
    assert model.feature_dim == FEATURE_DIMS[name]
    assert out.shape == (batch, FEATURE_DIMS[name])
    assert torch.isfinite(out).all()
    assert (out >= 0).all()  # pooled after a ReLU


@pytest.mark.parametrize("name", ["resnet18", "resnet34", "resnet50"])
def test_param_counts(backbones: dict[tuple[str, int], nn.Module], name: str) -> None:
    assert n_params(backbones[(name, 3)]) == PARAMS_NO_FC[name]
    # 1-channel stem: 64·(3−1)·9 fewer weights
    assert n_params(backbones[(name, 1)]) == PARAMS_NO_FC[name] - 64 * 2 * 9


def test_resnet18_with_cifar10_fc_has_known_count(
    backbones: dict[tuple[str, int], nn.Module],
) -> None:
    model = backbones[("resnet18", 3)]
    assert n_params(model) + n_params(LinearClassifier(512, 10)) == 11_173_962


@pytest.mark.parametrize("name", ["resnet18", "resnet34", "resnet50"])
def test_state_dict_matches_torchvision_except_stem(
    backbones: dict[tuple[str, int], nn.Module], name: str
) -> None:
    ours = {k: v.shape for k, v in backbones[(name, 3)].state_dict().items()}
    ref = getattr(torchvision.models, name)(weights=None).state_dict()
    ref_shapes = {k: v.shape for k, v in ref.items() if not k.startswith("fc.")}
    assert set(ours) == set(ref_shapes)
    assert ours["conv1.weight"] == (64, 3, 3, 3)
    assert ref_shapes["conv1.weight"] == (64, 3, 7, 7)
    assert all(ours[k] == ref_shapes[k] for k in ours if k != "conv1.weight")


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_cifar_stem_keeps_resolution(
    backbones: dict[tuple[str, int], nn.Module], name: str
) -> None:
    model = backbones[(name, 3)].eval()
    assert isinstance(model, ResNet)
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
    assert not any(isinstance(m, nn.MaxPool2d) for m in model.modules())
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        h = model.layer1(model.relu(model.bn1(model.conv1(x))))
        assert h.shape[-2:] == (16, 16)
        assert model.layer4(model.layer3(model.layer2(h))).shape[-2:] == (2, 2)


def test_child_names() -> None:
    names = [n for n, _ in ResNet(BasicBlock, (1, 1, 1, 1), width=4).named_children()]
    assert names == [
        "conv1",
        "bn1",
        "relu",
        "layer1",
        "layer2",
        "layer3",
        "layer4",
        "avgpool",
        "flatten",
    ]
    cnn_names = [n for n, _ in SmallCNN().named_children()]
    assert cnn_names == ["block1", "block2", "block3", "avgpool", "flatten"]


def test_init_kaiming_and_bn() -> None:
    torch.manual_seed(0)
    model = build_backbone("resnet18", width=16)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert torch.equal(m.weight, torch.ones_like(m.weight))
            assert torch.equal(m.bias, torch.zeros_like(m.bias))
    w = model.layer3[0].conv2.weight  # fan_out = 64·9 → std √(2/576)
    assert abs(w.std().item() - (2 / 576) ** 0.5) < 0.1 * (2 / 576) ** 0.5
    assert abs(w.mean().item()) < 0.01


def test_zero_init_residual() -> None:
    r18 = build_backbone("resnet18", width=8, zero_init_residual=True)
    r50 = build_backbone("resnet50", width=8, zero_init_residual=True)
    assert all(
        b.bn2.weight.abs().sum() == 0 and b.bn1.weight.min() == 1
        for s in (r18.layer1, r18.layer4)
        for b in s
    )
    assert all(
        b.bn3.weight.abs().sum() == 0 and b.bn2.weight.min() == 1
        for s in (r50.layer2, r50.layer3)
        for b in s
    )
    plain = build_backbone("resnet18", width=8)
    assert plain.layer1[0].bn2.weight.min() == 1


@pytest.mark.parametrize("name", sorted(FEATURE_DIMS))
def test_deterministic_init(name: str) -> None:
    kw = {"width": 8}
    torch.manual_seed(123)
    a = build_backbone(name, 3, **kw).state_dict()
    torch.manual_seed(123)
    b = build_backbone(name, 3, **kw).state_dict()
    torch.manual_seed(124)
    c = build_backbone(name, 3, **kw).state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(
        a["conv1.weight" if "resnet" in name else "block1.0.weight"],
        c["conv1.weight" if "resnet" in name else "block1.0.weight"],
    )


def test_width_scales_feature_dim() -> None:
    assert build_backbone("resnet18", width=16).feature_dim == 128
    assert build_backbone("resnet50", width=16).feature_dim == 512
    assert SmallCNN(width=8).feature_dim == 32
    cnn = SmallCNN(in_channels=3, width=8, feature_dim=20)
    assert cnn.feature_dim == 20
    assert cnn(torch.rand(2, 3, 32, 32)).shape == (2, 20)


@pytest.mark.parametrize("size", [4, 8, 13, 28, 32])
def test_small_cnn_any_size(size: int) -> None:
    assert SmallCNN(width=4)(torch.rand(2, 1, size, size)).shape == (2, 16)


def test_small_cnn_rejects_tiny_images() -> None:
    with pytest.raises(ValueError, match="too small"):
        SmallCNN(width=4)(torch.rand(2, 1, 3, 8))


@pytest.mark.parametrize("name", ["resnet18", "small_cnn"])
def test_input_validation(name: str) -> None:
    model = build_backbone(name, 3, width=4)
    with pytest.raises(ValueError, match="in_channels=1"):
        model(torch.rand(2, 1, 16, 16))
    with pytest.raises(ValueError, match="unsqueeze"):
        model(torch.rand(3, 16, 16))


def test_registry_errors() -> None:
    with pytest.raises(ValueError, match="resnet18, resnet34, resnet50, small_cnn"):
        build_backbone("resnet19")
    with pytest.raises(ValueError, match="bad options for backbone 'small_cnn'"):
        build_backbone("small_cnn", depth=3)
    with pytest.raises(ValueError, match="in_channels must be a positive int"):
        build_backbone("resnet18", 0)
    with pytest.raises(ValueError, match="layers must be 4"):
        ResNet(BasicBlock, (2, 2, 2))


def test_build_encoder_normalizes_first() -> None:
    torch.manual_seed(0)
    enc = build_encoder("small_cnn", 1, mean=[0.286], std=[0.353], width=8).eval()
    assert isinstance(enc, Encoder)
    assert enc.feature_dim == 32 and enc.in_channels == 1
    x = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(enc(x), enc.backbone((x - 0.286) / 0.353))
    with pytest.raises(ValueError, match="one mean/std value per input channel"):
        build_encoder("resnet18", 3, mean=[0.5], std=[0.5])
