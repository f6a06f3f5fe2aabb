"""The seeds' tables, rebuilt from a study's records (render with
:mod:`robustssl.experiments.formats`).

- :func:`method_eps_tables`: method × ε_test, top-1 accuracy (%) (seed 003 Tables 1–4);
- :func:`pretrain_finetune_tables`: (pretraining, finetuning) × dataset × AA / RA / SA (%)
  (seed 001 Tables 1–2);
- :func:`finetune_columns_tables`: pretraining × (finetuning × RA / SA) (%) (seed 001 Table 3);
- :func:`eps_train_tables`: ε_train × ε_test, accuracy (%) or MCC (seed 002 Tables 5.1–5.5);
- :func:`finetune_gain_tables`: adversarial vs standard finetuning and the improvement
  (seed 002 Tables 5.6–5.7);
- :func:`label_fraction_tables`: label fraction × model, accuracy (%) (seed 004 Table 1);
- :func:`attack_tables`: model × attack, robust accuracy (%) (seed 000 Figure 14).

Accuracies are stored as fractions and printed in % with two decimals, MCC with three, as in the
seeds. Several records for one cell (seeds, repeated models) are averaged. :func:`pivot` is the
generic pivot behind ``robustssl results --pivot``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

from robustssl.experiments.formats import Table
from robustssl.experiments.points import (
    ATTACK_NAMES,
    ATTACK_ORDER,
    NORM_NAMES,
    PROTOCOL_NAMES,
    Point,
    Row,
    accuracy_points,
    classification_points,
    format_eps,
    format_fraction,
    is_number,
    label_of,
    mean,
    ordered,
    varying,
)

EXTRA_KEYS = ("protocol", "threat", "eps_train", "label_fraction")


def _grid(
    items: Iterable[Any],
    row_of: Callable[[Any], Hashable | None],
    col_of: Callable[[Any], Hashable | None],
    value_of: Callable[[Any], float],
    row_order: Sequence[Hashable] | None = None,
    col_order: Sequence[Hashable] | None = None,
) -> tuple[list[Any], list[Any], list[list[float | None]]]:
    """Rows × columns of mean values; rows/columns in first-seen order unless given."""
    acc: dict[tuple[Any, Any], list[float]] = defaultdict(list)
    rows_seen, cols_seen = [], []
    for item in items:
        r, c = row_of(item), col_of(item)
        if r is None or c is None:
            continue
        acc[(r, c)].append(value_of(item))
        rows_seen.append(r)
        cols_seen.append(c)
    rows = list(row_order) if row_order is not None else ordered(rows_seen)
    cols = list(col_order) if col_order is not None else ordered(cols_seen)
    cells = [[mean(acc.get((r, c), [])) for c in cols] for r in rows]
    return rows, cols, cells


def _groups(items: Iterable[Any], key: Callable[[Any], Hashable]) -> dict[Hashable, list[Any]]:
    out: dict[Hashable, list[Any]] = defaultdict(list)
    for item in items:
        out[key(item)].append(item)
    return dict(out)


def _slug(*parts: Any) -> str:
    text = "_".join(format_eps(p) if isinstance(p, float) else str(p) for p in parts if p != "")
    return "".join(ch if ch.isalnum() or ch in "-." else "_" for ch in text).strip("_")


def _pct(point: Point) -> float:
    return 100 * point.value


def method_eps_tables(rows: Sequence[Row]) -> list[Table]:
    """Seed 003 Tables 1–4: one table per (dataset, test norm); rows are methods (with the
    protocol / ε_train in brackets when those vary), columns ε_test."""
    tables = []
    points = accuracy_points(rows)
    for (dataset, norm), group in _groups(points, lambda p: (p.row["dataset"], p.norm)).items():
        keys = ["method", *varying([p.row for p in group], EXTRA_KEYS)]
        eps_cols = ordered({p.eps for p in group}, key=float)
        labels, cols, cells = _grid(
            group, lambda p, k=keys: label_of(p.row, k), lambda p: p.eps, _pct, col_order=eps_cols
        )
        tables.append(
            Table(
                name=_slug("method_eps", dataset, norm),
                title=f"Top-1 accuracy (%) on {dataset} at ε_test ({NORM_NAMES.get(norm, norm)})",
                row_header=("Method / ε_test",),
                rows=[(lab,) for lab in labels],
                columns=[(format_eps(e, norm),) for e in cols],
                cells=cells,
            )
        )
    return tables


def _metric_rows(rows: Sequence[Row], metrics: Sequence[str]) -> list[Row]:
    return [
        r
        for r in rows
        if r["metric"] in metrics and "tags.corruption" not in r and is_number(r["value"])
    ]


def _threats(rows: Sequence[Row]) -> list[tuple[str, float]]:
    """(norm, ε) of the attacked metrics, in first-seen order."""
    return ordered((r["norm"], float(r["eps"])) for r in rows if r["norm"] and r["eps"])


def pretrain_finetune_tables(
    rows: Sequence[Row], metrics: Sequence[str] = ("aa", "ra", "sa")
) -> list[Table]:
    """Seed 001 Tables 1–2: rows (pretraining method, finetuning protocol) grouped by protocol,
    columns dataset × AA / RA / SA (%); one table per test threat (norm, ε)."""
    selected = _metric_rows(rows, metrics)
    tables = []
    for norm, eps in _threats([r for r in selected if r["metric"] != "sa"]):
        group = [r for r in selected if r["norm"] is None or (r["norm"], r["eps"]) == (norm, eps)]
        keys = ["method", *varying(group, ("threat", "eps_train", "label_fraction"))]
        protocols = ordered(r["protocol"] for r in group)
        methods = ordered(label_of(r, keys) for r in group)
        row_order = [(m, p) for p in protocols for m in methods]
        datasets = ordered(r["dataset"] for r in group)
        col_order = [(d, m) for d in datasets for m in metrics]
        labels, cols, cells = _grid(
            group,
            lambda r, k=keys: (label_of(r, k), r["protocol"]),
            lambda r: (r["dataset"], r["metric"]),
            lambda r: 100 * float(r["value"]),
            row_order,
            col_order,
        )
        keep = [i for i, row in enumerate(cells) if any(v is not None for v in row)]
        tables.append(
            Table(
                name=_slug("pretrain_finetune", norm, eps),
                title=f"AA / RA / SA (%) by pretraining and finetuning, "
                f"{NORM_NAMES.get(norm, norm)} ε = {format_eps(eps, norm)}",
                row_header=("Pretraining Method", "Finetuning Method"),
                rows=[
                    (labels[i][0], PROTOCOL_NAMES.get(labels[i][1], str(labels[i][1])))
                    for i in keep
                ],
                columns=[(str(d), f"{m.upper()}(%)") for d, m in cols],
                cells=[cells[i] for i in keep],
                blank_repeats=(1,),
            )
        )
    return tables


def finetune_columns_tables(
    rows: Sequence[Row], metrics: Sequence[str] = ("ra", "sa")
) -> list[Table]:
    """Seed 001 Table 3: rows pretraining methods, columns protocol × RA / SA (%); one table per
    (dataset, test threat), only when at least two protocols were run."""
    selected = _metric_rows(rows, metrics)
    tables = []
    for norm, eps in _threats([r for r in selected if r["metric"] != "sa"]):
        group = [r for r in selected if r["norm"] is None or (r["norm"], r["eps"]) == (norm, eps)]
        for dataset, dgroup in _groups(group, lambda r: r["dataset"]).items():
            protocols = ordered(r["protocol"] for r in dgroup)
            if len(protocols) < 2:
                continue
            keys = ["method", *varying(dgroup, ("threat", "eps_train", "label_fraction"))]
            labels, cols, cells = _grid(
                dgroup,
                lambda r, k=keys: label_of(r, k),
                lambda r: (r["protocol"], r["metric"]),
                lambda r: 100 * float(r["value"]),
                col_order=[(p, m) for p in protocols for m in metrics],
            )
            tables.append(
                Table(
                    name=_slug("finetune_columns", dataset, norm, eps),
                    title=f"RA / SA (%) on {dataset} by linear finetuning strategy, "
                    f"{NORM_NAMES.get(norm, norm)} ε = {format_eps(eps, norm)}",
                    row_header=("Method",),
                    rows=[(lab,) for lab in labels],
                    columns=[(str(p).upper(), f"{m.upper()}(%)") for p, m in cols],
                    cells=cells,
                )
            )
    return tables


def eps_train_tables(rows: Sequence[Row], metric: str = "accuracy") -> list[Table]:
    """Seed 002 Tables 5.1–5.5: ε_train × ε_test for each (dataset, test norm, method,
    protocol) trained at two or more ε_train; ``metric`` "accuracy" (%) or "mcc"."""
    if metric == "accuracy":
        points, scale, precision, name = accuracy_points(rows), 100.0, 2, "Accuracy"
    else:
        points, scale, precision, name = classification_points(rows, metric), 1.0, 3, metric.upper()
    points = [p for p in points if p.row.get("eps_train") is not None]
    tables = []
    key = lambda p: (p.row["dataset"], p.norm, p.row["method"], p.row["protocol"])  # noqa: E731
    for (dataset, norm, method, protocol), group in _groups(points, key).items():
        eps_train = ordered({float(p.row["eps_train"]) for p in group}, key=float)
        if len(eps_train) < 2:
            continue
        threat = next((p.row["threat"] for p in group if p.row["eps_train"]), norm)
        labels, cols, cells = _grid(
            group,
            lambda p: float(p.row["eps_train"]),
            lambda p: p.eps,
            lambda p, s=scale: s * p.value,
            eps_train,
            ordered({p.eps for p in group}, key=float),
        )
        tables.append(
            Table(
                name=_slug("eps_train", metric, dataset, norm, method, protocol),
                title=f"{name} {method} ({str(protocol).upper()}) on {dataset}, "
                f"{NORM_NAMES.get(norm, norm)}",
                row_header=("Fine-Tuned Model ε",),
                rows=[(format_eps(e, threat),) for e in labels],
                columns=[("Evaluation ε Parameter", format_eps(e, norm)) for e in cols],
                cells=cells,
                precision=precision,
            )
        )
    return tables


def finetune_gain_tables(
    rows: Sequence[Row], standard: str = "slf", adversarial: str = "alf"
) -> list[Table]:
    """Seed 002 Tables 5.6–5.7: accuracy (%) at ε_test of each method finetuned adversarially
    and standardly, then "Robustness Improvement" rows (adversarial − standard, in points)."""
    points = [p for p in accuracy_points(rows) if p.row["protocol"] in (standard, adversarial)]
    tables = []
    for (dataset, norm), group in _groups(points, lambda p: (p.row["dataset"], p.norm)).items():
        both = [
            m
            for m in ordered(p.row["method"] for p in group)
            if {p.row["protocol"] for p in group if p.row["method"] == m} == {standard, adversarial}
        ]
        if not both:
            continue
        order = [(m, proto) for m in both for proto in (adversarial, standard)]
        keys, cols, cells = _grid(
            group,
            lambda p: (p.row["method"], p.row["protocol"]),
            lambda p: p.eps,
            _pct,
            order,
            ordered({p.eps for p in group}, key=float),
        )
        gains = [_difference(cells[2 * i], cells[2 * i + 1]) for i in range(len(both))]
        labels = [(f"{m} {proto.upper()}",) for m, proto in keys]
        labels += [(f"{m} ({adversarial.upper()} − {standard.upper()})",) for m in both]
        tables.append(
            Table(
                name=_slug("finetune_gain", dataset, norm, adversarial, standard),
                title=f"Accuracy (%) on {dataset}: {adversarial.upper()} vs {standard.upper()} "
                f"finetuning, {NORM_NAMES.get(norm, norm)}",
                row_header=("Fine-Tuned Model",),
                rows=labels,
                columns=[("Evaluation ε Parameter", format_eps(e, norm)) for e in cols],
                cells=cells + gains,
                sections={len(keys): "Robustness Improvement"},
            )
        )
    return tables


def _difference(a: list[float | None], b: list[float | None]) -> list[float | None]:
    return [x - y if x is not None and y is not None else None for x, y in zip(a, b, strict=True)]


def label_fraction_tables(rows: Sequence[Row], metric: str = "sa") -> list[Table]:
    """Seed 004 Table 1: label fraction (rows, 100 % first) × model (columns), accuracy in %;
    one table per dataset run with two or more label fractions."""
    selected = [r for r in _metric_rows(rows, (metric,)) if r.get("label_fraction") is not None]
    tables = []
    for dataset, group in _groups(selected, lambda r: r["dataset"]).items():
        fractions = ordered({float(r["label_fraction"]) for r in group}, key=lambda f: -f)
        if len(fractions) < 2:
            continue
        keys = ["method", *varying(group, ("protocol", "threat", "eps_train"))]
        labels, cols, cells = _grid(
            group,
            lambda r: float(r["label_fraction"]),
            lambda r, k=keys: label_of(r, k),
            lambda r: 100 * float(r["value"]),
            fractions,
        )
        tables.append(
            Table(
                name=_slug("label_fraction", dataset, metric),
                title=f"Test accuracy on {dataset} by fraction of labels available at train time",
                row_header=("% of Labels Available at Train Time",),
                rows=[(format_fraction(f),) for f in labels],
                columns=[(c,) for c in cols],
                cells=cells,
                suffix="%",
            )
        )
    return tables


def attack_tables(rows: Sequence[Row]) -> list[Table]:
    """Seed 000 Figure 14 as a table: models × attacks (clean, FGSM, PGD, APGD-CE, APGD-DLR,
    AA, worst case), robust accuracy (%); one table per (dataset, norm, ε) of the breakdown."""
    selected = _metric_rows(rows, ("breakdown", "sa"))
    tables = []
    for norm, eps in _threats([r for r in selected if r["metric"] == "breakdown"]):
        group = [r for r in selected if r["norm"] is None or (r["norm"], r["eps"]) == (norm, eps)]
        for dataset, dgroup in _groups(group, lambda r: r["dataset"]).items():
            if not any(r["metric"] == "breakdown" for r in dgroup):
                continue
            keys = ["method", *varying(dgroup, EXTRA_KEYS)]
            attacks = {r["attack"] if r["metric"] == "breakdown" else "clean" for r in dgroup}
            order = [a for a in ATTACK_ORDER if a in attacks] + sorted(attacks - set(ATTACK_ORDER))
            labels, cols, cells = _grid(
                dgroup,
                lambda r, k=keys: label_of(r, k),
                lambda r: r["attack"] if r["metric"] == "breakdown" else "clean",
                lambda r: 100 * float(r["value"]),
                col_order=order,
            )
            tables.append(
                Table(
                    name=_slug("attacks", dataset, norm, eps),
                    title=f"Robust accuracy (%) on {dataset} per attack, "
                    f"{NORM_NAMES.get(norm, norm)} ε = {format_eps(eps, norm)}",
                    row_header=("Model",),
                    rows=[(lab,) for lab in labels],
                    columns=[(ATTACK_NAMES.get(a, a),) for a in cols],
                    cells=cells,
                )
            )
    return tables


def seed_tables(rows: Sequence[Row]) -> list[Table]:
    """Every seed layout that the records can fill, in the order of the table above."""
    return [
        *method_eps_tables(rows),
        *pretrain_finetune_tables(rows),
        *finetune_columns_tables(rows),
        *eps_train_tables(rows, "accuracy"),
        *eps_train_tables(rows, "mcc"),
        *finetune_gain_tables(rows),
        *label_fraction_tables(rows),
        *attack_tables(rows),
    ]


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, float(value)) if is_number(value) else (1, str(value))


def pivot(
    rows: Sequence[Row],
    row_keys: Sequence[str],
    col_key: str,
    value_key: str = "value",
    precision: int = 4,
    title: str = "",
) -> Table:
    """Generic pivot: mean of the numeric ``value_key`` per (row keys, column key); columns
    sorted (numbers first, ascending). Rows lacking a key count as "–"."""
    if not row_keys:
        raise ValueError("pivot needs at least one row key, e.g. rows=method")
    numeric = [r for r in rows if is_number(r.get(value_key))]
    labels, cols, cells = _grid(
        numeric,
        lambda r: tuple(_text(r.get(k)) for k in row_keys),
        lambda r: r.get(col_key),
        lambda r: float(r[value_key]),
    )
    cols_sorted = sorted(cols, key=_sort_key)
    index = [cols.index(c) for c in cols_sorted]
    return Table(
        name=_slug("pivot", *row_keys, col_key, value_key),
        title=title or f"mean {value_key} by {', '.join(row_keys)} × {col_key}",
        row_header=tuple(row_keys),
        rows=list(labels),
        columns=[(f"{col_key}={_text(c)}",) for c in cols_sorted],
        cells=[[row[i] for i in index] for row in cells],
        precision=precision,
    )


def _text(value: Any) -> str:
    if value is None:
        return "–"
    return format_eps(value) if isinstance(value, float) else str(value)


LISTING_KEYS = ("method", "protocol", "model", "dataset", "metric", "norm", "eps", "attack")


def listing(rows: Sequence[Row], precision: int = 4) -> Table:
    """The scalar records one per line (``robustssl results`` without ``--pivot``); lists and
    matrices (per-class accuracy, confusion matrices) are left out."""
    shown = [r for r in rows if is_number(r.get("value"))]

    def labels(r: Row) -> tuple[str, ...]:
        base = [
            format_eps(r["eps"], r["norm"]) if k == "eps" else _text(r.get(k)) for k in LISTING_KEYS
        ]
        tags = " ".join(f"{k}={v}" for k, v in sorted(r.get("tags", {}).items()))
        return (*base, tags)

    return Table(
        name="records",
        title=f"{len(shown)} records",
        row_header=(*LISTING_KEYS, "tags"),
        rows=[labels(r) for r in shown],
        columns=[("value",)],
        cells=[[float(r["value"])] for r in shown],
        precision=precision,
    )


def pivot_spec(spec: dict[str, str]) -> tuple[list[str], str, str]:
    """(row keys, column key, value key) from ``{"rows": "a,b", "cols": "c", "value": "v"}``."""
    unknown = sorted(set(spec) - {"rows", "cols", "value"})
    if unknown or "rows" not in spec or "cols" not in spec:
        raise ValueError(
            f"--pivot needs rows=KEY[,KEY...] and cols=KEY (optional value=KEY); got {spec}"
        )
    row_keys = [k for k in spec["rows"].split(",") if k]
    return row_keys, spec["cols"], spec.get("value", "value")
