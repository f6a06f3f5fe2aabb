"""inference_twin: the same function as the model (BN folded, channels-last), the model untouched,
and a fallback to the model whenever the copy would differ."""

from __future__ import annotations

import torch
from torch import nn

from robust_model import small_classifier, synthetic_images, train_clean
from robustssl.attacks import AutoAttack, inference_twin
from robustssl.models import ClassifierSpec, build_classifier


def _trained_bn_stats(model: nn.Module) -> nn.Module:
    """Non-trivial running statistics and affine parameters in every BN."""
    gen = torch.Generator().manual_seed(3)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5, generator=gen)
            m.running_var.uniform_(0.5, 2.0, generator=gen)
            m.weight.data.uniform_(0.5, 1.5, generator=gen)
            m.bias.data.uniform_(-0.2, 0.2, generator=gen)
    return model.eval()


def _bn_count(model: nn.Module) -> int:
    return sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def test_small_cnn_twin_folds_every_bn_and_keeps_logits_and_gradients():
    model = _trained_bn_stats(small_classifier(width=8))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.rand(16, 1, 28, 28)
    twin = inference_twin(model, x[:4])
    assert twin is not model and _bn_count(twin) == 0 and _bn_count(model) == 4
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    assert all(p.requires_grad for p in model.parameters())
    torch.testing.assert_close(twin(x), model(x), rtol=1e-5, atol=1e-5)
    grads = []
    for m in (model, twin):
        xr = x.clone().requires_grad_(True)
        m(xr).logsumexp(1).sum().backward()
        grads.append(xr.grad)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-4, atol=1e-6)


def test_resnet_twin_folds_blocks_and_shortcuts():
    spec = ClassifierSpec("resnet18", 3, [0.5] * 3, [0.25] * 3, 10)
    model = _trained_bn_stats(build_classifier(spec))
    x = torch.rand(4, 3, 32, 32)
    twin = inference_twin(model, x[:2])
    assert _bn_count(model) == 20 and _bn_count(twin) == 0
    torch.testing.assert_close(twin(x), model(x), rtol=1e-4, atol=1e-4)


class _PreBNSkip(nn.Module):
    """Uses the conv output both through the BN and directly: folding would change it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.bn = nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x)
        return self.fc((self.bn(h) + h).mean((2, 3)))


def test_falls_back_to_the_model_when_folding_changes_the_function():
    model = _trained_bn_stats(_PreBNSkip())
    assert inference_twin(model, torch.rand(4, 1, 8, 8)) is model


def test_train_mode_bn_is_never_folded():
    model = small_classifier(width=8).train()
    assert inference_twin(model, torch.rand(4, 1, 28, 28)) is model
    model.eval()
    model.encoder.backbone.block1[1].train()
    assert inference_twin(model, torch.rand(4, 1, 28, 28)) is model


def test_autoattack_on_the_twin_equals_autoattack_on_the_model():
    model = train_clean(small_classifier(width=8), *synthetic_images(2000))
    x, y = synthetic_images(32, seed=5)
    kwargs = dict(version="custom", attacks=["apgd-ce", "square"], seed=0, progress=False)
    fast = AutoAttack(model, "Linf", 0.02, fast_model=True, **kwargs).run(x, y)
    slow = AutoAttack(model, "Linf", 0.02, fast_model=False, **kwargs).run(x, y)
    assert torch.equal(fast.robust, slow.robust)
    assert fast.accuracy == slow.accuracy
    assert 0 < fast.robust_accuracy < fast.clean_accuracy
