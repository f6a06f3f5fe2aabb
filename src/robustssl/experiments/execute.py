"""Running one stage, and telling from its files whether it is done.

A stage writes only its own run directory (pretraining, finetuning) or evaluation folder; the
runner process alone writes the results store. :func:`execute` is a top-level function of a
picklable :class:`StageTask`, so the same code runs in the runner process, in a spawned worker
(``--jobs N``) or in a submitit job (``--launcher slurm``).

What "done" means is :func:`robustssl.runs.layout.stage_state`. A run directory with a
``config.json`` but not done was interrupted: it is resumed (``resume=True``: Lightning's last
checkpoint, the finetune state). A stage that fills the disk fails with a clear message, and the
``*.tmp`` files of its directory are removed.
"""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from robustssl.runs.atomic import (
    DiskFullError,
    disk_full_error,
    is_disk_full,
    remove_temp_files,
)
from robustssl.runs.layout import stage_state
from robustssl.utils.quiet import quiet_lightning

__all__ = ["StageOutcome", "StageTask", "execute", "stage_state", "worker_threads"]


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
    """How a stage ended: "complete" or "failed" (with the error), and its wall time;
    ``disk_full`` when it failed for lack of disk space (the runner then stops)."""

    stage_id: str
    status: Literal["complete", "failed"]
    seconds: float
    error: str | None = None
    disk_full: bool = False


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
        with quiet_lightning():  # its per-run chatter would scroll the study's progress away
            RUNNERS[task.kind](task)
    except Exception as err:  # recorded in the store, the study goes on
        seconds = time.perf_counter() - start
        if is_disk_full(err):
            remove_temp_files(task.path)
            shown = err if isinstance(err, DiskFullError) else disk_full_error(Path(task.path), err)
            return StageOutcome(task.stage_id, "failed", seconds, f"disk full: {shown}", True)
        return StageOutcome(task.stage_id, "failed", seconds, _error_text(err))
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
