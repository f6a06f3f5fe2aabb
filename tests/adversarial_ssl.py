"""Helpers for the adversarial contrastive method tests: tiny methods, batches, attack checks and
end-to-end pretraining configs (small CNN width 8, batch 16)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from robustssl.attacks.adversary import PretrainAdversaryConfig
from robustssl.methods import PretrainConfig
from robustssl.methods.adversary import perturb
from robustssl.methods.base import PretrainMethod
from robustssl.methods.contrastive_adversary import as_attacked
from robustssl.methods.registry import build_method
from robustssl.models import build_encoder
from robustssl.utils import make_generator

PROJECTION = {"hidden_dim": 32, "out_dim": 16}


def method_config(**method: Any) -> Any:
    """A validated method config with a small projector."""
    raw = {"projection": PROJECTION, **method}
    return PretrainConfig.model_validate({"method": raw}).method


def make_method(seed: int = 0, num_classes: int = 10, **method: Any) -> PretrainMethod:
    torch.manual_seed(seed)
    encoder = build_encoder("small_cnn", 1, [0.3], [0.3], width=8)
    return build_method(method_config(**method), encoder, num_classes)


def batch(n: int = 16, seed: int = 1) -> tuple[Tensor, Tensor]:
    """Images with structure (smooth blobs) and labels."""
    g = make_generator(seed)
    coarse = torch.rand(n, 1, 7, 7, generator=g)
    x = torch.nn.functional.interpolate(coarse, size=28, mode="bilinear", align_corners=False)
    return x.clamp(0, 1), torch.randint(0, 10, (n,), generator=g)


def attack_gain(
    method: PretrainMethod,
    objective: Callable[[Tensor], Tensor],
    x: Tensor,
    cfg: PretrainAdversaryConfig,
) -> tuple[Tensor, Tensor, Tensor]:
    """(x_adv, loss at x, loss at x_adv), both losses evaluated as the adversary sees them."""
    x_adv = perturb(objective, x, cfg, method, make_generator(0))
    with as_attacked(method, cfg):
        return x_adv, objective(x), objective(x_adv)


def in_ball(x_adv: Tensor, x: Tensor, cfg: PretrainAdversaryConfig) -> bool:
    delta = (x_adv - x).flatten(1)
    norms = delta.abs().amax(1) if cfg.norm == "Linf" else delta.norm(dim=1)
    inside = bool((norms <= cfg.eps + 1e-5).all())
    return inside and float(x_adv.min()) >= 0 and float(x_adv.max()) <= 1


def run_config(
    root: Path,
    out: Path,
    method: dict[str, Any],
    run_name: str = "run",
    epochs: int = 1,
    projection: bool = True,
) -> PretrainConfig:
    """An end-to-end pretraining config on the tiny fake Fashion-MNIST (120 images); the small
    projector unless ``projection`` is False (methods without one: DeACL, DynACL++)."""
    raw = {
        "name": run_name,
        "seed": 3,
        "output_dir": str(out),
        "data": {"dataset": "fashion_mnist", "root": str(root), "batch_size": 40},
        "model": {"backbone": "small_cnn", "backbone_kwargs": {"width": 8}},
        "method": {**({"projection": PROJECTION} if projection else {}), **method},
        "optim": {"name": "adam", "lr": 0.01},
        "trainer": {"max_epochs": epochs, "progress_bar": False, "accelerator": "cpu"},
        "monitor": {"knn": False},
    }
    return PretrainConfig.model_validate(raw)
