"""Shared fixtures of the evaluation-suite tests (importable as ``evalfix``): a small CNN trained
on the synthetic template images, a test subset, and a classifier whose forward must not run."""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import Tensor

from robust_model import small_classifier, synthetic_images, train_clean
from robustssl.models import Classifier, ClassifierSpec

SPEC = ClassifierSpec("small_cnn", 1, (0.2860,), (0.3530,), 10, {"width": 8})


@lru_cache(maxsize=1)
def trained_model() -> Classifier:
    """SA 100 % on :func:`eval_data`; PGD-20 breaks about 60 % at L∞ ε = 0.02 (shared: tests
    must not train or modify it)."""
    model = small_classifier(width=8, seed=0)
    return train_clean(model, *synthetic_images(512, seed=1), steps=150)  # type: ignore[return-value]


def eval_data(n: int = 48) -> tuple[Tensor, Tensor]:
    return synthetic_images(n, seed=7)


class RaisingClassifier(Classifier):
    """A classifier whose forward fails: errors must come before any compute."""

    def forward(self, x: Tensor) -> Tensor:
        raise AssertionError("the model was called before the input was validated")


def raising_model(num_classes: int = 10) -> RaisingClassifier:
    model = small_classifier(width=4, num_classes=num_classes)
    return RaisingClassifier(model.encoder, model.head)


def linear_encoder_model(weight: Tensor) -> torch.nn.Module:
    """f(x) = W·flatten(x) (no bias): its local Lipschitz constant in L2 is ‖W‖₂ everywhere."""
    layer = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=False)
    with torch.no_grad():
        layer.weight.copy_(weight)
    return torch.nn.Sequential(torch.nn.Flatten(1), layer)
