"""Stages an edited experiment file replaced, so the report never averages two recipes.

When a study's experiment file changes a stage's settings (say, a finetuning's epochs), the runner
runs a new stage beside the old one: same entry, labels and seed, another config hash. Both keep
their records in ``results.sqlite``; a table would then combine them in one cell as if they were
two seeds. A stored stage is *superseded* when it is not in the study's last plan (``plan.json``)
but a stage of that plan has its kind, entry (its name without the config hashes), labels and seed.
Stages of seeds or entries the last run left out are not superseded: nothing replaced them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from robustssl.runs.layout import PLAN

_HASH = re.compile(r"-[0-9a-f]{8}$")


def entry_name(name: str) -> str:
    """The name without config hashes: ``t0-alf-5e1703d1/linf-ecf66f5c`` → ``t0-alf/linf``."""
    return "/".join(_HASH.sub("", part) for part in name.split("/"))


def _key(stage: dict[str, Any]) -> tuple[str, str, str, str]:
    labels = json.dumps(stage.get("labels") or {}, sort_keys=True, default=str)
    seed = str((stage.get("config") or {}).get("seed"))
    return str(stage["kind"]), entry_name(str(stage["name"])), labels, seed


def read_plan(study: Path) -> list[dict[str, Any]] | None:
    """The study's last plan (``plan.json``), None when missing or unreadable."""
    try:
        plan = json.loads((study / PLAN).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(plan, list) or not all(isinstance(s, dict) and "name" in s for s in plan):
        return None
    return plan


def superseded_stages(
    stages: Iterable[dict[str, Any]], plan: list[dict[str, Any]] | None
) -> set[str]:
    """Names of the stored ``stages`` that a stage of ``plan`` replaced (none without a plan)."""
    if not plan:
        return set()
    current = {str(s["name"]) for s in plan}
    keys = {_key(s) for s in plan}
    return {str(s["name"]) for s in stages if s["name"] not in current and _key(s) in keys}


def unplanned_unfinished(
    stages: Iterable[dict[str, Any]], plan: list[dict[str, Any]] | None
) -> set[str]:
    """Names of the stored stages neither complete nor in ``plan`` (the last run's): seeds or
    entries an earlier run planned and the last one did not, so no run will finish them."""
    if not plan:
        return set()
    current = {str(s["name"]) for s in plan}
    return {
        str(s["name"]) for s in stages if s["name"] not in current and s["status"] != "complete"
    }
