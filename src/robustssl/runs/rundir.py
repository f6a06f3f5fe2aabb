"""A pretraining or finetuning run directory (layout: :mod:`robustssl.runs.layout`).

Rules, for both kinds: a new run never writes into a directory that holds a run; ``--resume``
only continues a run whose saved config matches (up to :data:`~robustssl.runs.compare.DISPLAY_KEYS`,
with a moved directory read as moved), and the error names every differing key; one process at
a time works in a run directory (:meth:`RunDir.lock`).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from robustssl.runs import layout
from robustssl.runs.atomic import atomic_write_text
from robustssl.runs.compare import config_differences, describe_differences
from robustssl.runs.lock import DirLock


@dataclass(frozen=True)
class RunDir:
    """``RunDir(path, kind)`` with ``kind`` "pretrain" or "finetune"."""

    path: Path
    kind: str = "pretrain"

    def __post_init__(self) -> None:
        if self.kind not in layout.DONE_FILE:
            raise ValueError(f"RunDir kind must be pretrain or finetune, got {self.kind!r}")
        object.__setattr__(self, "path", Path(self.path))

    # -- files ---------------------------------------------------------------------------------

    @property
    def config_json(self) -> Path:
        return self.path / layout.CONFIG_JSON

    @property
    def config_yaml(self) -> Path:
        return self.path / layout.CONFIG_YAML

    @property
    def summary(self) -> Path:
        return self.path / layout.SUMMARY

    @property
    def metrics_csv(self) -> Path:
        return self.path / layout.METRICS_CSV

    @property
    def encoder_weights(self) -> Path:
        return self.path / layout.ENCODER

    @property
    def method_weights(self) -> Path:
        return self.path / layout.METHOD

    @property
    def classifier(self) -> Path:
        return self.path / layout.CLASSIFIER

    @property
    def last_checkpoint(self) -> Path:
        return self.path / layout.LAST_CHECKPOINT

    @property
    def finetune_state(self) -> Path:
        return self.path / layout.FINETUNE_STATE

    # -- state ---------------------------------------------------------------------------------

    def state(self) -> layout.State:
        return layout.stage_state(self.kind, self.path)

    def lock(self) -> DirLock:
        """The run directory's lock (take it before reading or writing the run)."""
        return DirLock(
            self.path,
            "run directory",
            stop_note="it continues from its last finished epoch with --resume",
        )

    def saved_config(self) -> dict[str, Any]:
        """The config the run was started with; a clear error when it is missing or damaged."""
        if not self.config_json.is_file():
            raise ValueError(f"nothing to resume: {self.config_json} does not exist; drop --resume")
        try:
            saved = json.loads(self.config_json.read_text())
        except (OSError, ValueError) as err:
            raise ValueError(
                f"{self.config_json} is damaged ({err}); it cannot be resumed: move {self.path} "
                "away and start the run again"
            ) from None
        if not isinstance(saved, dict):
            raise ValueError(f"{self.config_json} holds no config object; move {self.path} away")
        return saved

    def check_resumable(self, config: dict[str, Any]) -> None:
        """Raise unless the run exists with ``config`` (naming every key that differs)."""
        differences = config_differences(self.kind, self.saved_config(), config)
        if differences:
            raise ValueError(
                f"--resume with a config that differs from the one saved in {self.config_json}: "
                f"{describe_differences(differences)}. Resume with the same config "
                f"(--config {self.config_yaml} --resume), or start a new run with another "
                "name= (nothing was changed)"
            )

    def create(self, config: dict[str, Any]) -> None:
        """Make a fresh run directory holding ``config``; never touches an existing run."""
        if layout.holds_run(self.path):
            raise ValueError(
                f"run directory {self.path} already holds a run; pass --resume to continue it, or "
                "choose another name= / output_dir= (nothing was overwritten)"
            )
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.config_json, json.dumps(config, indent=2, sort_keys=True))
        atomic_write_text(self.config_yaml, yaml.safe_dump(config, sort_keys=False))

    def prepare(self, config: dict[str, Any], resume: bool) -> None:
        """Create the run (fresh) or check it may be resumed with this config."""
        if resume:
            self.check_resumable(config)
        else:
            self.create(config)

    def read_summary(self) -> dict[str, Any]:
        return layout.read_json_dict(self.summary)

    def write_summary(self, summary: dict[str, Any]) -> None:
        """Write ``summary.json`` with the torch threads the run used: CPU numbers are
        bit-identical for the same config, seed and thread count (docs/running.md)."""
        import torch

        summary = {**summary, "torch_threads": torch.get_num_threads()}
        atomic_write_text(self.summary, json.dumps(summary, indent=2, sort_keys=True))

    # -- pretraining ---------------------------------------------------------------------------

    def resume_checkpoint(self) -> Path | None:
        return self.last_checkpoint if self.last_checkpoint.is_file() else None

    def merge_metrics(self) -> Path:
        """Concatenate the CSV logger's segments (one per start or resume) into ``metrics.csv``.
        A resume restarts at an epoch boundary, so rows an earlier segment logged for an epoch
        a later segment ran again (the interrupted epoch) are dropped: no step appears twice."""
        segments = sorted(
            (self.path / "csv").glob("version_*/metrics.csv"),
            key=lambda p: int(p.parent.name.split("_")[1]),
        )
        parts: list[list[dict[str, str]]] = []
        for segment in segments:
            with segment.open(newline="") as handle:
                parts.append(list(csv.DictReader(handle)))
        rows: list[dict[str, str]] = []
        for i, part in enumerate(parts):
            redone = min((_epoch(r) for later in parts[i + 1 :] for r in later), default=None)
            rows += [r for r in part if redone is None or _epoch(r) < redone]
        fields = sorted({key for row in rows for key in row})
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(self.metrics_csv, buffer.getvalue())
        return self.metrics_csv


def _epoch(row: dict[str, str]) -> float:
    """A logged row's epoch (Lightning writes one on every row); rows without one sort last."""
    try:
        return float(row.get("epoch") or "inf")
    except ValueError:
        return float("inf")
