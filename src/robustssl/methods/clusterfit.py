"""ClusterFit pseudo-labels for AdvCL (seed 001 eq. 10, Table 5; Yan et al.'s ClusterFit).

A given pretrained encoder f_pre (a finished pretraining run directory, e.g. our SimCLR run on the
same data: the (CIFAR-10, SimCLR) row of Table 5) embeds every training image (un-augmented, in
dataset order); the features are L2-normalised and clustered by k-means once per K
(scikit-learn's KMeans, k-means++ + Lloyd, seeded by ``mix_seed(seed, K)``); the cluster index
is the pseudo-label. The labels are a deterministic function of the features and the seed. They
are computed once before training and cached in the run directory (``pseudo_labels.safetensors``),
so a resumed run reuses them.

With ``clusterfit.labels`` the pseudo-labels come from a file instead
(:mod:`robustssl.methods.external_labels`), checked against the training set and cached likewise.

The encoder is loaded strictly: a missing, unexpected or mis-shaped key is an error naming it.
(The public AdvCL code ships its pseudo-labels precomputed, without the clustering code, and its
``finetuning_advCL_SLF.py`` loads checkpoints with ``strict=False``, which skips missing and
unexpected keys without a word.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import Field, field_validator, model_validator
from torch import Tensor

from robustssl.data import ImageDataset
from robustssl.methods.external_labels import load_external_labels
from robustssl.methods.monitor import extract_features
from robustssl.models import Encoder, encoder_from_state
from robustssl.runs.layout import CONFIG_JSON, ENCODER
from robustssl.utils import mix_seed
from robustssl.utils.checkpoint import load_weights, load_weights_metadata, save_weights
from robustssl.utils.config import StrictConfig
from robustssl.utils.optional import require


class ClusterFitConfig(StrictConfig):
    """ClusterFit pseudo-labels (seed 001 eq. 10, Table 5): k-means on normalised features of the
    pretrained encoder of the run directory ``encoder`` (loaded strictly) — or pseudo-labels made
    elsewhere, read from ``labels`` (.npy / .safetensors / .json, one column per K;
    robustssl.methods.external_labels) — one linear head per K, adversarial CE on the
    pseudo-labels weighted by ``weight`` (λ). Give exactly one of ``encoder`` and ``labels``."""

    encoder: str | None = Field(None, min_length=1)
    labels: str | None = Field(None, min_length=1)
    ks: list[int] = Field(default_factory=lambda: [2, 10, 50, 100, 500], min_length=1)
    weight: float = Field(0.2, gt=0)
    seed: int = 0
    n_init: int = Field(1, ge=1)
    max_iter: int = Field(300, ge=1)
    batch_size: int = Field(512, gt=0)

    @field_validator("ks")
    @classmethod
    def _distinct_ks(cls, ks: list[int]) -> list[int]:
        if any(k < 2 for k in ks) or len(set(ks)) != len(ks):
            raise ValueError(f"ks={ks} must be distinct cluster numbers ≥ 2, e.g. [2, 10, 50]")
        return ks

    @model_validator(mode="after")
    def _one_source(self) -> ClusterFitConfig:
        if (self.encoder is None) == (self.labels is None):
            raise ValueError(
                "clusterfit needs exactly one source of pseudo-labels: encoder=<pretraining run "
                "dir> (k-means on its features) or labels=<.npy/.safetensors/.json file>"
            )
        return self


CACHE_FILE = "pseudo_labels.safetensors"


def load_cluster_encoder(run_dir: str | Path) -> Encoder:
    """The encoder of pretraining run ``run_dir`` (config.json + encoder.safetensors), strictly
    loaded, in eval mode on the CPU."""
    run = Path(run_dir)
    weights, config = run / ENCODER, run / CONFIG_JSON
    if not weights.is_file() or not config.is_file():
        raise FileNotFoundError(
            f"clusterfit.encoder={str(run)!r} is not a finished pretraining run (needs "
            "config.json and encoder.safetensors); pretrain one first, e.g. `robustssl pretrain "
            "--config configs/<dataset>/simclr.yaml`, or fix the path"
        )
    model: dict[str, Any] = json.loads(config.read_text()).get("model") or {}
    if "backbone" not in model:
        raise ValueError(f"{config} names no model.backbone; is {run} a pretraining run?")
    kwargs = dict(model.get("backbone_kwargs") or {})
    state = load_weights(weights, "cpu")
    return encoder_from_state(model["backbone"], kwargs, state, str(weights)).eval()


def cluster_labels(
    features: Tensor,
    ks: list[int],
    seed: int,
    n_init: int = 1,
    max_iter: int = 300,
    normalize: bool = True,
) -> Tensor:
    """(N, len(ks)) int64: k-means cluster index of each L2-normalised feature row (of each row
    as it is with ``normalize=False``, DynACL++'s Euclidean k-means), per K."""
    if features.ndim != 2:
        raise ValueError(f"features must be (N, D), got {tuple(features.shape)}")
    too_many = [k for k in ks if k > len(features)]
    if too_many:
        raise ValueError(
            f"clusterfit.ks {too_many} exceed the {len(features)} training samples; "
            "use smaller cluster numbers"
        )
    cluster = require("sklearn.cluster", "AdvCL's ClusterFit (k-means)")

    rows = features.detach().double().cpu()
    x = (torch.nn.functional.normalize(rows, dim=1) if normalize else rows).numpy()
    columns = [
        cluster.KMeans(k, n_init=n_init, max_iter=max_iter, random_state=mix_seed(seed, k) % 2**32)
        .fit_predict(x)
        .astype("int64")
        for k in ks
    ]
    return torch.from_numpy(np.stack(columns, axis=1))


def compute_pseudo_labels(cfg: ClusterFitConfig, data: ImageDataset) -> Tensor:
    """Pseudo-labels (N, len(cfg.ks)) of ``data``: read from ``cfg.labels``, or by k-means on the
    features of the encoder of run ``cfg.encoder``."""
    if cfg.labels is not None:
        return load_external_labels(cfg.labels, cfg.ks, len(data))
    assert cfg.encoder is not None  # one source (ClusterFitConfig)
    encoder = load_cluster_encoder(cfg.encoder).to(data.device)
    channels = data.image_shape[0]
    if encoder.in_channels != channels:
        raise ValueError(
            f"clusterfit.encoder takes {encoder.in_channels}-channel images but the training "
            f"data has {channels}; use an encoder pretrained on this dataset"
        )
    features, _ = extract_features(encoder, data, cfg.batch_size)
    return cluster_labels(features, cfg.ks, cfg.seed, cfg.n_init, cfg.max_iter)


def _cache_key(cfg: ClusterFitConfig, data: ImageDataset) -> dict[str, Any]:
    key = cfg.model_dump(mode="json", exclude={"weight", "batch_size"})
    if key["labels"] is None:  # runs cached before labels= existed keep their key
        del key["labels"]
    return {**key, "samples": len(data)}


def check_source(cfg: ClusterFitConfig, samples: int | None = None) -> None:
    """The pseudo-label source is usable (the encoder run loads strictly; the labels file reads
    and fits ``samples`` training images): called before the run directory is made."""
    if cfg.labels is not None:
        load_external_labels(cfg.labels, cfg.ks, samples)
    else:
        assert cfg.encoder is not None
        load_cluster_encoder(cfg.encoder)


def cached_labels(path: Path, key: dict[str, Any], compute: Callable[[], Tensor]) -> Tensor:
    """The labels cached at ``path`` when present (their ``key`` checked), else ``compute()``d
    and cached there with ``key``."""
    if path.is_file():
        saved = load_weights_metadata(path)
        if saved != key:
            raise ValueError(
                f"{path} was computed for {saved}, not for {key}; delete it to recompute, or "
                "restore the run's config"
            )
        return load_weights(path)["labels"]
    labels = compute()
    save_weights({"labels": labels}, path, key)
    return labels


def pseudo_labels(cfg: ClusterFitConfig, data: ImageDataset, run_dir: Path) -> Tensor:
    """The cached pseudo-labels of run ``run_dir`` when present (checked against ``cfg``), else
    computed and cached there."""
    key = _cache_key(cfg, data)
    return cached_labels(Path(run_dir) / CACHE_FILE, key, lambda: compute_pseudo_labels(cfg, data))
