"""Training time that survives a resume: the wall and CPU seconds of training so far travel in
the Lightning checkpoint, so ``summary.json``'s ``train_seconds`` and ``train_cpu_seconds`` sum
every segment of a resumed run.

CPU seconds are this process's user + system time over all its threads (``time.process_time``):
the compute a run used, nearly independent of what else shares the machine, which is what the
robustness-per-compute comparison (docs/efficiency.md) needs. Under DDP each rank counts its own.
"""

from __future__ import annotations

import time
from typing import Any

import lightning as L


class TrainClock(L.Callback):
    """Counts the wall and CPU seconds spent in ``trainer.fit``'s training loop, over resumes.

    ``seconds`` = the checkpointed seconds of earlier segments + this segment's so far (the same
    for ``cpu_seconds``). Work an interruption threw away (the steps after the last checkpoint)
    is not counted: a resumed run's total is the time of the epochs it kept.
    """

    def __init__(self) -> None:
        self.before = 0.0  # wall seconds of earlier segments (from the checkpoint)
        self.cpu_before = 0.0  # CPU seconds of earlier segments
        self._start: float | None = None
        self._cpu_start = 0.0

    @property
    def seconds(self) -> float:
        running = time.perf_counter() - self._start if self._start is not None else 0.0
        return self.before + running

    @property
    def cpu_seconds(self) -> float:
        running = time.process_time() - self._cpu_start if self._start is not None else 0.0
        return self.cpu_before + running

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start, self._cpu_start = time.perf_counter(), time.process_time()

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.before, self.cpu_before = self.seconds, self.cpu_seconds
        self._start = None

    def state_dict(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "cpu_seconds": self.cpu_seconds}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.before = float(state_dict.get("seconds", 0.0))
        self.cpu_before = float(state_dict.get("cpu_seconds", 0.0))
