"""The shipped configs of the supervised-side robust methods (issue 6, part 2) validate, state the
attack's BN mode, and train one step (Fashion-MNIST, tiny width)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from robustssl.methods.config import PretrainConfig
from robustssl.methods.pretrain import build_module
from robustssl.utils import make_generator
from robustssl.utils.config import load_config

CONFIGS = Path(__file__).parents[2] / "configs"
NAMES = {
    "supervised_at": "supervised",
    "supervised_tikhonov": "supervised",
    "simclr_tikhonov": "simclr",
    "layerwise_simclr": "layerwise_simclr",
    "ss_at": "ss_at",
    "rotation_adv_l2": "rotation",
    "rotation_adv_linf": "rotation",
}


@pytest.mark.parametrize("dataset", ["fashion_mnist", "cifar10"])
@pytest.mark.parametrize("stem", sorted(NAMES))
def test_config_validates_and_states_the_attack(dataset: str, stem: str) -> None:
    path = CONFIGS / dataset / f"{stem}.yaml"
    cfg = load_config(path, PretrainConfig)
    assert cfg.data.dataset == dataset and cfg.method.name == NAMES[stem]
    adversary = getattr(cfg.method, "adversary", None)
    if "_at" in stem or "_adv_" in stem:
        assert adversary is not None and "bn_mode" in path.read_text()
        assert adversary.norm == ("L2" if stem.endswith("l2") else "Linf")
    if "tikhonov" in stem:
        assert cfg.method.tikhonov > 0
    if dataset == "cifar10" and stem in ("supervised_at", "ss_at", "rotation_adv_linf"):
        # seed 003 §4.2: 100 epochs, SGD 0.1 momentum 0.9, 10-step PGD 8/255 α 2/255, 15 % val
        assert cfg.trainer.max_epochs == 100 and cfg.data.val_fraction == 0.15
        assert (cfg.optim.name, cfg.optim.lr, cfg.optim.momentum) == ("sgd", 0.1, 0.9)
        assert adversary.steps == 10
        assert adversary.eps == pytest.approx(8 / 255) and adversary.alpha == pytest.approx(2 / 255)


@pytest.mark.parametrize("stem", sorted(NAMES))
def test_fashion_mnist_config_trains_a_step(stem: str) -> None:
    cfg = load_config(
        CONFIGS / "fashion_mnist" / f"{stem}.yaml",
        PretrainConfig,
        ["model.backbone_kwargs.width=4", "model.channels_last=false"],
    )
    module = build_module(cfg, 10, 1)
    x = torch.rand(8, 1, 28, 28, generator=make_generator(0))
    out = module.method.step(x, torch.arange(8), make_generator(1))
    assert torch.isfinite(out.loss)
    out.loss.backward()
