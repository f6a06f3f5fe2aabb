"""FeatureExtractor: same tensors as a manual forward, name checks, clean hooks, no side effects."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from robustssl.models import (
    OUTPUT_KEY,
    Classifier,
    FeatureExtractor,
    LinearClassifier,
    available_layers,
    build_encoder,
)


def make_model(name: str = "small_cnn") -> Classifier:
    torch.manual_seed(0)
    enc = build_encoder(name, 1, [0.5], [0.5], width=4)
    return Classifier(enc, LinearClassifier(enc.feature_dim, 10)).eval()


def n_hooks(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) for m in model.modules())


def test_matches_manual_forward_small_cnn() -> None:
    model = make_model()
    x = torch.rand(3, 1, 28, 28)
    layers = [
        "encoder.normalize",
        "encoder.backbone.block1",
        "encoder.backbone.block3",
        "encoder.backbone.flatten",
        "head.fc",
    ]
    with FeatureExtractor(model, layers) as fx, torch.no_grad():
        feats = fx(x)
    bb = model.encoder.backbone
    with torch.no_grad():
        h0 = (x - 0.5) / 0.5
        h1 = bb.block1(h0)
        h3 = bb.block3(bb.block2(h1))
        z = bb.flatten(bb.avgpool(h3))
        logits = model.head(z)
    assert list(feats) == layers
    for got, want in zip(feats.values(), [h0, h1, h3, z, logits], strict=True):
        assert torch.equal(got, want)
    assert feats["encoder.backbone.block1"].shape == (3, 4, 14, 14)


def test_matches_manual_forward_resnet_deep_layer() -> None:
    model = make_model("resnet18")
    x = torch.rand(2, 1, 16, 16)
    name = "encoder.backbone.layer4.1.conv2"
    with FeatureExtractor(model, [name, "encoder.backbone.layer3"]) as fx, torch.no_grad():
        feats = fx(x)
    bb = model.encoder.backbone
    with torch.no_grad():
        h3 = bb.layer3(bb.layer2(bb.layer1(bb.relu(bb.bn1(bb.conv1((x - 0.5) / 0.5))))))
        b40 = bb.layer4[0](h3)
        blk = bb.layer4[1]
        want = blk.conv2(blk.relu1(blk.bn1(blk.conv1(b40))))
    assert torch.equal(feats["encoder.backbone.layer3"], h3)
    assert torch.equal(feats[name], want)
    assert want.shape == (2, 32, 2, 2)


def test_output_and_grads_unchanged() -> None:
    model = make_model()
    x = torch.rand(4, 1, 28, 28)
    ref_out = model(x)
    ref_out.square().sum().backward()
    ref_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    with FeatureExtractor(model, ["encoder.backbone.block2"], include_output=True) as fx:
        feats = fx(x)
    assert torch.equal(feats[OUTPUT_KEY], ref_out)
    feats[OUTPUT_KEY].square().sum().backward()
    assert all(torch.equal(p.grad, g) for p, g in zip(model.parameters(), ref_grads, strict=True))
    assert feats["encoder.backbone.block2"].requires_grad


def test_features_are_differentiable_or_detached() -> None:
    model = make_model()
    x = torch.rand(2, 1, 28, 28, requires_grad=True)
    with FeatureExtractor(model, ["encoder.backbone.block1"]) as fx:
        fx(x)["encoder.backbone.block1"].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    with FeatureExtractor(
        model, ["encoder.backbone.block1"], include_output=True, detach=True
    ) as fx:
        feats = fx(x)
    assert not feats["encoder.backbone.block1"].requires_grad
    assert not feats[OUTPUT_KEY].requires_grad


def test_unknown_name_suggests_close_matches() -> None:
    model = make_model("resnet18")
    with pytest.raises(ValueError, match=r"'encoder.backbone.layer4'.*available_layers") as err:
        FeatureExtractor(model, ["encoder.backbone.layer5"])
    assert "did you mean" in str(err.value)
    with pytest.raises(ValueError, match="available_layers"):
        FeatureExtractor(model, [""])
    with pytest.raises(ValueError, match=r"use layers=\['head'\]"):
        FeatureExtractor(model, "head")
    with pytest.raises(ValueError, match="duplicates"):
        FeatureExtractor(model, ["head", "head"])
    assert n_hooks(model) == 0


def test_available_layers() -> None:
    names = available_layers(make_model())
    assert names[:3] == ["encoder", "encoder.normalize", "encoder.backbone"]
    assert "encoder.backbone.block3.4" in names and "head.fc" in names
    assert "" not in names


def test_hooks_removed_on_close_and_on_error() -> None:
    model = make_model()
    fx = FeatureExtractor(model, ["encoder.backbone.block1", "head"])
    assert n_hooks(model) == 2
    fx.close()
    fx.close()
    assert n_hooks(model) == 0 and fx.closed
    with pytest.raises(RuntimeError, match="closed"):
        fx(torch.rand(1, 1, 28, 28))
    with pytest.raises(ZeroDivisionError), FeatureExtractor(model, ["head"]):
        assert n_hooks(model) == 1
        _ = 1 / 0
    assert n_hooks(model) == 0


def test_output_key_clash() -> None:
    model = nn.Sequential()
    model.add_module("output", nn.Identity())
    with pytest.raises(ValueError, match="clashes"):
        FeatureExtractor(model, ["output"], include_output=True)
    with FeatureExtractor(model, ["output"]) as fx:
        x = torch.rand(2, 3)
        assert torch.equal(fx(x)["output"], x)


def test_reused_module_is_an_error() -> None:
    relu = nn.ReLU()
    model = nn.Sequential(nn.Linear(3, 3), relu, nn.Linear(3, 3), relu)
    with FeatureExtractor(model, ["1"]) as fx, pytest.raises(RuntimeError, match="ran 2 times"):
        fx(torch.rand(2, 3))


def test_inplace_modification_is_detected() -> None:
    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU(inplace=True))
    with FeatureExtractor(model, ["0"]) as fx, pytest.raises(RuntimeError, match="in place"):
        fx(torch.rand(2, 3))
