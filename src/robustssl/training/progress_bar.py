"""Training progress (pretraining and finetuning): Lightning's tqdm bar in a terminal, plain
lines everywhere else (:mod:`robustssl.utils.progress` decides which)."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ProgressBar, TQDMProgressBar

from robustssl.utils.progress import PlainBar, interactive


class PlainProgressBar(ProgressBar):
    """One line per epoch (``epoch 3/10: done 47 it in 12.0 s (3.9 it/s) [loss=…]``), plus a
    line at each further ~10 % of a long epoch; written to stderr, never redrawn."""

    def __init__(self) -> None:
        super().__init__()
        self._enabled = True
        self._bar: PlainBar[Any] | None = None

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    @property
    def is_enabled(self) -> bool:
        return self._enabled and self.trainer.is_global_zero

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.is_enabled:
            return
        total = self.total_train_batches
        epochs = f"/{trainer.max_epochs}" if trainer.max_epochs and trainer.max_epochs > 0 else ""
        self._bar = PlainBar(
            total=int(total) if total != float("inf") else None,
            desc=f"epoch {trainer.current_epoch + 1}{epochs}",
            unit="batch",
            announce=False,
        )

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any, **kwargs: Any
    ) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._bar is None:
            return
        metrics = self.get_metrics(trainer, pl_module)
        shown = {k: _short(v) for k, v in metrics.items() if k != "v_num"}
        self._bar.set_postfix(shown)
        self._bar.close()
        self._bar = None


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def progress_bar(refresh_rate: int = 10) -> ProgressBar:
    """The training progress callback for this output: tqdm bar or plain lines."""
    if interactive():
        return TQDMProgressBar(refresh_rate=refresh_rate)
    return PlainProgressBar()
