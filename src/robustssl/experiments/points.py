"""Which stored records give which number of a table or a plot, and how labels are printed.

- Accuracy at ε_test (seed 003 Tables 1–4, seed 002 Tables 5.1–5.2, robustness curves): the
  ε-curve records (metric ``accuracy``) first, then RA at its ε, then SA as ε_test = 0 for every
  norm the model was attacked under. Corruption records (``tags.corruption``) are left out.
- A classification metric at ε_test (MCC, seed 002 Table 5.3): ``tags.data = clean`` is
  ε_test = 0 and ``tags.data = pgd`` is the record's ε.

Rows are the flat dicts of :meth:`robustssl.experiments.store.ResultsStore.rows`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

Row = dict[str, Any]
# A model in a study: rows sharing these keys are one trained model (per seed).
MODEL_KEYS = (
    "dataset",
    "model",
    "method",
    "protocol",
    "threat",
    "eps_train",
    "label_fraction",
    "seed",
)
PERCENT_METRICS = frozenset({"sa", "ra", "aa", "accuracy", "breakdown", "top1", "top5"})
NORM_NAMES = {"Linf": "L∞", "L2": "L2", "L1": "L1"}
PROTOCOL_NAMES = {
    "slf": "Standard linear finetuning (SLF)",
    "alf": "Adversarial linear finetuning (ALF)",
    "aff": "Adversarial full finetuning (AFF)",
    "sff": "Standard full finetuning (SFF)",
    "partial": "Partial finetuning",
}
ATTACK_ORDER = (
    "clean",
    "fgsm",
    "pgd",
    "apgd-ce",
    "apgd-dlr",
    "apgd-t",
    "fab-t",
    "square",
    "aa",
    "worst_case",
)
ATTACK_NAMES = {
    "clean": "Clean",
    "fgsm": "FGSM",
    "pgd": "PGD",
    "apgd-ce": "APGD-CE",
    "apgd-dlr": "APGD-DLR",
    "apgd-t": "APGD-T",
    "fab-t": "FAB-T",
    "square": "Square",
    "aa": "AA",
    "worst_case": "Worst case",
}


@dataclass(frozen=True)
class Point:
    """One number placed at (norm, ε_test), with the row it came from (for its labels)."""

    row: Row
    norm: str
    eps: float
    value: float


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def model_key(row: Row) -> tuple:
    return tuple(row.get(k) for k in MODEL_KEYS)


def _clean(rows: Iterable[Row]) -> list[Row]:
    return [r for r in rows if "tags.corruption" not in r and is_number(r.get("value"))]


def accuracy_points(rows: Iterable[Row]) -> list[Point]:
    """Accuracy at each (norm, ε_test) of each model: curve > RA > SA (see module docstring)."""
    groups: dict[tuple, list[Row]] = defaultdict(list)
    for r in _clean(rows):
        groups[model_key(r)].append(r)
    points = []
    for group in groups.values():
        norms = sorted({r["norm"] for r in group if r["metric"] in ("accuracy", "ra")})
        best: dict[tuple[str, float], tuple[int, Row]] = {}
        for r in group:
            if r["metric"] == "accuracy" and r["norm"]:
                cands = [(r["norm"], r["eps"], 0)]
            elif r["metric"] == "ra" and r["norm"]:
                cands = [(r["norm"], r["eps"], 1)]
            elif r["metric"] == "sa":
                cands = [(norm, 0.0, 2) for norm in norms]
            else:
                continue
            for norm, eps, prio in cands:
                key = (norm, round(float(eps), 12))
                if key not in best or prio < best[key][0]:
                    best[key] = (prio, r)
        points += [Point(r, n, e, float(r["value"])) for (n, e), (_, r) in best.items()]
    return points


def classification_points(rows: Iterable[Row], metric: str = "mcc") -> list[Point]:
    """``metric`` (mcc, top1, top5) at ε_test: clean data → 0 for every attacked norm; PGD data →
    the record's (norm, ε)."""
    groups: dict[tuple, list[Row]] = defaultdict(list)
    for r in _clean(rows):
        if r["metric"] == metric:
            groups[model_key(r)].append(r)
    points = []
    for group in groups.values():
        norms = sorted({r["norm"] for r in group if r["norm"]})
        for r in group:
            if r.get("tags.data") == "clean" or r["norm"] is None:
                points += [Point(r, n, 0.0, float(r["value"])) for n in norms]
            else:
                points.append(Point(r, r["norm"], float(r["eps"]), float(r["value"])))
    return points


def format_eps(eps: float | None, norm: str | None = None) -> str:
    """ε as the seeds print it: L∞ multiples of 1/255 as "k/255" (seed 003 Table 2), else the
    shortest decimal ("0.5", seed 003 Table 1; "0.2", seed 002)."""
    if eps is None:
        return "–"
    if norm == "Linf" and eps > 0:
        k = eps * 255
        if abs(k - round(k)) < 1e-6:
            return f"{round(k)}/255"
    return f"{eps:g}"


def format_fraction(fraction: float | None) -> str:
    """A label fraction as a percentage ("100%", "10%", "1%"; seed 004 Table 1)."""
    return "–" if fraction is None else f"{100 * fraction:g}%"


def varying(rows: Sequence[Row], keys: Sequence[str]) -> list[str]:
    """The keys among ``keys`` that take more than one value in ``rows``."""
    return [k for k in keys if len({r.get(k) for r in rows}) > 1]


def label_of(row: Row, keys: Sequence[str]) -> str:
    """A readable label from ``keys`` of ``row`` (method first, then the others in brackets)."""
    parts = []
    for key in keys:
        value = row.get(key)
        if key == "threat":
            if "eps_train" not in keys and value is not None:
                parts.append(NORM_NAMES.get(value, str(value)))
        elif key == "eps_train":
            threat = row.get("threat")
            norm = f"{NORM_NAMES.get(threat, threat)} " if value and threat != "none" else ""
            parts.append(f"{norm}ε_train={format_eps(value, threat)}")
        elif key == "label_fraction":
            parts.append(format_fraction(value))
        elif key == "protocol" and value:
            parts.append(str(value).upper())
        elif value is not None:
            parts.append(str(value))
    if len(parts) <= 1:
        return parts[0] if parts else "–"
    return f"{parts[0]} ({', '.join(parts[1:])})"


def ordered(values: Iterable[Any], key: Callable[[Any], Any] | None = None) -> list[Any]:
    """Distinct values in first-seen order (or sorted by ``key``)."""
    seen = list(dict.fromkeys(values))
    return sorted(seen, key=key) if key is not None else seen


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None
