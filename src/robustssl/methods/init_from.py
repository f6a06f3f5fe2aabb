"""``model.init_from``: start training from the encoder of an earlier pretraining run (seed 003
§3.3, Table 4: P1/P2 adversarial self-supervised pretraining followed by any T), loaded
strictly — a missing, unexpected or mis-shaped key is an error naming the keys (the silent
``strict=False`` loads of the reference code are a known reproduction failure;
REFERENCE_FACTS.md)."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from robustssl.models import Encoder, load_encoder, load_state_strict
from robustssl.runs.layout import ENCODER as ENCODER_FILE
from robustssl.utils.checkpoint import load_weights, load_weights_metadata


def init_weights_path(run_dir: str | Path) -> Path:
    """``<run_dir>/encoder.safetensors``, or a FileNotFoundError saying what to do."""
    path = Path(run_dir) / ENCODER_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"model.init_from={str(run_dir)!r}: no {ENCODER_FILE} there; give the directory of a "
            "completed pretraining run (its <output_dir>/<name>), or set model.init_from=null"
        )
    return path


def load_init_encoder(encoder: nn.Module, run_dir: str | Path, backbone: str) -> None:
    """Copy the run's encoder weights into ``encoder`` (strict); ``backbone`` is ours, compared
    with the run's config first so the error names the two architectures."""
    path = init_weights_path(run_dir)
    meta = load_weights_metadata(path) or {}
    theirs = meta.get("config", {}).get("model", {}).get("backbone")
    if theirs is not None and theirs != backbone:
        raise ValueError(
            f"model.init_from={str(run_dir)!r} holds a {theirs!r} encoder but model.backbone is "
            f"{backbone!r}; use the same backbone (and backbone_kwargs) as that run"
        )
    load_state_strict(encoder, load_weights(path), str(path))


STUDY_REF_PREFIX = "@pretrain:"  # resolved by a study plan (robustssl.experiments.plan)


def load_run_encoder(source: str | Path, key: str) -> Encoder:
    """The encoder of the pretraining run directory ``source`` (config key ``key``, named in the
    errors), strictly loaded, in eval mode on the CPU. A ``"@pretrain:<entry>"`` string is a study
    reference that only a study file resolves: an error saying so."""
    text = str(source)
    if text.startswith(STUDY_REF_PREFIX):
        raise ValueError(
            f"{key}={text!r} is a study reference: it becomes that entry's run directory only "
            "inside a study file (robustssl run); outside one, give the run directory, e.g. "
            f"{key}=runs/simclr_fashion_mnist"
        )
    if not (Path(source) / ENCODER_FILE).is_file():
        raise FileNotFoundError(
            f"{key}={text!r}: no {ENCODER_FILE} there; give the directory of a completed "
            "pretraining run (its <output_dir>/<name>), or pretrain it first"
        )
    return load_encoder(source)
