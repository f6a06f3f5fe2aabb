"""Progress of a study: one overall bar (stages done / total) on top, the running stage's own bar
under it (SPEC.md §9: progress bars on every long loop); plain lines instead when the output is not
a terminal (a log file, a pipe, CI).

The stages' bars are tqdm bars with automatic positions (finetuning, evaluation), which tqdm
places below the open overall bar, and Lightning's TQDMProgressBar (pretraining), which uses a
fixed position ``2 · process_position``; :class:`NestedProgress` moves that one below the
overall bar.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from robustssl.utils.optional import MissingExtraError, missing_extra_message
from robustssl.utils.progress import interactive

try:
    import lightning as L
    from lightning.pytorch.callbacks import TQDMProgressBar
    from tqdm import tqdm
except ModuleNotFoundError as err:
    message = missing_extra_message(err.name or "lightning", "running studies")
    raise MissingExtraError(message, name=err.name) from err


class StudyBar:
    """The overall bar: ``total`` stages, ``done`` already complete; no-op when disabled. Outside
    a terminal (robustssl.utils.progress.interactive) it writes plain lines instead: one when a
    stage starts (``study NAME [3/20]: running <stage>``) and a last one with the total time."""

    def __init__(self, name: str, total: int, done: int = 0, enabled: bool = True) -> None:
        self.name, self.total, self.done, self.enabled = name, total, done, enabled
        self.plain = enabled and not interactive()
        self.start = time.perf_counter()
        self.bar = tqdm(
            total=total,
            initial=done,
            desc=f"study {name}",
            unit="stage",
            bar_format="{desc}: {n_fmt}/{total_fmt} stages |{bar}| {elapsed}{postfix}",
            position=0,
            leave=True,
            disable=not enabled or self.plain,
            file=sys.stderr,
        )

    def _line(self, text: str) -> None:
        print(f"study {self.name} [{self.done}/{self.total}]: {text}", file=sys.stderr, flush=True)

    def running(self, text: str) -> None:
        if self.plain:
            self._line(f"running {text}")
        self.bar.set_postfix_str(text[:80], refresh=True)

    def advance(self, n: int = 1) -> None:
        self.done += n
        self.bar.update(n)

    def write(self, text: str) -> None:
        """A line above the bars (stage failures, skips)."""
        self.bar.write(text, file=sys.stderr)

    def close(self) -> None:
        if self.plain:
            self._line(f"finished after {time.perf_counter() - self.start:.0f} s")
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
