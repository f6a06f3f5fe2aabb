"""Robust accuracy against pretraining compute: one point per method (mean ± std over seeds),
the Pareto front (no other point is both cheaper and more robust), and the figure the report
draws for any study whose finetuned models have both (docs/efficiency.md).

Compute is CPU seconds (``train_cpu_seconds``, all of a model's pretraining runs summed; see
:mod:`robustssl.experiments.compute`) when every run has them, else wall seconds; the axis says
which. Each figure holds one protocol and one attack setting (attack tag, norm, ε), so points
are comparable.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robustssl.experiments.compute import PretrainCost
from robustssl.experiments.figures import Figure, FigureFiles, save_figure
from robustssl.experiments.points import format_eps


@dataclass(frozen=True)
class ParetoPoint:
    """One method's mean robust accuracy (fraction) and pretraining seconds over its seeds."""

    label: str
    seconds: float
    seconds_std: float
    ra: float
    ra_std: float
    n_seeds: int


@dataclass(frozen=True)
class ParetoPanel:
    """The points of one protocol × attack setting; ``cpu`` says which seconds they use."""

    title: str
    points: tuple[ParetoPoint, ...]
    cpu: bool


def row_method(row: Mapping[str, Any]) -> str:
    """A record's method label (its pretraining entry when it has no label)."""
    return str(row.get("method") or row.get("pretraining"))


def row_protocol(row: Mapping[str, Any]) -> Any:
    """A record's finetuning protocol (its finetune entry when it has no protocol label)."""
    return row.get("protocol") or row.get("finetune")


def _std(values: Sequence[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def _point(label: str, pairs: Sequence[tuple[float, float]]) -> ParetoPoint:
    seconds, ra = [p[0] for p in pairs], [p[1] for p in pairs]
    return ParetoPoint(
        label=label,
        seconds=statistics.fmean(seconds),
        seconds_std=_std(seconds),
        ra=statistics.fmean(ra),
        ra_std=_std(ra),
        n_seeds=len(pairs),
    )


def pareto_panels(
    rows: Sequence[Mapping[str, Any]], costs: Mapping[str, PretrainCost]
) -> list[ParetoPanel]:
    """One panel per (dataset, protocol, attack tag, norm, ε) with ≥ 2 methods that have RA
    records and pretraining costs; a method's seeds are averaged (their count is kept)."""
    ra_rows = [r for r in rows if r.get("metric") == "ra" and r.get("model") in costs]
    groups: dict[tuple, list[Mapping[str, Any]]] = defaultdict(list)
    for r in ra_rows:
        key = (r.get("dataset"), row_protocol(r), r.get("attack_tag"), r.get("norm"), r.get("eps"))
        groups[key].append(r)
    panels = []
    for (dataset, protocol, tag, norm, eps), members in groups.items():
        cpu = all(costs[r["model"]].cpu_seconds is not None for r in members)
        by_method: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for r in members:
            cost = costs[r["model"]]
            seconds = cost.cpu_seconds if cpu and cost.cpu_seconds is not None else cost.seconds
            by_method[row_method(r)].append((seconds, float(r["value"])))
        if len(by_method) < 2:
            continue
        title = f"{dataset} {protocol}: {tag} at {format_eps(eps, norm)}"
        points = tuple(_point(label, pairs) for label, pairs in by_method.items())
        panels.append(ParetoPanel(title, points, cpu))
    return panels


def pareto_front(points: Sequence[ParetoPoint]) -> list[ParetoPoint]:
    """The points no other point beats on both axes (cheaper or equal and more robust), by
    increasing seconds."""
    front: list[ParetoPoint] = []
    for p in sorted(points, key=lambda p: (p.seconds, -p.ra)):
        if not front or p.ra > front[-1].ra:
            front.append(p)
    return front


def pareto_figure(panel: ParetoPanel, path: str | Path) -> FigureFiles:
    """SLF/ALF/AFF robust accuracy (%) vs pretraining seconds (log scale), error bars = std over
    seeds, the Pareto front as a dashed line; each point's SVG id is ``point-<label>``."""
    fig = Figure(figsize=(6.0, 4.5))
    ax = fig.add_subplot(1, 1, 1)
    for p in panel.points:
        bars = ax.errorbar(
            p.seconds,
            100 * p.ra,
            xerr=p.seconds_std,
            yerr=100 * p.ra_std,
            fmt="o",
            capsize=3,
            label=f"{p.label} (n={p.n_seeds})",
        )
        bars.lines[0].set_gid(f"point-{p.label}")
    front = pareto_front(panel.points)
    ax.plot([p.seconds for p in front], [100 * p.ra for p in front], "k--", lw=1, alpha=0.6)
    ax.set_xscale("log")
    ax.set_xlabel(f"pretraining {'CPU' if panel.cpu else 'wall'} seconds (log)")
    ax.set_ylabel("robust accuracy (%)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    ax.set_title(f"Robustness per compute — {panel.title}", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)
