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

Accuracies are stored as fractions; the tables keep them and render them in % with two decimals
(MCC with three), as in the seeds. Every attacked number sits in a column labelled with the tag of
the attack that produced it (``RA(%) PGD-20 α=ε/4``); numbers of different settings (attack
settings, n, subset) never share a cell, and each table's caption spells every label out. Several
records for one cell (seeds) are combined as mean ± sample std (n). :func:`pivot` is the generic
pivot behind ``robustssl results --pivot``, :func:`listing` its plain listing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from functools import partial
from typing import Any, TypeVar

from robustssl.evaluation.metrics import is_accuracy
from robustssl.evaluation.provenance import CLEAN
from robustssl.evaluation.representation import FEATURE_DIFF
from robustssl.experiments.formats import Cell, Stat, Table, file_slug
from robustssl.experiments.points import (
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
    ordered,
    point_labels,
    row_labels,
    setting_of,
    settings_caption,
    varying,
)

EXTRA_KEYS = ("protocol", "threat", "eps_train", "label_fraction")
PERCENT = 100.0
SEED_NOTE = "Cells combining several records (seeds) show mean ± sample std (number of records)."
SAME_SEED_NOTE = "* the cell combines several models with the same seed."


def _row(item: Any) -> Row:
    return item.row if isinstance(item, Point) else item


def _grid(
    items: Iterable[Any],
    row_of: Callable[[Any], Hashable | None],
    col_of: Callable[[Any], Hashable | None],
    value_of: Callable[[Any], float],
    row_order: Sequence[Hashable] | None = None,
    col_order: Sequence[Hashable] | None = None,
) -> tuple[list[Any], list[Any], list[list[Cell]]]:
    """Rows × columns of combined values (:class:`Stat`: mean ± std over the records, with
    their seeds); rows/columns in first-seen order unless given."""
    acc: dict[tuple[Any, Any], list[tuple[float, int]]] = defaultdict(list)
    rows_seen, cols_seen = [], []
    for item in items:
        r, c = row_of(item), col_of(item)
        if r is None or c is None:
            continue
        acc[(r, c)].append((value_of(item), int(_row(item).get("seed") or 0)))
        rows_seen.append(r)
        cols_seen.append(c)
    rows = list(row_order) if row_order is not None else ordered(rows_seen)
    cols = list(col_order) if col_order is not None else ordered(cols_seen)
    cells: list[list[Cell]] = [[_stat(acc.get((r, c), [])) for c in cols] for r in rows]
    return rows, cols, cells


def _point_label(point: Point, keys: Sequence[str]) -> str:
    return label_of(point.row, keys)


def _label_and_protocol(row: Row, keys: Sequence[str]) -> tuple[str, Any]:
    return label_of(row, keys), row["protocol"]


def _stat(pairs: list[tuple[float, int]]) -> Stat | None:
    return Stat.of([v for v, _ in pairs], [s for _, s in pairs])


def _caption(labels: dict[str, str], cells: Sequence[Sequence[Cell]]) -> str:
    """Every label's settings, and the note on combined cells when there are any."""
    parts = [settings_caption(labels)] if labels else []
    stats = [c for row in cells for c in row if isinstance(c, Stat)]
    if any(c.n > 1 for c in stats):
        parts.append(SEED_NOTE)
    if any(c.same_seed for c in stats):
        parts.append(SAME_SEED_NOTE)
    return " ".join(p if p.endswith(".") else f"{p}." for p in parts)


_K = TypeVar("_K", bound=Hashable)
_T = TypeVar("_T")


def _groups(items: Iterable[_T], key: Callable[[_T], _K]) -> dict[_K, list[_T]]:
    out: dict[_K, list[_T]] = defaultdict(list)
    for item in items:
        out[key(item)].append(item)
    return dict(out)


def _slug(*parts: Any) -> str:
    text = "_".join(format_eps(p) if isinstance(p, float) else str(p) for p in parts if p != "")
    return file_slug(text)


def _value(item: Any) -> float:
    return item.value if isinstance(item, Point) else float(item["value"])


def _metric_label(metric: str, label: str) -> str:
    """``RA(%) PGD-20 α=ε/4``; SA's plain "clean" is left out."""
    head = f"{metric.upper()}(%)"
    return head if label == CLEAN else f"{head} {label}"


def _eps_columns(points: Sequence[Point], labels: dict[str, str]) -> list[tuple[str, float]]:
    """(setting, ε) columns: clean first, then each attack setting (first seen) by ε."""
    settings = ordered(p.setting for p in points)
    settings.sort(key=lambda s: labels[s] != CLEAN)
    cols = []
    for setting in settings:
        eps = ordered({p.eps for p in points if p.setting == setting}, key=float)
        cols += [(setting, e) for e in eps]
    return cols


def method_eps_tables(rows: Sequence[Row]) -> list[Table]:
    """Seed 003 Tables 1–4: one table per (dataset, test norm); rows are methods (with the
    protocol / ε_train in brackets when those vary), columns ε_test under the attack's tag."""
    tables = []
    points = accuracy_points(rows)
    for (dataset, norm), group in _groups(points, lambda p: (p.row["dataset"], p.norm)).items():
        keys = ["method", *varying([p.row for p in group], EXTRA_KEYS)]
        labels = point_labels(group)
        cols = _eps_columns(group, labels)
        rlabels, cols, cells = _grid(
            group,
            partial(_point_label, keys=keys),
            lambda p: (p.setting, p.eps),
            _value,
            col_order=cols,
        )
        tables.append(
            Table(
                name=_slug("method_eps", dataset, norm),
                title=f"Top-1 accuracy (%) on {dataset} at ε_test ({NORM_NAMES.get(norm, norm)})",
                row_header=("Method / ε_test",),
                rows=[(lab,) for lab in rlabels],
                columns=[(labels[st], format_eps(e, norm)) for st, e in cols],
                cells=cells,
                scale=PERCENT,
                caption=_caption(labels, cells),
            )
        )
    return tables


def _metric_rows(rows: Sequence[Row], metrics: Sequence[str]) -> list[Row]:
    return [
        r
        for r in rows
        if r["metric"] in metrics and "tags.corruption" not in r and is_number(r["value"])
    ]


def _threat_groups(
    rows: Sequence[Row], metrics: Sequence[str]
) -> Iterator[tuple[tuple[str, float], list[Row], list[Row]]]:
    """For each test threat (norm, ε) of the attacked ``metrics``, first seen first: the threat,
    every attacked row (all threats) and the rows of this threat with the clean ("sa") ones."""
    selected = _metric_rows(rows, metrics)
    attacked = [r for r in selected if r["metric"] != "sa"]
    for threat in ordered((r["norm"], float(r["eps"])) for r in attacked if r["norm"] and r["eps"]):
        yield (
            threat,
            attacked,
            [r for r in selected if r["norm"] is None or (r["norm"], r["eps"]) == threat],
        )


def _metric_columns(
    group: Sequence[Row], outer: Callable[[Row], Any], metrics: Sequence[str]
) -> list[tuple[Any, str, str]]:
    """(outer, metric, setting) columns: outer values first seen, metrics in the given order,
    then each setting of that metric (first seen)."""
    cols = []
    for o in ordered(outer(r) for r in group):
        for m in metrics:
            settings = ordered(setting_of(r) for r in group if outer(r) == o and r["metric"] == m)
            cols += [(o, m, st) for st in settings]
    return cols


def _without_elsewhere(
    group: Sequence[Row],
    attacked: Sequence[Row],
    threat: tuple[str, float],
    key: Callable[[Row], Hashable],
) -> list[Row]:
    """``group`` without the models attacked under other threats and not under ``threat``
    (norm, ε): a threat's table leaves them out rather than show their clean accuracy beside "–"."""
    here = {key(r) for r in attacked if (r["norm"], r["eps"]) == threat}
    elsewhere = {key(r) for r in attacked} - here
    return [r for r in group if key(r) not in elsewhere]


def pretrain_finetune_tables(
    rows: Sequence[Row], metrics: Sequence[str] = ("aa", "ra", "sa")
) -> list[Table]:
    """Seed 001 Tables 1–2: rows (pretraining method, finetuning protocol) grouped by protocol,
    columns dataset × AA / RA / SA (%), each under its attack's tag; one table per test threat,
    without the models attacked only under other threats."""
    tables = []
    for (norm, eps), attacked, group in _threat_groups(rows, metrics):
        keys = ["method", *varying(group, ("threat", "eps_train", "label_fraction"))]
        row_key = partial(_label_and_protocol, keys=keys)
        group = _without_elsewhere(group, attacked, (norm, eps), row_key)
        protocols = ordered(r["protocol"] for r in group)
        methods = ordered(label_of(r, keys) for r in group)
        row_order = [(m, p) for p in protocols for m in methods]
        labels = row_labels(group)
        col_order = _metric_columns(group, lambda r: r["dataset"], metrics)
        rlabels, cols, cells = _grid(
            group,
            row_key,
            lambda r: (r["dataset"], r["metric"], setting_of(r)),
            _value,
            row_order,
            col_order,
        )
        keep = [i for i, row in enumerate(cells) if any(v is not None for v in row)]
        kept = [cells[i] for i in keep]
        tables.append(
            Table(
                name=_slug("pretrain_finetune", norm, eps),
                title=f"AA / RA / SA (%) by pretraining and finetuning, "
                f"{NORM_NAMES.get(norm, norm)} ε = {format_eps(eps, norm)}",
                row_header=("Pretraining Method", "Finetuning Method"),
                rows=[
                    (rlabels[i][0], PROTOCOL_NAMES.get(rlabels[i][1], str(rlabels[i][1])))
                    for i in keep
                ],
                columns=[(str(d), _metric_label(m, labels[st])) for d, m, st in cols],
                cells=kept,
                scale=PERCENT,
                caption=_caption(labels, kept),
                blank_repeats=(1,),
            )
        )
    return tables


def finetune_columns_tables(
    rows: Sequence[Row], metrics: Sequence[str] = ("ra", "sa")
) -> list[Table]:
    """Seed 001 Table 3: rows pretraining methods, columns protocol × RA / SA (%) under their
    attack's tag; one table per (dataset, test threat), only when two or more protocols ran,
    without the models attacked only under other threats."""
    tables = []
    for (norm, eps), attacked, group in _threat_groups(rows, metrics):
        for dataset, dgroup in _groups(group, lambda r: r["dataset"]).items():
            keys = ["method", *varying(dgroup, ("threat", "eps_train", "label_fraction"))]
            dgroup = _without_elsewhere(
                dgroup,
                [r for r in attacked if r["dataset"] == dataset],
                (norm, eps),
                partial(label_of, keys=keys),
            )
            protocols = ordered(r["protocol"] for r in dgroup)
            if len(protocols) < 2:
                continue
            labels = row_labels(dgroup)
            rlabels, cols, cells = _grid(
                dgroup,
                partial(label_of, keys=keys),
                lambda r: (r["protocol"], r["metric"], setting_of(r)),
                _value,
                col_order=_metric_columns(dgroup, lambda r: r["protocol"], metrics),
            )
            tables.append(
                Table(
                    name=_slug("finetune_columns", dataset, norm, eps),
                    title=f"RA / SA (%) on {dataset} by linear finetuning strategy, "
                    f"{NORM_NAMES.get(norm, norm)} ε = {format_eps(eps, norm)}",
                    row_header=("Method",),
                    rows=[(lab,) for lab in rlabels],
                    columns=[(str(p).upper(), _metric_label(m, labels[st])) for p, m, st in cols],
                    cells=cells,
                    scale=PERCENT,
                    caption=_caption(labels, cells),
                )
            )
    return tables


def _eval_eps_header(label: str) -> str:
    return f"Evaluation ε Parameter ({label})"


def eps_train_tables(rows: Sequence[Row], metric: str = "accuracy") -> list[Table]:
    """Seed 002 Tables 5.1–5.5: ε_train × ε_test for each (dataset, test norm, method,
    protocol) trained at two or more ε_train; ``metric`` "accuracy" (%) or "mcc"."""
    if metric == "accuracy":
        points, scale, precision, name = accuracy_points(rows), PERCENT, 2, "Accuracy"
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
        labels = point_labels(group)
        rlabels, cols, cells = _grid(
            group,
            lambda p: float(p.row["eps_train"]),
            lambda p: (p.setting, p.eps),
            _value,
            eps_train,
            _eps_columns(group, labels),
        )
        tables.append(
            Table(
                name=_slug("eps_train", metric, dataset, norm, method, protocol),
                title=f"{name} {method} ({str(protocol).upper()}) on {dataset}, "
                f"{NORM_NAMES.get(norm, norm)}",
                row_header=("Fine-Tuned Model ε",),
                rows=[(format_eps(e, threat),) for e in rlabels],
                columns=[(_eval_eps_header(labels[st]), format_eps(e, norm)) for st, e in cols],
                cells=cells,
                precision=precision,
                scale=scale,
                caption=_caption(labels, cells),
            )
        )
    return tables


def finetune_gain_tables(
    rows: Sequence[Row], standard: str = "slf", adversarial: str = "alf"
) -> list[Table]:
    """Seed 002 Tables 5.6–5.7: accuracy (%) at ε_test of each method finetuned adversarially
    and standardly, then "Robustness Improvement" rows (difference of the means, in points)."""
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
        labels = point_labels(group)
        keys, cols, cells = _grid(
            group,
            lambda p: (p.row["method"], p.row["protocol"]),
            lambda p: (p.setting, p.eps),
            _value,
            order,
            _eps_columns(group, labels),
        )
        gains = [_difference(cells[2 * i], cells[2 * i + 1]) for i in range(len(both))]
        rlabels: list[tuple[str, ...]] = [(f"{m} {proto.upper()}",) for m, proto in keys]
        rlabels += [(f"{m} ({adversarial.upper()} − {standard.upper()})",) for m in both]
        tables.append(
            Table(
                name=_slug("finetune_gain", dataset, norm, adversarial, standard),
                title=f"Accuracy (%) on {dataset}: {adversarial.upper()} vs {standard.upper()} "
                f"finetuning, {NORM_NAMES.get(norm, norm)}",
                row_header=("Fine-Tuned Model",),
                rows=rlabels,
                columns=[(_eval_eps_header(labels[st]), format_eps(e, norm)) for st, e in cols],
                cells=cells + gains,
                scale=PERCENT,
                caption=_caption(labels, cells),
                sections={len(keys): "Robustness Improvement"},
            )
        )
    return tables


def _difference(a: Sequence[Cell], b: Sequence[Cell]) -> list[Cell]:
    """Difference of the means (a plain number: no ± for a difference of averages)."""
    out: list[Cell] = []
    for x, y in zip(a, b, strict=True):
        mx = x.mean if isinstance(x, Stat) else x
        my = y.mean if isinstance(y, Stat) else y
        out.append(mx - my if mx is not None and my is not None else None)
    return out


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
        labels = row_labels(group)
        rlabels, cols, cells = _grid(
            group,
            lambda r: float(r["label_fraction"]),
            partial(_model_column, keys=keys, labels=labels),
            _value,
            fractions,
        )
        tables.append(
            Table(
                name=_slug("label_fraction", dataset, metric),
                title=f"Test accuracy on {dataset} by fraction of labels available at train time",
                row_header=("% of Labels Available at Train Time",),
                rows=[(format_fraction(f),) for f in rlabels],
                columns=[(c,) for c in cols],
                cells=cells,
                scale=PERCENT,
                percent_sign=True,
                caption=_caption(labels, cells),
            )
        )
    return tables


def _model_column(row: Row, keys: list[str], labels: dict[str, str]) -> str:
    """The model's label, with its setting's label when the table has several settings."""
    label = label_of(row, keys)
    return f"{label} [{labels[setting_of(row)]}]" if len(labels) > 1 else label


def _attack_order(settings: Iterable[str], name_of: dict[str, str]) -> list[str]:
    """Settings in the order of ATTACK_ORDER by attack name (first seen within a name)."""
    settings = ordered(settings)
    rank = {a: i for i, a in enumerate(ATTACK_ORDER)}
    return sorted(settings, key=lambda s: rank.get(name_of[s], len(rank)))


def attack_tables(rows: Sequence[Row]) -> list[Table]:
    """Seed 000 Figure 14 as a table: models × attacks (clean, FGSM, PGD, APGD-CE, APGD-DLR,
    AA, worst case), robust accuracy (%), each column labelled with its attack's tag; one
    table per (dataset, norm, ε) of the breakdown."""
    tables = []
    for (norm, eps), _, group in _threat_groups(rows, ("breakdown", "sa")):
        for dataset, dgroup in _groups(group, lambda r: r["dataset"]).items():
            if not any(r["metric"] == "breakdown" for r in dgroup):
                continue
            keys = ["method", *varying(dgroup, EXTRA_KEYS)]
            labels = row_labels(dgroup)
            name_of = {
                setting_of(r): (r["attack"] if r["metric"] == "breakdown" else "clean")
                for r in dgroup
            }
            rlabels, cols, cells = _grid(
                dgroup,
                partial(label_of, keys=keys),
                setting_of,
                _value,
                col_order=_attack_order((setting_of(r) for r in dgroup), name_of),
            )
            tables.append(
                Table(
                    name=_slug("attacks", dataset, norm, eps),
                    title=f"Robust accuracy (%) on {dataset} per attack, "
                    f"{NORM_NAMES.get(norm, norm)} ε = {format_eps(eps, norm)}",
                    row_header=("Model",),
                    rows=[(lab,) for lab in rlabels],
                    columns=[(labels[st],) for st in cols],
                    cells=cells,
                    scale=PERCENT,
                    caption=_caption(labels, cells),
                )
            )
    return tables


def _layer(row: Row) -> str:
    return str(row.get("tags.layer") or "encoder")


def feature_difference_tables(rows: Sequence[Row]) -> list[Table]:
    """Seed 000 Tables 2–3: models × statistics (mean, std, median, max) of ‖f(x_adv) − f(x)‖₂
    over the test points, one table per (dataset, threat, attack, layer)."""
    selected = [r for r in rows if str(r["metric"]).startswith(FEATURE_DIFF)]
    key = lambda r: (r["dataset"], r["norm"], r["eps"], setting_of(r), _layer(r))  # noqa: E731
    tables = []
    for (dataset, norm, eps, _setting, layer), group in _groups(selected, key).items():
        keys = ["method", *varying(group, EXTRA_KEYS)]
        labels = row_labels(group)
        rlabels, cols, cells = _grid(
            group,
            partial(label_of, keys=keys),
            lambda r: str(r["metric"]).removeprefix(FEATURE_DIFF),
            _value,
        )
        attack = next(iter(labels.values()), "")
        tables.append(
            Table(
                name=_slug("feature_difference", dataset, norm, eps, layer),
                title=f"‖f(x_adv) − f(x)‖₂ of the {layer} features on {dataset} under {attack}, "
                f"{NORM_NAMES.get(norm, norm)} ε = {format_eps(eps, norm)}",
                row_header=("Model",),
                rows=[(lab,) for lab in rlabels],
                columns=[(c,) for c in cols],
                cells=cells,
                precision=3,
                caption=_caption(labels, cells),
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
        *feature_difference_tables(rows),
    ]


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, float(value)) if is_number(value) else (1, str(value))


# Keys compared when a pivot cell combines records: any that differs is named in a note. (The
# model differs between seeds anyway; two models of one seed are marked by the same-seed rule.)
_COMBINED_KEYS = (
    "method",
    "protocol",
    "threat",
    "eps_train",
    "label_fraction",
    "dataset",
    "norm",
    "eps",
    "attack_tag",
    "n",
    "subset",
)


def check_row_keys(keys: Sequence[str], rows: Sequence[Row], what: str) -> None:
    """A ValueError naming the allowed keys when a key is absent from every row."""
    present = {k for r in rows for k in r}
    unknown = [k for k in keys if k not in present]
    if unknown:
        allowed = sorted(k for k in present if k not in ("tags", "info", "attack_config"))
        raise ValueError(
            f"unknown {what} key {', '.join(map(repr, unknown))}; keys: {', '.join(allowed)}"
        )


def pivot(
    rows: Sequence[Row],
    row_keys: Sequence[str],
    col_key: str,
    value_key: str = "value",
    precision: int = 4,
    title: str = "",
) -> Table:
    """Generic pivot: the records of each (row keys, column key) cell combined as mean ± std (n);
    columns sorted (numbers first, ascending) and, for ``value``, split by attack tag (the tag
    is part of the column label). Accuracies are shown in %. A key no row has, or a cell that
    would average different metrics, is a ValueError; other differences inside a cell (models,
    protocols, …) are named in the caption."""
    if not row_keys:
        raise ValueError("pivot needs at least one row key, e.g. rows=method")
    check_row_keys([*row_keys, col_key, value_key], rows, "pivot")
    numeric = [r for r in rows if is_number(r.get(value_key))]
    split = value_key == "value"

    def col_of(r: Row) -> tuple[Any, str]:
        return (r.get(col_key), str(r.get("attack_tag") or CLEAN) if split else CLEAN)

    labels, cols, cells = _grid(
        numeric,
        lambda r: tuple(_text(r.get(k)) for k in row_keys),
        col_of,
        lambda r: float(r[value_key]),
    )
    cols_sorted = sorted(cols, key=lambda c: (_sort_key(c[0]), c[1] != CLEAN, c[1]))
    index = [cols.index(c) for c in cols_sorted]
    cells = [[row[i] for i in index] for row in cells]
    members = _members(numeric, row_keys, col_of, labels, cols_sorted)
    scales = _pivot_scales(members, split) if split else None
    return Table(
        name=_slug("pivot", *row_keys, col_key, value_key),
        title=title
        or f"{value_key} by {', '.join(row_keys)} × {col_key}"
        + (" (accuracies in %)" if split else ""),
        row_header=tuple(row_keys),
        rows=list(labels),
        columns=[(_column_label(col_key, c, t),) for c, t in cols_sorted],
        cells=cells,
        precision=precision if not split else 2,
        scales=scales,
        percent_sign=True,
        caption=_pivot_note(members, [*row_keys, col_key], cells),
    )


def _members(
    rows: Sequence[Row],
    row_keys: Sequence[str],
    col_of: Callable[[Row], tuple[Any, str]],
    labels: Sequence[Any],
    cols: Sequence[Any],
) -> list[list[list[Row]]]:
    """The rows behind each cell of the pivot."""
    where = {(lab, c): [] for lab in labels for c in cols}  # type: dict[tuple, list[Row]]
    for r in rows:
        where[(tuple(_text(r.get(k)) for k in row_keys), col_of(r))].append(r)
    return [[where[(lab, c)] for c in cols] for lab in labels]


def _pivot_scales(members: list[list[list[Row]]], split: bool) -> list[list[float]]:
    """Per cell: 100 for accuracies (shown in %), 1 otherwise; a cell mixing metrics is an
    error, not an average."""
    scales = []
    for row in members:
        line = []
        for cell in row:
            metrics = sorted({str(r["metric"]) for r in cell})
            if len(metrics) > 1:
                raise ValueError(
                    f"a pivot cell would average different metrics ({', '.join(metrics)}); add "
                    "metric to rows= or cols=, or --filter metric=..."
                )
            line.append(PERCENT if metrics and is_accuracy(metrics[0]) else 1.0)
        scales.append(line)
    return scales


def _pivot_note(members: list[list[list[Row]]], shown: Sequence[str], cells: Any) -> str:
    """Name the keys that differ inside a combined cell (other than the seed), and the ± rule."""
    differing = [
        k
        for k in _COMBINED_KEYS
        if k not in shown
        and any(len({repr(r.get(k)) for r in cell}) > 1 for row in members for cell in row)
    ]
    note = _caption({}, cells)
    if differing:
        note += (
            f" Note: cells combine records that differ in {', '.join(differing)}; add them to "
            "rows= or --filter to separate them."
        )
    return note.strip()


def _column_label(col_key: str, value: Any, tag: str) -> str:
    label = f"{col_key}={_text(value)}"
    return label if tag == CLEAN else f"{label} {tag}"


def _text(value: Any) -> str:
    if value is None:
        return "–"
    return format_eps(value) if isinstance(value, float) else str(value)


LISTING_KEYS = ("method", "protocol", "model", "dataset", "metric", "norm", "eps", "attack")


def listing(rows: Sequence[Row], precision: int = 4) -> Table:
    """The scalar records one per line (``robustssl results`` without ``--pivot``): their labels,
    the attack's tag, n, seed and tags; accuracies shown in % (CSV: the stored fractions).
    Lists and matrices (per-class accuracy, confusion matrices) are left out."""
    shown = [r for r in rows if is_number(r.get("value"))]

    def labels(r: Row) -> tuple[str, ...]:
        base = [
            format_eps(r["eps"], r["norm"])
            if k == "eps"
            else str(r.get("attack_tag") or CLEAN)
            if k == "attack"
            else _text(r.get(k))
            for k in LISTING_KEYS
        ]
        tags = " ".join(f"{k}={v}" for k, v in sorted(r.get("tags", {}).items()))
        return (*base, _text(r.get("n")), _text(r.get("seed")), tags)

    return Table(
        name="records",
        title=f"{len(shown)} records (accuracies in %)",
        row_header=(*LISTING_KEYS, "n", "seed", "tags"),
        rows=[labels(r) for r in shown],
        columns=[("value",)],
        cells=[[float(r["value"])] for r in shown],
        precision=precision,
        scales=[[PERCENT if is_accuracy(r["metric"]) else 1.0] for r in shown],
        percent_sign=True,
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
