"""Supervised PGD adversarial training (seed 003 eq. 4–6) and supervised Tikhonov (seed 004
eq. 2) as options of the ``supervised`` method."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from robust_model import accuracy, synthetic_images
from robustssl.attacks import PGD
from robustssl.attacks.adversary import PretrainAdversaryConfig
from robustssl.methods import PretrainConfig, pretrain
from robustssl.methods import supervised as supervised_module
from robustssl.methods.supervised import Supervised, SupervisedConfig
from robustssl.models import Classifier, build_encoder
from robustssl.objectives.tikhonov import supervised_tikhonov
from robustssl.utils import make_generator


def _method(seed: int = 0, **cfg: object) -> Supervised:
    torch.manual_seed(seed)
    encoder = build_encoder("small_cnn", 1, (0.5,), (0.25,), width=8)
    return Supervised(encoder, SupervisedConfig(views=None, **cfg), 10)


def _train(method: Supervised, seed: int, steps: int = 50) -> Classifier:
    x, y = synthetic_images(512, seed=seed)
    opt = torch.optim.Adam(method.parameters(), lr=5e-3)
    gen = make_generator(seed)
    for _ in range(steps):
        idx = torch.randint(0, len(x), (32,), generator=gen)
        out = method.step(x[idx], y[idx], gen)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        opt.step()
    return Classifier(method.encoder, method.head).eval()


def test_adversarial_training_raises_robust_accuracy() -> None:
    """Same data, steps and seed; only the adversary differs (margins checked on seeds 0–2:
    standard RA ≤ 0.004, AT RA 0.23–0.52 at L∞ ε = 0.03)."""
    eps = 0.03
    x_test, y_test = synthetic_images(256, seed=100)
    robust = {}
    for name, adv in (("std", None), ("at", PretrainAdversaryConfig(eps=eps, steps=3))):
        model = _train(_method(adversary=adv), seed=0)
        x_adv = PGD(model, "Linf", eps, steps=10, seed=0)(x_test, y_test)
        robust[name] = accuracy(model, x_adv, y_test)
    assert robust["std"] < 0.1
    assert robust["at"] > robust["std"] + 0.15


def test_training_loss_is_taken_at_the_attacked_input(monkeypatch: pytest.MonkeyPatch) -> None:
    adversary = PretrainAdversaryConfig(norm="L2", eps=0.5, steps=2, bn_mode="train")
    method = _method(adversary=adversary)
    x = torch.rand(8, 1, 28, 28, generator=make_generator(1))
    y = torch.arange(8)
    calls = []

    def spy(loss, x_in, cfg, model, generator):
        calls.append((loss, x_in, cfg, model))
        return (x_in + 0.01).clamp(0, 1)

    monkeypatch.setattr(supervised_module, "perturb", spy)
    out = method.step(x, y, make_generator(0))
    ((loss_fn, x_in, cfg, model),) = calls
    assert torch.equal(x_in, x) and cfg.norm == "L2" and model is method
    with torch.no_grad():
        expected = F.cross_entropy(method.head(method.encoder(x)), y, reduction="none")
        assert torch.allclose(loss_fn(x), expected, atol=1e-6)  # the attack maximises CE
        trained = F.cross_entropy(method.head(method.encoder((x + 0.01).clamp(0, 1))), y)
    assert float(out.loss) == pytest.approx(float(trained), rel=1e-5)


def test_tikhonov_adds_half_lambda_times_the_penalty() -> None:
    lam = 2.0
    method = _method(tikhonov=lam)
    x = torch.rand(8, 1, 28, 28, generator=make_generator(2))
    y = torch.arange(8)
    out = method.step(x, y, make_generator(0))
    terms = supervised_tikhonov(
        lambda inp: F.cross_entropy(method.head(method.encoder(inp)), y, reduction="none"), x
    )
    assert float(out.logs["tikhonov"]) == pytest.approx(float(terms.penalty.detach()), rel=1e-4)
    expected = terms.loss + lam / 2 * terms.penalty
    assert float(out.loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-5)
    out.loss.backward()
    grad = method.encoder.backbone.block1[0].weight.grad
    assert grad is not None and float(grad.abs().sum()) > 0


def test_pretrain_runs_adversarial_supervised(tiny_fmnist: Path, tmp_path: Path) -> None:
    cfg = PretrainConfig.model_validate(
        {
            "name": "at",
            "output_dir": str(tmp_path),
            "data": {"dataset": "fashion_mnist", "root": str(tiny_fmnist), "batch_size": 40},
            "model": {"backbone": "small_cnn", "backbone_kwargs": {"width": 8}},
            "method": {
                "name": "supervised",
                "adversary": {"eps": 0.1, "steps": 2, "bn_mode": "eval"},
                "tikhonov": 0.1,
            },
            "trainer": {"max_epochs": 1, "progress_bar": False, "accelerator": "cpu"},
            "monitor": {"knn": False},
        }
    )
    result = pretrain(cfg)
    assert (result.run_dir / "encoder.safetensors").is_file()
    header = (result.run_dir / "metrics.csv").read_text().splitlines()[0]
    assert "train/tikhonov_epoch" in header and "train/train_acc_epoch" in header
