"""``robustssl results STUDY --rebuild``: a new results store from the study's files.

The evaluations' ``records.json`` files are the source of truth; ``results.sqlite`` is an index
of them. A damaged (or lost) store is moved aside — with its ``-wal`` / ``-shm`` files, never
deleted — and rebuilt the way the runner builds it: every stage of ``plan.json`` with its name,
labels, config and status (read from its files on disk, as the runner does), and the records
of every finished evaluation. Records files under the study that no plan stage names (runs
added with ``--ingest``) are ingested too.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from robustssl.experiments.store import ResultsStore
from robustssl.runs.layout import EVALUATION, PLAN, RECORDS, STORE, STUDY_RUNS, stage_state
from robustssl.runs.lock import DirLock

STATUS_OF_STATE = {"complete": "complete", "partial": "interrupted", "new": "pending"}


@dataclass
class RebuildReport:
    """What a rebuild did."""

    study_dir: Path
    moved_to: Path | None
    stages: int
    files: int
    records: int

    def summary(self) -> str:
        kept = f"; the old store is kept as {self.moved_to}" if self.moved_to else ""
        return (
            f"rebuilt {self.study_dir / STORE}: {self.stages} stages, {self.records} records "
            f"from {self.files} records.json file(s){kept}"
        )


def _move_aside(store: Path) -> Path | None:
    """Rename the store and its SQLite side files to ``<name>.damaged-<time>[-wal|-shm]``."""
    if not store.exists():
        return None
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = store.with_name(f"{store.name}.damaged-{stamp}")
    for suffix in ("-wal", "-shm", ""):  # the side files first: a new store must not read them
        side = store.with_name(store.name + suffix)
        if side.exists():
            os.replace(side, target.with_name(target.name + suffix))
    return target


def _in_study(study: Path, recorded: str) -> Path:
    """A stage path of ``plan.json`` inside ``study`` (the study may have been moved)."""
    parts = Path(recorded).parts
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == STUDY_RUNS and parts[i + 1] in ("pretrain", "finetune"):
            return study.joinpath(*parts[i:])
    return Path(recorded)


def _plan_stages(study: Path) -> list[dict[str, Any]]:
    """The stages of ``plan.json`` (empty when it is missing or unreadable)."""
    try:
        stages = json.loads((study / PLAN).read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(stages, list):
        return []
    keys = ("kind", "name", "path", "config", "labels")
    return [s for s in stages if isinstance(s, dict) and all(k in s for k in keys)]


def rebuild_store(study_dir: str | Path) -> RebuildReport:
    """Move ``<study>/results.sqlite`` aside and build a new one from the study's files (see the
    module docstring). Refused while a runner holds the study."""
    study = Path(study_dir)
    if not study.is_dir():
        raise FileNotFoundError(f"no study directory at {study}")
    with DirLock(study, "study", stop_note="finished stages are kept"):
        moved = _move_aside(study / STORE)
        done: set[Path] = set()
        files = records = 0
        plan = _plan_stages(study)
        with ResultsStore(study) as store:
            for s in plan:
                path = _in_study(study, s["path"])
                status = STATUS_OF_STATE[stage_state(s["kind"], path)]
                stage_id = store.add_stage(
                    s["kind"], s["name"], s["config"], s["labels"], path=path, status=status
                )
                store.set_status(stage_id, status)
                if s["kind"] == "evaluate" and status == "complete":
                    result = store.ingest(path, stage_id=stage_id)
                    files += len(result.files)
                    records += result.inserted + result.updated + result.unchanged
                    done.add((path / RECORDS).resolve())
            for found in sorted((study / STUDY_RUNS).glob(f"**/{EVALUATION}/*/{RECORDS}")):
                if found.resolve() in done:
                    continue
                result = store.ingest(found.parent)
                files += len(result.files)
                records += result.inserted + result.updated + result.unchanged
            stages = len(store.stages())
    return RebuildReport(study, moved, stages, files, records)
