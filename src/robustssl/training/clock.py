"""Training time that survives a resume: the seconds of training so far travel in the Lightning
checkpoint, so ``summary.json``'s ``train_seconds`` sums every segment of a resumed run."""

from __future__ import annotations

import time
from typing import Any

import lightning as L


class TrainClock(L.Callback):
    """Counts the seconds spent in ``trainer.fit``'s training loop, carried over resumes.

    ``seconds`` = the checkpointed seconds of earlier segments + this segment's so far. Work an
    interruption threw away (the steps after the last checkpoint) is not counted: a resumed
    run's total is the time of the epochs it kept.
    """

    def __init__(self) -> None:
        self.before = 0.0  # seconds of earlier segments (from the checkpoint)
        self._start: float | None = None

    @property
    def seconds(self) -> float:
        running = time.perf_counter() - self._start if self._start is not None else 0.0
        return self.before + running

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.perf_counter()

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.before, self._start = self.seconds, None

    def state_dict(self) -> dict[str, Any]:
        return {"seconds": self.seconds}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.before = float(state_dict.get("seconds", 0.0))
