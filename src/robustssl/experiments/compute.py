"""What each finetuned model's pretraining cost: the training seconds (wall and CPU) of its
pretraining run plus every pretraining run that run used — AdvCL's pseudo-label encoder, DeACL's
teacher, DynACL++'s DynACL encoder — read from each run's ``summary.json`` (issue "robustness per
compute"; docs/efficiency.md).

A pretraining run uses another when a string in its stage config names that run's directory
(``@pretrain:`` references are resolved to paths before a stage runs). Runs are matched by their
directory name under ``runs/pretrain/``, so a moved study still adds up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robustssl.experiments.store import stage_dir
from robustssl.runs import layout

PRETRAIN = "pretrain"


@dataclass(frozen=True)
class PretrainCost:
    """Training seconds summed over ``runs`` (the model's pretraining and what it used);
    ``cpu_seconds`` is None when a run predates CPU counting."""

    seconds: float
    cpu_seconds: float | None
    runs: tuple[str, ...]


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def _pretrain_refs(config: Mapping[str, Any], names: set[str]) -> set[str]:
    """The pretraining run names whose directories ``config``'s strings point at."""
    refs = set()
    for text in _strings(config):
        path = Path(text)
        if path.parent.name == PRETRAIN and path.name in names:
            refs.add(path.name)
    return refs


def _closure(start: set[str], uses: Mapping[str, set[str]]) -> tuple[str, ...]:
    seen: set[str] = set()
    todo = list(start)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(uses.get(name, ()))
    return tuple(sorted(seen))


def _summed(runs: tuple[str, ...], summaries: Mapping[str, dict[str, Any]]) -> PretrainCost | None:
    wall, cpu = 0.0, 0.0
    cpu_known = True
    for name in runs:
        summary = summaries.get(name, {})
        if summary.get("status") != "complete" or "train_seconds" not in summary:
            return None
        wall += float(summary["train_seconds"])
        if "train_cpu_seconds" in summary:
            cpu += float(summary["train_cpu_seconds"])
        else:
            cpu_known = False
    return PretrainCost(wall, cpu if cpu_known else None, runs)


def pretrain_costs(stages: list[dict[str, Any]], study_dir: Path) -> dict[str, PretrainCost]:
    """Model (finetune stage name) → its pretraining cost, for every finetuned model whose
    pretraining runs all completed. ``stages`` are :meth:`ResultsStore.stages` dicts."""
    pretrains = {s["name"]: s for s in stages if s["kind"] == PRETRAIN}
    names = set(pretrains)
    uses = {n: _pretrain_refs(s["config"], names - {n}) for n, s in pretrains.items()}
    summaries = {n: _summary(stage_dir(s, study_dir)) for n, s in pretrains.items()}
    costs: dict[str, PretrainCost] = {}
    for stage in stages:
        if stage["kind"] != "finetune":
            continue
        start = _pretrain_refs(stage["config"], names)
        cost = _summed(_closure(start, uses), summaries) if start else None
        if cost is not None:
            costs[stage["name"]] = cost
    return costs


def _summary(run_dir: Path | None) -> dict[str, Any]:
    """A run's summary.json; {} (no cost) when it has no directory or no readable summary."""
    return layout.read_json_dict(run_dir / layout.SUMMARY) if run_dir is not None else {}
