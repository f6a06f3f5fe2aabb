"""Epoch-end resumable checkpoint written atomically (temp file + rename), so a run killed while
saving still has its previous good checkpoint."""

from __future__ import annotations

import os
from pathlib import Path

import lightning as L


class AtomicEpochCheckpoint(L.Callback):
    """Writes ``path`` (Lightning's full training state) at the end of every training epoch."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        trainer.save_checkpoint(tmp, weights_only=False)
        if trainer.is_global_zero:
            os.replace(tmp, self.path)
