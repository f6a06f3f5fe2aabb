"""Evaluate a saved classifier (a finetune run dir or its ``classifier.safetensors``) on its test
set and write ``<run>/evaluation/<name>/records.json`` (merged with earlier results), the config
used, and t-SNE arrays. Everything that can be checked is checked before the first forward.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from robustssl.data import load_dataset
from robustssl.data.channels import convert_channels
from robustssl.evaluation.config import EvaluateConfig
from robustssl.evaluation.records import RecordContext, write_records
from robustssl.evaluation.suite import EvaluationResult, check_compatible, evaluate
from robustssl.models import load_classifier
from robustssl.runs import DirLock, atomic_path, atomic_write_text
from robustssl.runs.layout import CLASSIFIER, CONFIG_JSON, RECORDS, evaluation_dir
from robustssl.utils import resolve_device
from robustssl.utils.checkpoint import non_finite_keys
from robustssl.utils.loggers import check_logger, open_logger

CLASSIFIER_FILE = CLASSIFIER


@dataclass
class CheckpointEvaluation:
    """The result, the folder it was written to and the records file."""

    result: EvaluationResult
    out_dir: Path
    records_path: Path


def resolve_target(target: str | Path) -> tuple[Path, Path, str]:
    """(classifier file, base folder for ``evaluation/``, model name) of a run dir or a file."""
    target = Path(target)
    if target.is_dir():
        path = target / CLASSIFIER_FILE
        if not path.is_file():
            raise FileNotFoundError(
                f"{target} holds no {CLASSIFIER_FILE}; pass a finetune run dir (see "
                "`robustssl finetune`) or the .safetensors file of a saved classifier"
            )
        return path, target, target.resolve().name
    if not target.is_file():
        raise FileNotFoundError(f"no run dir or classifier file at {target}")
    if target.suffix != ".safetensors":
        raise ValueError(f"{target} is not a .safetensors classifier (from save_classifier)")
    name = target.parent.resolve().name if target.name == CLASSIFIER_FILE else target.stem
    return target, target.parent, name


def _get(meta: dict[str, Any], *paths: str) -> Any:
    """The first dotted path present in the nested metadata (None when none is)."""
    for path in paths:
        node: Any = meta
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            return node.get("name", node) if isinstance(node, dict) else node
    return None


def describe(
    meta: dict[str, Any], name: str, dataset: str, seed: int, subset: str | None = None
) -> RecordContext:
    """The record context from a checkpoint's metadata (finetune / pretraining run configs);
    ``subset`` names the test points (``test[0:1000]``: the first 1000 of the test split)."""
    pretraining = _get(meta, "pretrained.method", "pretrained.config.method", "pretraining")
    finetune = _get(meta, "finetune.protocol", "protocol")
    return RecordContext(
        model=name,
        pretraining=str(pretraining) if pretraining is not None else None,
        finetune=str(finetune) if finetune is not None else None,
        dataset=dataset,
        seed=seed,
        subset=subset,
    )


def _size(value: Any) -> int | tuple[int, int] | None:
    return tuple(value) if isinstance(value, list) else value


def logged_metrics(result: EvaluationResult) -> dict[str, float]:
    """The scalar records as ``{"ra/Linf/0.03137/PGD-20 α=ε/4": 0.41, ...}`` for a logger."""
    out: dict[str, float] = {}
    for r in result.records:
        if r.metric == "diagnostic" or isinstance(r.value, bool):
            continue
        if not isinstance(r.value, (int, float)):
            continue
        parts = [r.metric, r.norm, None if r.eps is None else f"{r.eps:.5g}"]
        parts += [r.attack_tag if r.attack is not None else None]
        parts += [f"{k}={v}" for k, v in sorted(r.tags.items())]
        out["/".join(str(p) for p in parts if p is not None)] = float(r.value)
    return out


def _log_records(cfg: EvaluateConfig, out_dir: Path, name: str, result: EvaluationResult) -> None:
    """The evaluation's config and final scalar metrics to ``cfg.logger`` (if set)."""
    logger = open_logger(cfg.logger, out_dir, f"{name}-{cfg.name}", "evaluation")
    if logger is None:
        return
    logger.log_hyperparams(cfg.model_dump(mode="json"))
    logger.log_metrics(logged_metrics(result), step=0)
    logger.close()


def evaluate_checkpoint(target: str | Path, cfg: EvaluateConfig) -> CheckpointEvaluation:
    """Load, check, evaluate and write; see the module docstring."""
    path, base, name = resolve_target(target)
    check_logger(cfg.logger, "evaluation")  # a missing package: before any compute
    device = resolve_device(cfg.device)
    model, spec, meta = load_classifier(path, device)
    if bad := non_finite_keys(model.state_dict()):
        raise ValueError(
            f"{path} holds NaN or infinite weights ({', '.join(bad[:3])}): the finetuning run "
            "diverged or the file is damaged; finetune it again (e.g. with a lower optim.lr)"
        )
    dataset = cfg.data.dataset or _get(meta, "finetune.data.dataset", "dataset")
    if dataset is None:
        raise ValueError(
            f"{path} does not say which dataset it was finetuned on; set "
            "data.dataset=<name> (e.g. data.dataset=fashion_mnist)"
        )
    image_size = cfg.data.image_size or _size(_get(meta, "finetune.data.image_size"))
    root = cfg.data.root if cfg.data.root is not None else _get(meta, "finetune.data.root")
    data = load_dataset(dataset, cfg.data.split, root=root, device=device, image_size=image_size)
    convert = cfg.data.convert_channels
    if convert is None:  # follow the finetune run, which converted to the encoder's channels
        convert = _get(meta, "finetune.data.channels") == spec.in_channels
    shape = (spec.in_channels, *data.image_shape[1:]) if convert else data.image_shape
    check_compatible(model, data.num_classes, shape, dataset)
    n = len(data) if cfg.data.n is None else min(cfg.data.n, len(data))
    x, y = data.get_batch(torch.arange(n))
    x = convert_channels(x, spec.in_channels) if convert else x
    ctx = describe(meta, name, dataset, cfg.seed, f"{cfg.data.split}[0:{n}]")
    expected = _get(meta, "input_shape")
    out_dir = evaluation_dir(base, cfg.name)
    input_shape = tuple(expected) if expected is not None else None
    with DirLock(out_dir, "evaluation folder", stop_note="the evaluation starts over when rerun"):
        result = evaluate(
            model, x, y, cfg=cfg, ctx=ctx, num_classes=data.num_classes, expected_shape=input_shape
        )
        if cfg.smoke or _get(meta, "smoke"):  # never mistaken for a result (runs.smoke)
            for record in result.records:
                record.tags = {**record.tags, "smoke": True}
        records_path = write_evaluation(out_dir, cfg, result)
        _log_records(cfg, out_dir, name, result)
    return CheckpointEvaluation(result, out_dir, records_path)


def write_evaluation(out_dir: Path, cfg: EvaluateConfig, result: EvaluationResult) -> Path:
    """``records.json`` (merged with earlier records), t-SNE arrays and, last (it marks the
    evaluation done), ``config.json`` into ``out_dir``; returns the records file. The caller
    holds the folder's :class:`DirLock`."""
    records_path = write_records(out_dir / RECORDS, result.records)
    for key, arrays in result.tsne.items():
        tsne = out_dir / f"tsne_{key.replace('/', '_')}.npz"
        with atomic_path(tsne) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **cast(dict[str, Any], arrays))  # numpy stubs: allow_pickle
    config = json.dumps(cfg.model_dump(mode="json"), indent=2)
    atomic_write_text(out_dir / CONFIG_JSON, config)
    return records_path
