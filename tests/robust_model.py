"""A small CNN adversarially trained on Fashion-MNIST (PGD, L∞ ε = 0.1), for attack tests and
benchmarks: robust enough that attack strength matters, small enough to train in about a minute."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from robustssl.attacks import PGD
from robustssl.data import find_local, load_dataset
from robustssl.models import Classifier, LinearClassifier, build_encoder
from robustssl.utils import make_generator


def small_classifier(width: int = 16, num_classes: int = 10, seed: int = 0) -> Classifier:
    torch.manual_seed(seed)
    encoder = build_encoder("small_cnn", 1, (0.2860,), (0.3530,), width=width)
    return Classifier(encoder, LinearClassifier(encoder.feature_dim, num_classes))


def fashion_mnist_tensors(split: str, n: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(x in [0,1] (n, 1, 28, 28), y) from the real dataset (first n)."""
    ds = load_dataset("fashion_mnist", split)
    idx = torch.arange(len(ds) if n is None else n)
    return ds.read_uint8(idx).float().div(255), ds.targets[idx]


def have_fashion_mnist() -> bool:
    return find_local("fashion_mnist") is not None


def train_robust(
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float = 0.1,
    epochs: int = 3,
    steps: int = 5,
    batch: int = 128,
    seed: int = 0,
) -> Classifier:
    """PGD adversarial training (Madry et al.; seed 003 eq. 4–6) with Adam."""
    model = small_classifier(seed=seed)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    attack = PGD(
        model,
        "Linf",
        eps,
        steps=steps,
        step_size=2.5 * eps / steps,
        seed=seed,
        early_stop=False,
        model_mode="eval",
    )
    gen = make_generator(seed)
    for epoch in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch):
            idx = order[i : i + batch]
            attack.seed = seed * 1000 + epoch * 100000 + i
            x_adv = attack(x[idx], y[idx])
            model.train()
            loss = F.cross_entropy(model(x_adv), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return model.eval()


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def synthetic_images(
    n: int, num_classes: int = 10, seed: int = 0, noise: float = 0.25
) -> tuple[torch.Tensor, torch.Tensor]:
    """Ten fixed random 28×28 templates plus noise: easy to learn, with attackable margins."""
    gen = make_generator(seed)
    templates = torch.rand(num_classes, 1, 28, 28, generator=make_generator(12345))
    y = torch.randint(0, num_classes, (n,), generator=gen)
    x = 0.5 * templates[y] + 0.25 + noise * (torch.rand(n, 1, 28, 28, generator=gen) - 0.5)
    return x.clamp(0, 1), y


def train_clean(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int = 60, batch: int = 64
) -> nn.Module:
    """A few Adam steps of plain cross-entropy training; returns the model in eval mode."""
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = make_generator(1)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, len(x), (batch,), generator=gen)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model.eval()
