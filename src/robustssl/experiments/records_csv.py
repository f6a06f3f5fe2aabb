"""``records.csv``: every record of a report as CSV, and back (the one owner of the format).

:func:`records_csv` writes what ``robustssl report`` puts in ``report/records.csv`` (published in
``docs/results/``); :func:`read_records_csv` reads such a file back into the rows
:meth:`robustssl.experiments.store.ResultsStore.rows` gives, refusing what no report writes
(``robustssl report --add-records``, :mod:`robustssl.experiments.imported`).
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from robustssl.evaluation.metrics import is_accuracy
from robustssl.experiments.store import ROW_KEYS, row_to_record

UNIT = "unit"  # a column for readers ("fraction" for accuracies), not a record field
_REQUIRED = tuple(k for k in ROW_KEYS if k != "tags")
_INTS = ("id", "n", "seed")
_FLOATS = ("eps", "eps_train", "label_fraction")
_JSON = ("attack_config", "info")


class RecordsFileError(ValueError):
    """A records file cannot be read or added; the message names the file, the problem and the
    fix."""


def records_csv(rows: list[dict[str, Any]]) -> str:
    """Every record as CSV (lists, dicts as JSON), values as stored; the ``unit`` column says
    "fraction" for accuracies (shown in % by the tables)."""
    keys = list(dict.fromkeys(k for r in rows for k in r if k != "tags"))
    keys.insert(keys.index("value") + 1 if "value" in keys else len(keys), UNIT)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        out = {
            k: json.dumps(r[k]) if isinstance(r.get(k), (list, dict)) else r.get(k) for k in keys
        }
        out[UNIT] = "fraction" if is_accuracy(r.get("metric")) else ""
        writer.writerow(out)
    return buffer.getvalue()


def _cell(key: str, text: str, where: str) -> Any:
    if text == "":
        return None
    try:
        if key in _INTS:
            return int(text)
        if key in _FLOATS:
            return float(text)
        if key in _JSON:
            return json.loads(text)
    except ValueError:
        raise RecordsFileError(
            f"{where}: column {key!r} holds {text!r}, not a number / JSON"
        ) from None
    if key.startswith("tags."):
        return _tag(text)
    if key == "value":
        try:
            return json.loads(text)
        except ValueError:
            return float(text)  # "nan" / "inf" as Python writes them
    return text


def _tag(text: str) -> Any:
    """A tag as stored: numbers and booleans (``True`` as Python writes it) typed, else text."""
    if text in ("True", "False"):
        return text == "True"
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, (int, float)) else text


def read_records_csv(path: Path) -> list[dict[str, Any]]:
    """The records of ``path`` (a ``records.csv`` of :func:`records_csv`) as
    :meth:`ResultsStore.rows` gives them: typed fields, tags rebuilt."""
    if not path.is_file():
        raise RecordsFileError(f"{path}: no such file; pass an earlier report's records.csv")
    try:
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            header = list(reader.fieldnames or [])
            missing = [k for k in _REQUIRED if k not in header]
            if missing:
                raise RecordsFileError(
                    f"{path} is not a records.csv of `robustssl report` (no column "
                    f"{', '.join(missing[:4])}); pass <report>/records.csv or docs/results/*.csv"
                )
            rows = [_row(raw, f"{path}, line {i}") for i, raw in enumerate(reader, start=2)]
    except UnicodeDecodeError:
        raise RecordsFileError(f"{path} is not a text (CSV) file; pass a records.csv") from None
    except csv.Error as err:
        raise RecordsFileError(f"{path} is not valid CSV ({err}); pass a records.csv") from None
    return rows


def _row(raw: dict[str, str | None], where: str) -> dict[str, Any]:
    if None in raw or any(v is None for v in raw.values()):
        raise RecordsFileError(f"{where}: wrong number of fields (a truncated or edited file?)")
    row = {k: _cell(k, v or "", where) for k, v in raw.items() if k != UNIT}
    if row.get("seed") is None or not row.get("stage"):
        raise RecordsFileError(f"{where}: a record without seed or stage")
    row["tags"] = {k[5:]: v for k, v in row.items() if k.startswith("tags.") and v is not None}
    value = row.get("value")
    if is_accuracy(row["metric"]) and isinstance(value, (int, float)) and _outside(value):
        raise RecordsFileError(f"{where}: accuracy {value!r} outside [0, 1] (an edited file?)")
    row["attack_tag"] = row_to_record(row).attack_tag  # the label follows the attack's settings
    return row


def _outside(value: float) -> bool:
    """An accuracy no evaluation writes (NaN stays: a metric with no points to measure)."""
    return not math.isnan(value) and not 0 <= value <= 1
