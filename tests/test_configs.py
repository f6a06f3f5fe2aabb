"""Every shipped config under configs/<dataset>/ validates against the schema its name implies:
``finetune_*`` → FinetuneConfig, ``evaluate*`` → EvaluateConfig, else a PretrainConfig whose method
name starts the file name (``supervised_at.yaml`` is the supervised method with an adversary)."""

from __future__ import annotations

from pathlib import Path

import pytest

from robustssl.evaluation import EvaluateConfig
from robustssl.finetune import FinetuneConfig
from robustssl.methods import PretrainConfig
from robustssl.utils.config import load_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
DATASET_DIRS = sorted(p for p in CONFIGS.iterdir() if p.is_dir() and p.name != "reproduce")


@pytest.mark.parametrize(
    "path",
    sorted(p for d in DATASET_DIRS for p in d.glob("*.yaml")),
    ids=lambda p: f"{p.parent.name}/{p.stem}",
)
def test_shipped_config_validates(path: Path) -> None:
    if path.stem.startswith("finetune_"):
        cfg = load_config(path, FinetuneConfig)
        assert cfg.data.dataset == path.parent.name
    elif path.stem.startswith("evaluate"):
        load_config(path, EvaluateConfig)
    else:
        cfg = load_config(path, PretrainConfig)
        assert cfg.data.dataset == path.parent.name
        assert path.stem == cfg.method.name or path.stem.startswith(cfg.method.name + "_")


def test_every_dataset_dir_has_configs() -> None:
    assert {d.name for d in DATASET_DIRS} >= {"fashion_mnist", "cifar10"}
    assert all(any(d.glob("*.yaml")) for d in DATASET_DIRS)
