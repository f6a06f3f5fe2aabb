"""Heads (shapes, layer/BN placement, validation) and the Encoder/Classifier wrappers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from robustssl.models import (
    Classifier,
    Encoder,
    LinearClassifier,
    MLPClassifier,
    PredictionHead,
    PretextHead,
    ProjectionHead,
    SmallCNN,
)


def layer_names(head: nn.Module) -> list[str]:
    return [n for n, _ in head.named_children()]


def test_projection_head_default_simclr_layout() -> None:
    head = ProjectionHead(512)
    assert layer_names(head) == ["fc1", "bn1", "relu1", "fc2"]
    assert head.fc1.bias is None and head.fc2.bias is not None
    assert head.fc1.out_features == 2048 and head.fc2.out_features == 128
    assert (head.in_dim, head.out_dim) == (512, 128)
    assert head(torch.rand(4, 512)).shape == (4, 128)


def test_projection_head_three_layers_with_last_bn() -> None:
    head = ProjectionHead(64, hidden_dim=32, out_dim=16, num_layers=3, last_bn=True)
    assert layer_names(head) == ["fc1", "bn1", "relu1", "fc2", "bn2", "relu2", "fc3", "bn3"]
    assert head.bn1.affine and head.bn2.affine and not head.bn3.affine
    assert all(getattr(head, f"fc{i}").bias is None for i in (1, 2, 3))
    out = head.train()(torch.rand(8, 64))
    assert out.shape == (8, 16)
    # non-affine train-mode BN output: zero mean, unit (biased) variance per feature
    assert torch.allclose(out.mean(0), torch.zeros(16), atol=1e-5)
    assert torch.allclose(out.var(0, unbiased=False), torch.ones(16), atol=1e-3)


def test_projection_head_without_bn_and_single_layer() -> None:
    head = ProjectionHead(10, hidden_dim=6, out_dim=3, batch_norm=False)
    assert layer_names(head) == ["fc1", "relu1", "fc2"]
    assert head.fc1.bias is not None
    single = ProjectionHead(10, out_dim=3, num_layers=1)
    assert layer_names(single) == ["fc1"]
    assert single(torch.rand(2, 10)).shape == (2, 3)


def test_prediction_head_bottleneck() -> None:
    head = PredictionHead(2048)
    assert layer_names(head) == ["fc1", "bn1", "relu1", "fc2"]
    assert (head.fc1.in_features, head.fc1.out_features, head.fc2.out_features) == (2048, 512, 2048)
    assert head.out_dim == 2048
    small = PredictionHead(16, hidden_dim=4, out_dim=8)
    assert small(torch.rand(5, 16)).shape == (5, 8)


def test_classifier_heads() -> None:
    lin = LinearClassifier(512, 10)
    assert layer_names(lin) == ["fc"]
    assert sum(p.numel() for p in lin.parameters()) == 5130
    mlp = MLPClassifier(512, 10, hidden_dim=256)
    assert layer_names(mlp) == ["fc1", "relu1", "fc2"]
    assert mlp(torch.rand(3, 512)).shape == (3, 10)
    assert layer_names(MLPClassifier(8, 3, hidden_dim=4, batch_norm=True)) == [
        "fc1",
        "bn1",
        "relu1",
        "fc2",
    ]


def test_pretext_heads() -> None:
    rot = PretextHead(128, 4)
    assert layer_names(rot) == ["fc"] and rot(torch.rand(2, 128)).shape == (2, 4)
    jig = PretextHead(128, 30, hidden_dim=64)
    assert layer_names(jig) == ["fc1", "relu1", "fc2"]
    assert jig(torch.rand(2, 128)).shape == (2, 30)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: ProjectionHead(0), "in_dim must be a positive int"),
        (lambda: ProjectionHead(8, num_layers=0), "num_layers"),
        (lambda: PredictionHead(8, hidden_dim=-1), "hidden_dim"),
        (lambda: LinearClassifier(8, 1), "num_classes must be ≥ 2"),
        (lambda: MLPClassifier(8, 2.5), "num_classes must be a positive int"),
        (lambda: PretextHead(8, 4, hidden_dim=0), "hidden_dim"),
    ],
)
def test_head_validation(build: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build()  # type: ignore[operator]


def test_classifier_composes_encoder_and_head() -> None:
    torch.manual_seed(0)
    enc = Encoder(SmallCNN(width=4), [0.5], [0.25])
    head = LinearClassifier(enc.feature_dim, 10)
    model = Classifier(enc, head).eval()
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        logits = model(x)
        assert logits.shape == (3, 10)
        assert torch.equal(logits, head(enc.backbone((x - 0.5) / 0.25)))
    with pytest.raises(ValueError, match="in_dim=16"):
        Classifier(enc, LinearClassifier(32, 10))


def test_encoder_validation() -> None:
    with pytest.raises(ValueError, match="feature_dim"):
        Encoder(nn.Conv2d(1, 2, 3), [0.5], [0.5])
    with pytest.raises(ValueError, match="takes 1 channels"):
        Encoder(SmallCNN(width=4), [0.5, 0.5, 0.5], [0.5, 0.5, 0.5])


def test_heads_deterministic_init() -> None:
    torch.manual_seed(7)
    a = ProjectionHead(16, 8, 4).state_dict()
    torch.manual_seed(7)
    b = ProjectionHead(16, 8, 4).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
