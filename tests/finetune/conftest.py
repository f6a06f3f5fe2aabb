"""Fixtures for finetuning tests: tiny fake datasets in their real formats, fake pretraining runs
(an Encoder saved like ``robustssl pretrain`` saves it) and a config factory."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from fakedata import Formats, learnable_images, write_fake_fashion_mnist
from robustssl.data import get_info
from robustssl.finetune import FinetuneConfig
from robustssl.models import Encoder, build_encoder
from robustssl.utils.checkpoint import save_weights

MakeRun = Callable[..., Path]
MakeConfig = Callable[..., FinetuneConfig]


def save_fake_run(
    run: Path,
    encoder: Encoder | None = None,
    *,
    backbone: str = "small_cnn",
    backbone_kwargs: dict[str, Any] | None = None,
    dataset: str = "fashion_mnist",
    status: str = "complete",
    seed: int = 0,
) -> Path:
    """A directory that looks like a finished pretraining run of ``encoder`` (random if None)."""
    kwargs = {"width": 8} if backbone_kwargs is None else backbone_kwargs
    if encoder is None:
        info = get_info(dataset)
        torch.manual_seed(seed)
        encoder = build_encoder(backbone, len(info.mean), info.mean, info.std, **kwargs)
    cfg = {  # the keys of a PretrainConfig dump that finetuning reads
        "name": run.name,
        "seed": seed,
        "data": {"dataset": dataset, "batch_size": 256},
        "model": {"backbone": backbone, "backbone_kwargs": kwargs, "channels_last": True},
        "method": {"name": "simclr", "temperature": 0.5, "views": {"size": None}},
    }
    run.mkdir(parents=True)
    save_weights(encoder, run / "encoder.safetensors", {"config": cfg, "metrics": {}})
    (run / "config.json").write_text(json.dumps(cfg))
    (run / "summary.json").write_text(json.dumps({"status": status}))
    return run


@pytest.fixture
def fmnist_root(tmp_path: Path) -> Path:
    """FashionMNIST/raw/*.gz with 120 learnable train and 40 test images (10 classes)."""
    return write_fake_fashion_mnist(tmp_path / "data")


@pytest.fixture
def cifar_root(tmp_path: Path) -> Path:
    """cifar-10-batches-py with 100 learnable 32×32 RGB train images and 20 test images."""
    root = tmp_path / "cifar"
    folder = root / "cifar-10-batches-py"
    images, labels = learnable_images(120, seed=5)
    rgb = np.stack([np.pad(images, ((0, 0), (2, 2), (2, 2)))] * 3, axis=1)  # N, 3, 32, 32
    batches = np.array_split(np.arange(100), 5)
    for i, idx in enumerate(batches, 1):
        batch = {b"data": rgb[idx].reshape(len(idx), -1), b"labels": labels[idx].tolist()}
        Formats.write_pickle(folder / f"data_batch_{i}", batch)
    test = {b"data": rgb[100:].reshape(20, -1), b"labels": labels[100:].tolist()}
    Formats.write_pickle(folder / "test_batch", test)
    return root


@pytest.fixture
def make_run(tmp_path: Path) -> MakeRun:
    """``make_run(name="pre", **save_fake_run options)`` → a fake pretraining run directory."""

    def make(name: str = "pre", encoder: Encoder | None = None, **kwargs: Any) -> Path:
        return save_fake_run(tmp_path / "pretrain" / name, encoder, **kwargs)

    return make


@pytest.fixture
def make_config(tmp_path: Path, fmnist_root: Path) -> MakeConfig:
    """``make_config(run, protocol, **overrides)``: a small CPU config on the fake Fashion-MNIST
    (3 epochs, batch 32, no progress bar); ``overrides`` replace top-level keys or merge into
    ``data`` / ``optim``."""

    def make(run: Path | None, protocol: str = "slf", **overrides: Any) -> FinetuneConfig:
        raw: dict[str, Any] = {
            "name": protocol,
            "output_dir": str(tmp_path / "runs"),
            "progress_bar": False,
            "device": "cpu",
            "pretrained": str(run) if run is not None else None,
            "protocol": protocol,
            "data": {"root": str(fmnist_root), "batch_size": 32, "eval_batch_size": 64},
            "optim": {"epochs": 3, "milestones": [2], "lr": 0.05},
        }
        for key in ("data", "optim"):
            raw[key].update(overrides.pop(key, {}))
        raw.update(overrides)
        return FinetuneConfig.model_validate(raw)

    return make
