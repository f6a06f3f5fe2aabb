"""``DataConfig``: which dataset, split, fraction and batch size a training run reads — the one
owner; pretraining (``robustssl.methods.config.PretrainDataConfig``) and finetuning
(``robustssl.finetune.config.FinetuneDataConfig``) extend it."""

from __future__ import annotations

from pydantic import Field, field_validator

from robustssl.data.registry import UnknownDatasetError, dataset_names, get_info
from robustssl.utils.config import StrictConfig


def known_dataset(name: str) -> str:
    """The canonical name of dataset ``name`` (aliases such as ``"Fashion-MNIST"`` accepted);
    a ValueError listing the known datasets otherwise."""
    try:
        return get_info(name).name
    except UnknownDatasetError:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(dataset_names())}") from None


class DataConfig(StrictConfig):
    """Training data: ``split`` (its first ``label_fraction``, less a ``val_fraction`` held out)
    in batches of ``batch_size``; ``eval_split`` for monitoring / testing. ``in_memory`` None =
    on the device when it fits (docs/architecture.md)."""

    dataset: str = "fashion_mnist"
    root: str | None = None
    download: bool = False
    split: str = "train"
    eval_split: str = "test"
    label_fraction: float = Field(1.0, gt=0, le=1)
    val_fraction: float = Field(0.0, ge=0, lt=1)
    batch_size: int = Field(256, gt=0)
    in_memory: bool | None = None

    _dataset = field_validator("dataset")(known_dataset)
