"""Where the encoder comes from: a finished pretraining run (``robustssl pretrain``), or a random
initialisation. Everything is checked on the CPU before any training compute.

A run is rebuilt from its ``config.json`` (backbone and its options, dataset, method) and the
normalisation buffers stored in ``encoder.safetensors``, then loaded with
:func:`robustssl.models.load_state_strict` (errors name missing / unexpected / mis-shaped keys).
The encoder keeps its own normalisation when finetuned on another dataset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from robustssl.data import UnknownDatasetError, get_info
from robustssl.models import Encoder, build_encoder, encoder_from_state
from robustssl.runs.layout import CONFIG_JSON, CONFIG_YAML, ENCODER, SUMMARY
from robustssl.utils.checkpoint import load_weights, non_finite_keys

ENCODER_FILE = ENCODER


@dataclass
class PretrainedEncoder:
    """An encoder (eval mode, on its device) and what the finetuning pipeline needs to know."""

    encoder: Encoder
    backbone: str
    backbone_kwargs: dict[str, Any]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    image_size: tuple[int, int] | None  # the input size it was trained on (None: unknown)
    dataset: str | None
    method: str | None
    run_dir: Path | None = None  # None: randomly initialised
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def in_channels(self) -> int:
        return len(self.mean)

    def describe(self) -> dict[str, Any]:
        """JSON-able summary for the classifier's metadata (``pretrained`` key)."""
        return {
            "run_dir": str(self.run_dir) if self.run_dir is not None else None,
            "method": self.method,
            "dataset": self.dataset,
            "backbone": self.backbone,
            "backbone_kwargs": self.backbone_kwargs,
            "image_size": list(self.image_size) if self.image_size else None,
            "in_channels": self.in_channels,
        }


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read the {what} {path}: {err}") from None
    if not isinstance(data, dict):
        raise ValueError(f"the {what} {path} must hold a JSON object")
    return data


def check_complete(run: Path) -> None:
    """Raise unless ``run`` is a pretraining run directory whose summary says complete."""
    if not run.is_dir():
        raise FileNotFoundError(
            f"no pretraining run at {run}; train one with `robustssl pretrain --config ...`, fix "
            "pretrained=<run dir>, or set pretrained=null and a model section (random init)"
        )
    summary_path = run / SUMMARY
    if not summary_path.is_file():
        raise ValueError(
            f"{run} has no {SUMMARY}: the pretraining run did not finish; continue it with "
            f"`robustssl pretrain --config {run / CONFIG_YAML} --resume`"
        )
    status = _read_json(summary_path, "run summary").get("status")
    if status != "complete":
        raise ValueError(
            f"pretraining run {run} has status {status!r}, not 'complete'; finish it with "
            f"`robustssl pretrain --config {run / CONFIG_YAML} --resume` or pick another run"
        )


def check_finite(state: dict[str, torch.Tensor], path: Path) -> None:
    """A ValueError when a floating-point tensor of ``state`` holds NaN or ±inf: such an encoder
    came from a diverged (or damaged) run, and finetuning it would only report a NaN loss."""
    bad = non_finite_keys(state)
    if bad:
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise ValueError(
            f"{path} holds NaN or infinite weights ({shown}): the pretraining run diverged or the "
            "file is damaged, and no finetuning setting can fix that; pretrain it again (e.g. "
            "with a lower optim.lr in the pretraining config) or use another run"
        )


def _pretrain_image_size(config: dict[str, Any], dataset: str | None) -> tuple[int, int] | None:
    """The views' output size when set, else the dataset's native size (None when unknown)."""
    views = (config.get("method") or {}).get("views") or {}
    if views.get("size"):
        return (int(views["size"]), int(views["size"]))
    try:
        shape = get_info(dataset).image_shape if dataset else None
    except UnknownDatasetError:
        shape = None
    return (shape[1], shape[2]) if shape else None


def load_pretrained_encoder(
    run_dir: str | Path, device: str | torch.device = "cpu"
) -> PretrainedEncoder:
    """The encoder of a complete pretraining run, strictly loaded, in eval mode on ``device``."""
    run = Path(run_dir)
    check_complete(run)
    config = _read_json(run / CONFIG_JSON, "pretraining config")
    model = config.get("model") or {}
    if "backbone" not in model:
        raise ValueError(f"{run / CONFIG_JSON} names no model.backbone; is it a pretraining run?")
    state = load_weights(run / ENCODER_FILE, "cpu")
    check_finite(state, run / ENCODER_FILE)
    kwargs = dict(model.get("backbone_kwargs") or {})
    encoder = encoder_from_state(model["backbone"], kwargs, state, str(run / ENCODER_FILE))
    mean = tuple(float(v) for v in encoder.normalize.mean.flatten().tolist())
    std = tuple(float(v) for v in encoder.normalize.std.flatten().tolist())
    dataset = (config.get("data") or {}).get("dataset")
    return PretrainedEncoder(
        encoder=encoder.to(device).eval(),
        backbone=model["backbone"],
        backbone_kwargs=kwargs,
        mean=mean,
        std=std,
        image_size=_pretrain_image_size(config, dataset),
        dataset=dataset,
        method=(config.get("method") or {}).get("name"),
        run_dir=run,
        config=config,
    )


def random_encoder(
    backbone: str,
    backbone_kwargs: dict[str, Any],
    dataset: str,
    in_channels: int,
    device: str | torch.device = "cpu",
) -> PretrainedEncoder:
    """A randomly initialised encoder normalised with ``dataset``'s statistics (the global torch
    RNG draws the weights: seed it first)."""
    info = get_info(dataset)
    mean, std = tuple(info.mean), tuple(info.std)
    if len(mean) != in_channels:  # e.g. a 1-channel dataset converted to 3 channels
        mean, std = (sum(mean) / len(mean),) * in_channels, (sum(std) / len(std),) * in_channels
    encoder = build_encoder(backbone, in_channels, mean, std, **backbone_kwargs)
    return PretrainedEncoder(
        encoder=encoder.to(device).eval(),
        backbone=backbone,
        backbone_kwargs=dict(backbone_kwargs),
        mean=mean,
        std=std,
        image_size=None,
        dataset=None,
        method=None,
    )
