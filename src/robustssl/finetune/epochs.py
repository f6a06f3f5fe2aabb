"""What happens after each finetuning epoch (a Lightning callback, on every DDP rank): the epoch's
metrics row (lr, train loss and accuracy over all ranks, validation accuracy, the ``select``
score), the best classifier kept for ``select``, the resumable state, ``metrics.csv``, then the
caller's epoch callbacks (rank 0). The rows travel in the state file, so a resumed run's rows
and seconds continue the interrupted run's."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import lightning as L

from robustssl.finetune import state
from robustssl.finetune.module import FinetuneModule
from robustssl.finetune.records import write_metrics
from robustssl.finetune.selection import SCORE, is_best, save_best
from robustssl.runs import RunDir

EpochCallback = Callable[[int, dict[str, float]], None]
Scorer = Callable[[str], float]  # "val" → clean accuracy; "select" → the select score


class FinetuneEpochs(L.Callback):
    """The epoch-end work above. ``scores`` computes the validation accuracy and the select score
    of the current classifier; ``rows``/``seconds`` are the progress so far (restored from the
    state file on resume)."""

    def __init__(
        self,
        run: RunDir,
        scores: Scorer,
        *,
        has_val: bool,
        select: bool,
        callbacks: Sequence[EpochCallback] = (),
    ) -> None:
        self.run, self.scores, self.has_val, self.select = run, scores, has_val, select
        self.callbacks = list(callbacks)
        self.rows: list[dict[str, Any]] = []
        self.seconds = 0.0
        self._start = time.perf_counter()  # the feature pass and setup count, as before

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        assert isinstance(pl_module, FinetuneModule)
        epoch = trainer.current_epoch
        loss, acc, _ = pl_module.epoch_totals()
        lr = trainer.optimizers[0].param_groups[0]["lr"]
        if not math.isfinite(loss):
            raise FloatingPointError(
                f"training loss became {loss}; lower optim.lr (now {lr:g}) or check the data"
            )
        row: dict[str, Any] = {"epoch": epoch + 1, "lr": lr, "train_loss": loss}
        row["train_accuracy"] = acc
        if self.has_val:
            row["val_accuracy"] = self.scores("val")
        if self.select:
            row[SCORE] = self.scores("select")
            if is_best(self.rows, row[SCORE]) and trainer.is_global_zero:
                save_best(pl_module.classifier, self.run.path, epoch + 1)
        now = time.perf_counter()
        row["seconds"] = self.seconds + now - self._start
        self.seconds, self._start = row["seconds"], now
        self.rows.append(row)
        state.save_state(trainer, self.run.finetune_state)  # collective: every rank calls it
        if trainer.is_global_zero:
            write_metrics(self.run.metrics_csv, self.rows)
            for callback in self.callbacks:
                callback(epoch, row)

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        epoch = int(self.rows[-1]["epoch"]) if self.rows else 0
        checkpoint["progress"] = {"epoch": epoch, "rows": self.rows, "seconds": self.seconds}

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        progress = checkpoint["progress"]
        self.rows, self.seconds = list(progress["rows"]), float(progress["seconds"])
