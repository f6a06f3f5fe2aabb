"""Progress of a study: one overall bar (stages done / total) on top, the running stage's own bar
under it (SPEC.md §9: progress bars on every long loop).

The stages' bars are tqdm bars with automatic positions (finetuning, evaluation), which tqdm
places below the open overall bar, and Lightning's TQDMProgressBar (pretraining), which uses a
fixed position ``2 · process_position``; :class:`NestedProgress` moves that one below the
overall bar.
"""

from __future__ import annotations

import sys
from typing import Any

from robustssl.utils.optional import MissingExtraError, missing_extra_message

try:
    import lightning as L
    from lightning.pytorch.callbacks import TQDMProgressBar
    from tqdm import tqdm
except ModuleNotFoundError as err:
    message = missing_extra_message(err.name or "lightning", "running studies")
    raise MissingExtraError(message, name=err.name) from err


class StudyBar:
    """The overall bar: ``total`` stages, ``done`` already complete; no-op when disabled."""

    def __init__(self, name: str, total: int, done: int = 0, enabled: bool = True) -> None:
        self.bar = tqdm(
            total=total,
            initial=done,
            desc=f"study {name}",
            unit="stage",
            bar_format="{desc}: {n_fmt}/{total_fmt} stages |{bar}| {elapsed}{postfix}",
            position=0,
            leave=True,
            disable=not enabled,
            file=sys.stderr,
        )

    def running(self, text: str) -> None:
        self.bar.set_postfix_str(text[:80], refresh=True)

    def advance(self, n: int = 1) -> None:
        self.bar.update(n)

    def write(self, text: str) -> None:
        """A line above the bars (stage failures, skips)."""
        self.bar.write(text, file=sys.stderr)

    def close(self) -> None:
        self.bar.close()


def nested_progress_callbacks(enabled: bool) -> list[Any]:
    """Lightning callbacks that put pretraining's bar under the overall bar (empty if disabled)."""
    if not enabled:
        return []
    return [NestedProgress()]


class NestedProgress(L.Callback):
    """Offsets Lightning's TQDMProgressBar by one process position (two lines), so its bar is
    drawn under the study bar instead of over it."""

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        bar = trainer.progress_bar_callback
        if isinstance(bar, TQDMProgressBar):
            bar._process_position = 1  # the constructor's process_position, set after the fact
