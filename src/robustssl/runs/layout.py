"""The run-directory layout: every file name a run directory holds, and what "done" means.

A pretraining run (``<output_dir>/<name>/``)::

    config.json, config.yaml   the resolved config it was started with
    checkpoints/last.ckpt      Lightning's state after the last finished epoch (``--resume``)
    csv/, tensorboard/, wandb/ the loggers' segments (one per start or resume; which of
                               tensorboard/ and wandb/: trainer.logger)
    metrics.csv                the segments merged
    encoder.safetensors        the encoder (what finetuning reads)
    method.safetensors         the whole method (heads, probes)
    summary.json               {"status": "complete" | "failed", ...}

A finetuning run adds ``state/last.safetensors`` (resume state), ``state/best.safetensors``
(the kept epoch's classifier when ``select`` ≠ last) and ``classifier.safetensors``
instead of the encoder files, and with ``logger`` set that logger's folder (``csv/``,
``tensorboard/`` or ``wandb/``) of per-epoch metrics. An evaluation writes
``<finetune run>/evaluation/<name>/`` with ``records.json`` and the ``config.json`` written after
it (and, with ``logger`` set, that logger's folder of the final metrics). ``.robustssl.lock`` is
the lock file of a run, an evaluation folder or a study while a process works in it
(:mod:`robustssl.runs.lock`).

A study (``robustssl run``)::

    experiment.yaml, plan.json, results.sqlite
    runs/pretrain/<entry>-<hash>/               pretraining run directories
    runs/finetune/<pretrain entry>-<protocol>-<hash>/[evaluation/<entry>-<hash>/]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

CONFIG_JSON = "config.json"
CONFIG_YAML = "config.yaml"
SUMMARY = "summary.json"
METRICS_CSV = "metrics.csv"
ENCODER = "encoder.safetensors"
METHOD = "method.safetensors"
CLASSIFIER = "classifier.safetensors"
LAST_CHECKPOINT = "checkpoints/last.ckpt"
FINETUNE_STATE = "state/last.safetensors"
FINETUNE_BEST = "state/best.safetensors"
EVALUATION = "evaluation"
RECORDS = "records.json"
LOCK = ".robustssl.lock"
LOGGER_DIRS = {"csv": "csv", "tensorboard": "tensorboard", "wandb": "wandb"}  # under a run dir
TMP_SUFFIX = ".tmp"
STORE = "results.sqlite"
PLAN = "plan.json"
EXPERIMENT = "experiment.yaml"
STUDY_RUNS = "runs"
KINDS = ("pretrain", "finetune", "evaluate")
DONE_FILE = {"pretrain": ENCODER, "finetune": CLASSIFIER}

State = Literal["complete", "partial", "new"]


def read_json_dict(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; {} when missing, unreadable or not an object."""
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def summary_status(run: Path) -> str | None:
    """The ``status`` of ``run/summary.json`` (None when there is none)."""
    status = read_json_dict(Path(run) / SUMMARY).get("status")
    return status if isinstance(status, str) else None


def study_runs(study: Path, kind: str) -> Path:
    """Where a study keeps its ``kind`` ("pretrain" / "finetune") run directories."""
    return Path(study) / STUDY_RUNS / kind


def evaluation_dir(run: Path, name: str) -> Path:
    """Where evaluation ``name`` of finetune run ``run`` writes."""
    return Path(run) / EVALUATION / name


def stage_state(kind: str, path: Path) -> State:
    """ "complete", "partial" (started, resumable) or "new", from the files on disk.

    Done means: pretraining — ``summary.json`` says "complete" and ``encoder.safetensors``
    exists; finetuning — the same with ``classifier.safetensors``; evaluation —
    ``records.json`` and the ``config.json`` written after it. A run directory with a
    ``config.json`` but not done was interrupted."""
    path = Path(path)
    if kind == "evaluate":
        done = (path / RECORDS).is_file() and (path / CONFIG_JSON).is_file()
        return "complete" if done else "new"
    if kind not in DONE_FILE:
        raise ValueError(f"unknown stage kind {kind!r}; one of {', '.join(KINDS)}")
    if summary_status(path) == "complete" and (path / DONE_FILE[kind]).is_file():
        return "complete"
    return "partial" if (path / CONFIG_JSON).is_file() else "new"


def holds_run(path: Path) -> bool:
    """True when ``path`` holds anything but a lock file (so a new run must not start there)."""
    path = Path(path)
    return path.is_dir() and any(p.name != LOCK for p in path.iterdir())
