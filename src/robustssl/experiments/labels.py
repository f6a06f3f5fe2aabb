"""What a result is *about* in a study: method, protocol, training threat model, ε_train and label
fraction, read from a stage's labels, its config and the record itself.

These are the row and column keys of the seeds' tables: method × ε_test (seed 003 Tables 1–4),
pretraining × finetuning (seed 001 Tables 1–3), ε_train × ε_test (seed 002 Tables 5.1–5.7) and
label fraction × model (seed 004 Table 1). A runner states them explicitly as stage labels; for a
run directory ingested on its own they are derived from its ``config.json`` (a finetune config
names the protocol, its adversary, its label fraction and the pretraining run it starts from).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from robustssl.evaluation.records import EvalRecord
from robustssl.runs.layout import CONFIG_JSON

LABEL_KEYS = ("method", "protocol", "threat", "eps_train", "label_fraction")
NO_THREAT = "none"


def _adversary(config: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The adversary section of a finetune config or of a pretraining method, if any."""
    for section in (config.get("adversary"), _get(config, "method", "adversary")):
        if isinstance(section, Mapping) and section.get("eps") is not None:
            return section
    return None


def _get(config: Mapping[str, Any], *path: str) -> Any:
    node: Any = config
    for part in path:
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return raw if isinstance(raw, dict) else None


def config_kind(config: Mapping[str, Any]) -> str:
    """ "finetune" (a config with a protocol), "pretrain" (one with a method section) or "run"."""
    if "protocol" in config:
        return "finetune"
    if isinstance(config.get("method"), Mapping):
        return "pretrain"
    return "run"


def labels_from_config(config: Mapping[str, Any], run_dir: Path | None = None) -> dict[str, Any]:
    """Labels derived from a finetune or pretraining config (see the module docstring).

    The training threat model (``threat``, ``eps_train``) is the adversary that trained the
    representation: the pretraining run's (a finetune protocol's own adversary is already told
    by the protocol, ALF / AFF), or this run's when it trains an encoder from scratch; without
    one it is ``"none"`` with ε_train = 0.
    """
    labels: dict[str, Any] = {}
    pre_cfg: Mapping[str, Any] | None = None
    if config_kind(config) == "pretrain":
        pre_cfg = config
    elif isinstance(config.get("pretrained"), str):
        pre_path = Path(config["pretrained"])
        if not pre_path.is_absolute() and run_dir is not None and not pre_path.exists():
            pre_path = run_dir.parent / pre_path
        pre_cfg = _read_json(pre_path / CONFIG_JSON)
    if pre_cfg is not None and isinstance(_get(pre_cfg, "method", "name"), str):
        labels["method"] = _get(pre_cfg, "method", "name")
    if "protocol" in config:
        labels["protocol"] = config["protocol"]
    fraction = _get(config, "data", "label_fraction")
    if isinstance(fraction, (int, float)):
        labels["label_fraction"] = float(fraction)
    if config.get("pretrained") is not None or config_kind(config) == "pretrain":
        adversary = _adversary(pre_cfg) if pre_cfg is not None else None
    else:  # an encoder trained from scratch by this run: its own adversary
        adversary = _adversary(config)
    if adversary is not None:
        labels["threat"] = str(adversary.get("norm", "Linf"))
        labels["eps_train"] = float(adversary["eps"])
    elif config_kind(config) != "run":
        labels["threat"], labels["eps_train"] = NO_THREAT, 0.0
    return labels


def record_labels(record: EvalRecord, stage_labels: Mapping[str, Any]) -> dict[str, Any]:
    """The label columns of one record: the stage's labels first, then the record's own
    ``pretraining`` / ``finetune`` fields (method falls back to the model name)."""
    return {
        "method": stage_labels.get("method") or record.pretraining or record.model,
        "protocol": stage_labels.get("protocol") or record.finetune,
        "threat": stage_labels.get("threat"),
        "eps_train": _float_or_none(stage_labels.get("eps_train")),
        "label_fraction": _float_or_none(stage_labels.get("label_fraction")),
    }


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def check_stage_labels(labels: Mapping[str, Any]) -> dict[str, Any]:
    """``labels`` with a clear error for unknown keys or non-numeric ε_train / label fraction."""
    unknown = sorted(set(labels) - set(LABEL_KEYS))
    if unknown:
        raise ValueError(f"unknown stage labels {unknown}; known: {list(LABEL_KEYS)}")
    for key in ("eps_train", "label_fraction"):
        value = labels.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ValueError(f"stage label {key}={value!r} must be a number (e.g. 0.1)")
    return dict(labels)
