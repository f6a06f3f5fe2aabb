"""Run directories: resolved config, weights (safetensors), metrics (CSV + TensorBoard), Lightning
checkpoint for resuming, and a summary. Nothing already written is overwritten by a new run."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from robustssl.utils.checkpoint import atomic_write_text


@dataclass(frozen=True)
class RunDir:
    path: Path

    @property
    def config_json(self) -> Path:
        return self.path / "config.json"

    @property
    def last_checkpoint(self) -> Path:
        return self.path / "checkpoints" / "last.ckpt"

    @property
    def encoder_weights(self) -> Path:
        return self.path / "encoder.safetensors"

    @property
    def method_weights(self) -> Path:
        return self.path / "method.safetensors"

    @property
    def summary(self) -> Path:
        return self.path / "summary.json"

    def prepare(self, config: dict[str, Any], resume: bool) -> None:
        """Create the run (fresh) or check it may be resumed with this exact config."""
        if resume:
            if not self.config_json.is_file():
                raise ValueError(
                    f"nothing to resume: {self.config_json} does not exist; drop --resume"
                )
            saved = json.loads(self.config_json.read_text())
            if _comparable(saved) != _comparable(config):
                raise ValueError(
                    f"--resume with a config that differs from the one saved in {self.path}; "
                    "resume with the same config, or start a new run with another name="
                )
            return
        if self.path.exists() and any(self.path.iterdir()):
            raise ValueError(
                f"run directory {self.path} already holds a run; pass --resume to continue it, or "
                "choose another name= / output_dir= (nothing was overwritten)"
            )
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.config_json, json.dumps(config, indent=2, sort_keys=True))
        atomic_write_text(self.path / "config.yaml", yaml.safe_dump(config, sort_keys=False))

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
        target = self.path / "metrics.csv"
        atomic_write_text(target, buffer.getvalue())
        return target

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_text(self.summary, json.dumps(summary, indent=2, sort_keys=True))


def _epoch(row: dict[str, str]) -> float:
    """A logged row's epoch (Lightning writes one on every row); rows without one sort last."""
    try:
        return float(row.get("epoch") or "inf")
    except ValueError:
        return float("inf")


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    """The config without keys that do not change the numbers (display only)."""
    trainer = {k: v for k, v in config.get("trainer", {}).items() if k != "progress_bar"}
    return {**config, "trainer": trainer}
