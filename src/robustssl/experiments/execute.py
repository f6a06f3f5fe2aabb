"""Running one stage, and telling from its files whether it is done.

A stage writes only its own run directory (pretraining, finetuning) or evaluation folder; the
runner process alone writes the results store. :func:`execute` is a top-level function of a
picklable :class:`StageTask`, so the same code runs in the runner process, in a spawned worker
(``--jobs N``) or in a submitit job (``--launcher slurm``).

Done means: pretraining — ``summary.json`` says "complete" and ``encoder.safetensors`` exists;
finetuning — the same with ``classifier.safetensors``; evaluation — ``records.json`` and the
``config.json`` written after it. A run directory with a ``config.json`` but not done was
interrupted: it is resumed (``resume=True``: Lightning's last checkpoint, the finetune state).
"""

from __future__ import annotations

import json
import logging
import os
import time
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

State = Literal["complete", "partial", "new"]
_LIGHTNING_NOISE = (
    ".*smaller than the logging interval.*",
    ".*isinstance.treespec, LeafSpec.*",
    ".*does not have many workers.*",
)
DONE_FILES = {"pretrain": "encoder.safetensors", "finetune": "classifier.safetensors"}


@dataclass(frozen=True)
class StageTask:
    """What a worker needs to run one stage (plain data: it crosses process boundaries)."""

    stage_id: str
    kind: str
    name: str
    config: dict[str, Any]
    path: str
    target: str | None
    resume: bool
    progress: bool
    threads: int | None = None


@dataclass(frozen=True)
class StageOutcome:
    """How a stage ended: "complete" or "failed" (with the error), and its wall time."""

    stage_id: str
    status: Literal["complete", "failed"]
    seconds: float
    error: str | None = None


def _summary_status(run: Path) -> str | None:
    try:
        raw = json.loads((run / "summary.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return raw.get("status") if isinstance(raw, dict) else None


def stage_state(kind: str, path: Path) -> State:
    """ "complete", "partial" (started, resumable) or "new", from the files on disk."""
    if kind == "evaluate":
        done = (path / "records.json").is_file() and (path / "config.json").is_file()
        return "complete" if done else "new"
    if _summary_status(path) == "complete" and (path / DONE_FILES[kind]).is_file():
        return "complete"
    return "partial" if (path / "config.json").is_file() else "new"


def _run_pretrain(task: StageTask) -> None:
    from robustssl.experiments.progress import nested_progress_callbacks
    from robustssl.methods import PretrainConfig, pretrain

    cfg = PretrainConfig.model_validate(task.config)
    trainer = cfg.trainer.model_copy(update={"progress_bar": task.progress})
    cfg = cfg.model_copy(update={"trainer": trainer})
    pretrain(cfg, resume=task.resume, extra_callbacks=nested_progress_callbacks(task.progress))


def _run_finetune(task: StageTask) -> None:
    from robustssl.finetune import FinetuneConfig, finetune

    cfg = FinetuneConfig.model_validate({**task.config, "progress_bar": task.progress})
    finetune(cfg, resume=task.resume)


def _run_evaluate(task: StageTask) -> None:
    from robustssl.evaluation.config import EvaluateConfig
    from robustssl.evaluation.from_checkpoint import evaluate_checkpoint

    cfg = EvaluateConfig.model_validate({**task.config, "progress": task.progress})
    assert task.target is not None
    evaluate_checkpoint(task.target, cfg)


RUNNERS = {"pretrain": _run_pretrain, "finetune": _run_finetune, "evaluate": _run_evaluate}


@contextmanager
def _quiet_lightning() -> Iterator[None]:
    """Lightning's per-run chatter (devices, logging interval, deprecations) would scroll the
    study's progress bars away; real problems still raise. Restored afterwards."""
    loggers = [logging.getLogger(n) for n in ("lightning.pytorch", "lightning.fabric")]
    levels = [lg.level for lg in loggers]
    with warnings.catch_warnings():
        for message in _LIGHTNING_NOISE:
            warnings.filterwarnings("ignore", message=message)
        for lg in loggers:
            lg.setLevel(logging.WARNING)
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels, strict=True):
                lg.setLevel(level)


def _error_text(err: BaseException) -> str:
    """The error and the last frames of its traceback (what the store keeps)."""
    tail = traceback.format_exception(type(err), err, err.__traceback__)[-4:]
    return f"{type(err).__name__}: {err}\n" + "".join(tail)[-3000:]


def execute(task: StageTask) -> StageOutcome:
    """Run one stage; an exception becomes a "failed" outcome carrying its message (so one
    failing stage never stops the study). KeyboardInterrupt / SystemExit propagate."""
    import torch

    if task.threads is not None:
        torch.set_num_threads(max(1, task.threads))
    start = time.perf_counter()
    try:
        with _quiet_lightning():
            RUNNERS[task.kind](task)
    except Exception as err:  # recorded in the store, the study goes on
        return StageOutcome(task.stage_id, "failed", time.perf_counter() - start, _error_text(err))
    state = stage_state(task.kind, Path(task.path))
    if state != "complete":
        error = f"{task.kind} stage finished but {task.path} is not complete (state {state})"
        return StageOutcome(task.stage_id, "failed", time.perf_counter() - start, error)
    return StageOutcome(task.stage_id, "complete", time.perf_counter() - start)


def worker_threads(jobs: int) -> int | None:
    """Torch threads per worker when ``jobs`` stages share the machine (None: leave as set by
    OMP_NUM_THREADS / torch's default)."""
    if os.environ.get("OMP_NUM_THREADS"):
        return None
    return max(1, (os.cpu_count() or 1) // max(1, jobs))
