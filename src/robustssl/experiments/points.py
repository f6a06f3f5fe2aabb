"""Which stored records give which number of a table or a plot, and how labels are printed.

- Accuracy at ε_test (seed 003 Tables 1–4, seed 002 Tables 5.1–5.2, robustness curves): the
  ε-curve records (metric ``accuracy``) first, then RA at its ε, then SA as ε_test = 0 for every
  norm the model was attacked under — among records of the same *setting* only. Corruption
  records (``tags.corruption``) are left out.
- A classification metric at ε_test (MCC, seed 002 Table 5.3): ``tags.data = clean`` is
  ε_test = 0 and ``tags.data = pgd`` is the record's ε.
- A number's *setting* is what produced it besides the model and the seed: the attack's full
  settings (``attack_config``; none at ε = 0, where nothing is attacked), the number of points
  and which ones. Numbers of different settings never share a cell: tables split them into
  columns labelled by :func:`setting_labels` (the attack tag, plus what tells equal tags apart).

Rows are the flat dicts of :meth:`robustssl.experiments.store.ResultsStore.rows`.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from robustssl.evaluation.provenance import CLEAN, describe_config, unknown_config

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


@dataclass(frozen=True)
class Point:
    """One number placed at (norm, ε_test), with the row it came from (for its labels) and its
    setting (see the module docstring)."""

    row: Row
    norm: str
    eps: float
    value: float
    setting: str = ""


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def model_key(row: Row) -> tuple:
    return tuple(row.get(k) for k in MODEL_KEYS)


def _config(row: Row) -> dict[str, Any]:
    return dict(row.get("attack_config") or unknown_config(row.get("attack")))


def setting_of(row: Row, clean: bool | None = None) -> str:
    """The setting of a row as JSON: attack settings (none when ``clean``; by default when its
    attack tag is "clean"), n and subset."""
    clean = row.get("attack_tag", CLEAN) == CLEAN if clean is None else clean
    attack = {} if clean else _config(row)
    payload = {"attack": attack, "n": row.get("n"), "subset": row.get("subset")}
    return json.dumps(payload, sort_keys=True, default=str)


def _tag_of(row: Row, clean: bool) -> str:
    return CLEAN if clean else str(row.get("attack_tag") or CLEAN)


def setting_labels(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """{setting: label} for (setting, attack tag) pairs: the tag, and where two settings share
    a tag, what differs between them in brackets (``PGD-20 α=ε/4 (n=100)``)."""
    tags = dict(pairs)
    by_tag: dict[str, list[str]] = defaultdict(list)
    for setting, tag in tags.items():
        by_tag[tag].append(setting)
    out = {}
    for tag, settings in by_tag.items():
        if len(settings) == 1:
            out[settings[0]] = tag
            continue
        flat = [_flatten(json.loads(s)) for s in settings]
        every = dict.fromkeys(k for f in flat for k in f)
        keys = [k for k in every if len({_txt(f.get(k)) for f in flat}) > 1]
        for setting, f in zip(settings, flat, strict=True):
            out[setting] = f"{tag} ({', '.join(f'{k}={_txt(f.get(k))}' for k in keys)})"
    return out


def _flatten(setting: Mapping[str, Any]) -> dict[str, Any]:
    """A setting as flat keys: n, subset and the attack's own keys."""
    attack = setting.get("attack") or {}
    return {"n": setting.get("n"), "subset": setting.get("subset"), **attack}


def _txt(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ",".join(_txt(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return str(value.get("name", json.dumps(value, sort_keys=True)))
    return "–" if value is None else str(value)


def settings_caption(settings: Mapping[str, str]) -> str:
    """What each label of a table stands for: every attack setting, n and the subset."""
    parts = []
    for setting, label in settings.items():
        s = json.loads(setting)
        attack = describe_config(s["attack"]) if s["attack"] else "no attack"
        where = f", {s['subset']}" if s.get("subset") else ""
        parts.append(f"{label}: {attack}; n={s['n']}{where}")
    return "Settings — " + " | ".join(parts)


def _clean(rows: Iterable[Row]) -> list[Row]:
    return [r for r in rows if "tags.corruption" not in r and is_number(r.get("value"))]


def accuracy_points(rows: Iterable[Row]) -> list[Point]:
    """Accuracy at each (norm, ε_test, setting) of each model: curve > RA > SA among the records
    of one setting (see module docstring)."""
    groups: dict[tuple, list[Row]] = defaultdict(list)
    for r in _clean(rows):
        groups[model_key(r)].append(r)
    points = []
    for group in groups.values():
        norms = sorted({r["norm"] for r in group if r["metric"] in ("accuracy", "ra")})
        best: dict[tuple[str, float, str], tuple[int, Row]] = {}
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
                key = (norm, round(float(eps), 12), setting_of(r, clean=float(eps) == 0))
                if key not in best or prio < best[key][0]:
                    best[key] = (prio, r)
        points += [
            Point(r, n, e, float(r["value"]), setting) for (n, e, setting), (_, r) in best.items()
        ]
    return points


def point_labels(points: Iterable[Point]) -> dict[str, str]:
    """:func:`setting_labels` of the points' settings ("clean" at ε = 0)."""
    return setting_labels((p.setting, _tag_of(p.row, p.eps == 0)) for p in points)


def row_labels(rows: Iterable[Row]) -> dict[str, str]:
    """:func:`setting_labels` of rows' own settings (:func:`setting_of`)."""
    return setting_labels((setting_of(r), _tag_of(r, False)) for r in rows)


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
                setting = setting_of(r, clean=True)
                points += [Point(r, n, 0.0, float(r["value"]), setting) for n in norms]
            else:
                setting = setting_of(r, clean=False)
                points.append(Point(r, r["norm"], float(r["eps"]), float(r["value"]), setting))
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
            name = NORM_NAMES.get(str(threat), str(threat))
            norm = f"{name} " if value and threat != "none" else ""
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
