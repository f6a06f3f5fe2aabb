"""Finetuning run directories, with the pretraining runs' rules (robustssl.methods.rundir): nothing
already written is overwritten, and ``--resume`` only continues a run with the same config (keys
that do not change the numbers — progress bar, device — may differ). Kept here so finetuning does
not import the Lightning-based pretraining package."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from robustssl.utils.checkpoint import atomic_write_text

DISPLAY_ONLY = ("progress_bar", "device")


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in DISPLAY_ONLY}


@dataclass(frozen=True)
class FinetuneRunDir:
    path: Path

    @property
    def config_json(self) -> Path:
        return self.path / "config.json"

    @property
    def summary(self) -> Path:
        return self.path / "summary.json"

    def check_resumable(self, config: dict[str, Any]) -> None:
        """Raise unless the run exists with ``config`` (up to display-only keys)."""
        if not self.config_json.is_file():
            raise ValueError(f"nothing to resume: {self.config_json} does not exist; drop --resume")
        saved = json.loads(self.config_json.read_text())
        if _comparable(saved) != _comparable(config):
            raise ValueError(
                f"--resume with a config that differs from the one saved in {self.path}; resume "
                "with the same config, or start a new run with another name="
            )

    def create(self, config: dict[str, Any]) -> None:
        """Make a fresh run directory holding ``config``; never touches an existing run."""
        if self.path.exists() and any(self.path.iterdir()):
            raise ValueError(
                f"run directory {self.path} already holds a run; pass --resume to continue it, or "
                "choose another name= / output_dir= (nothing was overwritten)"
            )
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.config_json, json.dumps(config, indent=2, sort_keys=True))
        atomic_write_text(self.path / "config.yaml", yaml.safe_dump(config, sort_keys=False))

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_text(self.summary, json.dumps(summary, indent=2, sort_keys=True))
