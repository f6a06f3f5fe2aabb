"""The finetuning data: train / optional validation / evaluation splits of the target dataset,
resized to the encoder's input size and converted to its channels (cross-dataset transfer, seed 001
Table 2: C10 → STL-10 etc.), with the label fraction applied to the train split (seed 004 Table 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from robustssl.data import ImageDataset, get_info, load_dataset
from robustssl.data.channels import with_channels
from robustssl.data.resize import parse_image_size
from robustssl.finetune.config import FinetuneDataConfig
from robustssl.finetune.pretrained import PretrainedEncoder


@dataclass
class FinetuneData:
    """Splits as the encoder sees them: ``image_shape`` = (channels, H, W) of every batch."""

    train: ImageDataset
    val: ImageDataset | None
    test: ImageDataset
    source_shape: tuple[int, int, int]  # (C, H, W) as loaded: resized, channels not converted

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.train.image_shape

    @property
    def num_classes(self) -> int:
        return self.train.num_classes


def target_image_size(cfg: FinetuneDataConfig, source: PretrainedEncoder) -> tuple[int, int] | None:
    """``data.image_size`` when set, else the pretraining input size (None: keep the dataset's)."""
    size = parse_image_size(cfg.image_size)
    return size if size is not None else source.image_size


def target_channels(cfg: FinetuneDataConfig, source: PretrainedEncoder) -> int:
    """The encoder's channels; an explicit ``data.channels`` must agree with a pretrained one."""
    if cfg.channels is not None and cfg.channels != source.in_channels:
        raise ValueError(
            f"data.channels={cfg.channels} but the encoder takes {source.in_channels}-channel "
            f"images; remove data.channels (the data is converted to the encoder's channels)"
        )
    return source.in_channels


def dataset_channels(cfg: FinetuneDataConfig) -> int:
    """The input channels of a randomly initialised encoder: ``data.channels`` or the dataset's."""
    if cfg.channels is not None:
        return cfg.channels
    shape = get_info(cfg.dataset).image_shape
    if shape is None:
        raise ValueError(
            f"{cfg.dataset} does not declare its channels; set data.channels=1 or data.channels=3"
        )
    return shape[0]


def load_finetune_data(
    cfg: FinetuneDataConfig,
    image_size: tuple[int, int] | None,
    channels: int,
    seed: int,
    device: torch.device,
) -> FinetuneData:
    """Load, split (validation, then label fraction, both stratified and seeded), adapt."""

    def load(split: str) -> ImageDataset:
        return load_dataset(
            cfg.dataset,
            split=split,
            root=cfg.root,
            download=cfg.download,
            device=device,
            image_size=image_size,
            in_memory=cfg.in_memory,
        )

    train = load(cfg.split)
    source_shape = train.image_shape
    val = None
    if cfg.val_fraction > 0:
        train, val = train.train_val_split(cfg.val_fraction, seed=seed)
    if cfg.label_fraction < 1:
        train = train.label_fraction(cfg.label_fraction, seed=seed)
    test = load(cfg.eval_split)
    if train.num_classes < 2:
        raise ValueError(f"{cfg.dataset}/{cfg.split} has {train.num_classes} classes; need ≥ 2")
    return FinetuneData(
        train=with_channels(train, channels),
        val=with_channels(val, channels) if val is not None else None,
        test=with_channels(test, channels),
        source_shape=source_shape,
    )
