"""The results store of a study: one embedded SQLite file, ``<study>/results.sqlite``.

It holds the study's stages (pretrain / finetune / evaluate runs with their config, status, error
and timings) and every :class:`~robustssl.evaluation.records.EvalRecord` the stages wrote, with
the label columns the seeds' tables are keyed by (``method``, ``protocol``, ``threat``,
``eps_train``, ``label_fraction``; see :mod:`robustssl.experiments.labels`). SPEC.md §9.

- Versioned schema (``meta.schema_version``); a file written by a newer robustssl is refused
  with a clear message instead of being misread, and so is one written before records carried
  their attack settings (schema 1): the message says how to rebuild it from the runs'
  ``records.json`` files, which stay the source of truth.
- Every write is one transaction (``BEGIN IMMEDIATE``); WAL mode and a busy timeout let several
  processes write at once, and a write that still meets ``database is locked`` is retried.
- A damaged file (or an empty one, where a store was expected) is a :class:`StoreDamagedError`
  saying how to recover: the evaluations' ``records.json`` files are the source of truth, and
  ``robustssl results STUDY --rebuild`` re-reads them (:mod:`robustssl.experiments.rebuild`). A
  full disk is a :class:`StoreFullError`.
- A stage recorded "running" whose study is not locked by a live runner (it was killed) reads as
  "interrupted".
- :meth:`ResultsStore.ingest` reads a run's ``evaluation/*/records.json`` idempotently: a record
  is identified by :meth:`EvalRecord.identity`, re-ingesting the same file changes nothing, and a
  re-evaluated record (same identity, new value) replaces the old row.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import random
import sqlite3
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from robustssl.evaluation.metrics import record_metrics
from robustssl.evaluation.records import EvalRecord, now, read_records
from robustssl.experiments.filters import filter_rows, number
from robustssl.experiments.labels import (
    LABEL_KEYS,
    check_stage_labels,
    config_kind,
    labels_from_config,
    record_labels,
)
from robustssl.experiments.runfiles import find_records_files, read_dict, run_root
from robustssl.runs.atomic import DiskFullError, is_disk_full
from robustssl.runs.layout import CONFIG_JSON, STORE, SUMMARY
from robustssl.runs.lock import lock_holder

SCHEMA_VERSION = 2
STORE_FILE = STORE
STATUSES = ("pending", "running", "complete", "failed", "skipped", "interrupted")
_RECORD_FIELDS = (
    "model",
    "metric",
    "pretraining",
    "finetune",
    "dataset",
    "norm",
    "eps",
    "attack",
    "n",
    "subset",
    "seed",
    "code_version",
    "time",
)
_JSON_FIELDS = ("attack_config", "tags", "info")
# The keys of a flat row (ResultsStore.rows), besides "tags.<name>" for each tag.
ROW_KEYS = (
    "id",
    "stage",
    "kind",
    *_RECORD_FIELDS,
    *LABEL_KEYS,
    "attack_tag",
    "value",
    *_JSON_FIELDS,
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stages (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    path TEXT,
    config TEXT NOT NULL DEFAULT '{}',
    labels TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT 'pending',
    error TEXT,
    created TEXT NOT NULL,
    started TEXT,
    finished TEXT,
    seconds REAL,
    UNIQUE (kind, name)
);
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY,
    identity TEXT NOT NULL UNIQUE,
    digest TEXT NOT NULL,
    stage_id INTEGER REFERENCES stages(id),
    model TEXT NOT NULL,
    metric TEXT NOT NULL,
    value TEXT,
    value_num REAL,
    pretraining TEXT,
    finetune TEXT,
    dataset TEXT,
    norm TEXT,
    eps REAL,
    attack TEXT,
    attack_config TEXT NOT NULL,
    attack_tag TEXT NOT NULL,
    n INTEGER NOT NULL,
    subset TEXT,
    seed INTEGER NOT NULL,
    tags TEXT NOT NULL,
    info TEXT NOT NULL,
    code_version TEXT,
    time TEXT,
    method TEXT,
    protocol TEXT,
    threat TEXT,
    eps_train REAL,
    label_fraction REAL
);
CREATE INDEX IF NOT EXISTS records_metric ON records (metric);
CREATE INDEX IF NOT EXISTS records_stage ON records (stage_id);
"""

T = TypeVar("T")


class SchemaVersionError(ValueError):
    """The store was written by another robustssl version (or is not a results store)."""


class StoreDamagedError(SchemaVersionError):
    """The store file is damaged (or empty); the message says how to rebuild it."""


class StoreFullError(DiskFullError):
    """The store cannot be written: the disk is full."""


def recovery_hint(path: Path) -> str:
    """How to get a good store back (shown with every damaged-store error)."""
    study = path.parent
    return (
        f"The records.json files of the study's evaluations are the source of truth: rebuild the "
        f"store from them with `robustssl results {study} --rebuild` (the old file is kept next "
        f"to it as {path.name}.damaged-<time>), or run the study again with `robustssl run` "
        f"(finished stages are kept and their records re-read). To inspect the file: "
        f"sqlite3 {path} 'PRAGMA integrity_check'"
    )


def _is_damage(err: sqlite3.DatabaseError) -> bool:
    code = getattr(err, "sqlite_errorname", "") or ""
    text = str(err).lower()
    return (
        not isinstance(err, sqlite3.OperationalError)
        or code in ("SQLITE_CORRUPT", "SQLITE_NOTADB")
        or "malformed" in text
        or "not a database" in text
    )


@dataclass(frozen=True)
class IngestResult:
    """What one ingest did: the files read and how many records were new, changed or the same."""

    stage_id: int
    files: tuple[Path, ...]
    inserted: int
    updated: int
    unchanged: int


def _is_locked(err: sqlite3.OperationalError) -> bool:
    text = str(err).lower()
    return "locked" in text or "busy" in text


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, allow_nan=False)


def stage_dir(stage: Mapping[str, Any], study_dir: Path) -> Path | None:
    """A stage dict's run directory, absolute (a relative ``path`` is under ``study_dir``);
    None when the stage has no run directory yet."""
    if not stage.get("path"):
        return None
    p = Path(stage["path"])
    return p if p.is_absolute() else study_dir / p


class ResultsStore:
    """A study's SQLite results store; use as a context manager or call :meth:`close`.

    ``ResultsStore(study_dir)`` opens ``<study_dir>/results.sqlite`` (``create=False`` refuses a
    missing file). One store object belongs to one process; other processes open their own.
    """

    def __init__(
        self,
        study_dir: str | Path,
        create: bool = True,
        timeout: float = 30.0,
        retries: int = 20,
    ) -> None:
        study_dir = Path(study_dir)
        self.study_dir = study_dir
        self.path = study_dir / STORE_FILE
        if not self.path.is_file() and not create:
            raise FileNotFoundError(
                f"no results store at {self.path}; run the study first (`robustssl run`) or "
                f"ingest run directories with `robustssl results {study_dir} --ingest RUN_DIR`"
            )
        if self.path.is_file() and self.path.stat().st_size == 0:
            if not create:
                raise StoreDamagedError(
                    f"{self.path} is empty (0 bytes; e.g. left by a full disk or a copy that "
                    f"failed), so it holds no results. {recovery_hint(self.path)}"
                )
            warnings.warn(
                f"{self.path} was empty (0 bytes, e.g. left by a full disk); it is initialised "
                "as a new results store",
                stacklevel=2,
            )
        if create:
            study_dir.mkdir(parents=True, exist_ok=True)
        self.timeout, self.retries = timeout, retries
        self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        try:
            self._open(timeout)
        except BaseException:
            self._conn.close()
            raise

    def _open(self, timeout: float) -> None:
        """Settings, version and integrity checks, schema (a damaged file fails here)."""
        self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._check_version()
        self._retry(lambda: self._conn.execute("PRAGMA journal_mode = WAL"))
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._check_integrity()
        self.write(self._create_schema)
        self._check_version()

    # -- connection, transactions, schema ---------------------------------------------------

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def _retry(self, fn: Callable[[], T]) -> T:
        """``fn()``, retried with jittered back-off while SQLite says the database is locked; a
        damaged file or a full disk become :class:`StoreDamagedError` / :class:`StoreFullError`."""
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except sqlite3.OperationalError as err:
                if _is_locked(err) and attempt < self.retries:
                    time.sleep(min(1.0, 0.01 * 2**attempt) * (0.5 + random.random()))
                    continue
                raise self._translate(err) from None
            except sqlite3.DatabaseError as err:
                raise self._translate(err) from None
        raise AssertionError("unreachable")

    def _translate(self, err: sqlite3.DatabaseError) -> Exception:
        """The error to raise for an SQLite error (locked stays an OperationalError)."""
        if isinstance(err, sqlite3.OperationalError) and _is_locked(err):
            return err
        if is_disk_full(err):
            return StoreFullError(
                errno.ENOSPC,
                f"cannot write the results store {self.path}: the disk is full ({err}); free some "
                "space and run the same command again (the stages' run directories are intact "
                "and their records are re-read)",
            )
        if _is_damage(err):
            return StoreDamagedError(
                f"{self.path} is damaged or not a robustssl results store ({err}). "
                f"{recovery_hint(self.path)}"
            )
        return err

    def _check_integrity(self) -> None:
        """``PRAGMA quick_check``: a damaged file is refused when opened."""
        rows = self._retry(lambda: self._conn.execute("PRAGMA quick_check").fetchall())
        problems = [str(r[0]) for r in rows if str(r[0]) != "ok"]
        if problems:
            raise StoreDamagedError(
                f"{self.path} is damaged ({'; '.join(problems[:3])}). {recovery_hint(self.path)}"
            )

    def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` in one write transaction (all or nothing), with retries."""

        def attempt() -> T:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                out = fn(self._conn)
                self._conn.execute("COMMIT")
                return out
            except BaseException:
                if self._conn.in_transaction:
                    with contextlib.suppress(sqlite3.DatabaseError):  # e.g. after a full disk
                        self._conn.execute("ROLLBACK")
                raise

        return self._retry(attempt)

    def _create_schema(self, conn: sqlite3.Connection) -> None:
        for statement in _SCHEMA.split(";"):  # executescript would COMMIT our transaction
            if statement.strip():
                conn.execute(statement)
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )

    def schema_version(self) -> int | None:
        """The file's schema version (None for a new, empty file)."""
        tables = {
            row[0]
            for row in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if "meta" not in tables:
            if tables:
                raise SchemaVersionError(
                    f"{self.path} is an SQLite file of something else (tables "
                    f"{', '.join(sorted(tables)[:5])}), not a robustssl results store; move it "
                    "away or use another study directory"
                )
            return None
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row["value"]) if row is not None else None

    def _check_version(self) -> None:
        version = self._retry(self.schema_version)
        if version is not None and version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{self.path} has results schema version {version}, but this robustssl reads "
                f"up to version {SCHEMA_VERSION}; upgrade robustssl (pip install -U robustssl) "
                "or write this study to a new directory"
            )
        if version is not None and version < SCHEMA_VERSION:
            self._conn.close()
            raise SchemaVersionError(
                f"{self.path} has results schema version {version}, written before records "
                f"carried their attack settings (this robustssl reads version {SCHEMA_VERSION}). "
                "The store is an index of the runs' records.json files: rebuild it with "
                f"`robustssl results {self.study_dir} --rebuild` (the old file is kept next to "
                f"it), or move it away and run the study again with `robustssl run` (completed "
                "stages are kept and re-ingested)"
            )

    # -- stages ------------------------------------------------------------------------------

    def add_stage(
        self,
        kind: str,
        name: str,
        config: Mapping[str, Any] | None = None,
        labels: Mapping[str, Any] | None = None,
        path: str | Path | None = None,
        status: str = "pending",
    ) -> int:
        """The id of stage (kind, name), created or updated with the given config / labels."""
        _check_status(status)
        labels = check_stage_labels(labels or {})
        cfg = _dumps(dict(config or {}))

        def upsert(conn: sqlite3.Connection) -> int:
            conn.execute(
                "INSERT INTO stages (kind, name, path, config, labels, status, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, name) DO UPDATE SET "
                "path = excluded.path, config = excluded.config, labels = excluded.labels",
                (kind, name, self._rel(path), cfg, _dumps(labels), status, now()),
            )
            row = conn.execute(
                "SELECT id FROM stages WHERE kind = ? AND name = ?", (kind, name)
            ).fetchone()
            return int(row["id"])

        return self.write(upsert)

    def set_status(
        self,
        stage_id: int,
        status: str,
        error: str | None = None,
        seconds: float | None = None,
    ) -> None:
        """Record a stage's progress: "running" stamps ``started``; "complete" / "failed" /
        "skipped" stamp ``finished`` (and keep ``error`` and ``seconds`` when given). Setting
        the status a stage already has keeps its stamp: a resumed study that finds a stage
        complete does not move the time it finished."""
        _check_status(status)
        stamp = {"pending": None, "running": "started"}.get(status, "finished")
        stamp_sql = (
            f", {stamp} = CASE WHEN status = ? AND {stamp} IS NOT NULL THEN {stamp} ELSE ? END"
            if stamp
            else ""
        )
        args = (status, error, seconds, *([status, now()] if stamp else []), stage_id)

        def update(conn: sqlite3.Connection) -> None:
            cur = conn.execute(
                "UPDATE stages SET status = ?, error = ?, seconds = COALESCE(?, seconds)"
                f"{stamp_sql} WHERE id = ?",
                args,
            )
            if cur.rowcount != 1:
                raise ValueError(f"no stage with id {stage_id} in {self.path}")

        self.write(update)

    def stages(self, kind: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        """Stages as dicts (config and labels decoded), in creation order."""
        sql, args = "SELECT * FROM stages", []
        where = [(c, v) for c, v in (("kind", kind), ("status", status)) if v is not None]
        if where:
            sql += " WHERE " + " AND ".join(f"{c} = ?" for c, _ in where)
            args = [v for _, v in where]
        rows = self._retry(lambda: self._conn.execute(sql + " ORDER BY id", args).fetchall())
        out = []
        orphaned: bool | None = None  # "running" with no live runner: it was killed
        for row in rows:
            d = dict(row)
            d["config"], d["labels"] = json.loads(d["config"]), json.loads(d["labels"])
            if d["status"] == "running":
                if orphaned is None:
                    orphaned = lock_holder(self.study_dir) is None
                if orphaned:
                    d["status"] = "interrupted"
            out.append(d)
        return out

    def _rel(self, path: str | Path | None) -> str | None:
        """``path`` relative to the study dir when inside it (so a study can be moved)."""
        if path is None:
            return None
        p = Path(path).resolve()
        try:
            return str(p.relative_to(self.study_dir.resolve()))
        except ValueError:
            return str(p)

    def stage_path(self, stage: Mapping[str, Any]) -> Path | None:
        """The run directory of a stage dict from :meth:`stages` (absolute)."""
        return stage_dir(stage, self.study_dir)

    # -- records -----------------------------------------------------------------------------

    def insert_records(
        self, records: Iterable[EvalRecord], stage_id: int | None = None
    ) -> tuple[int, int, int]:
        """Insert or update ``records`` in one transaction; returns (inserted, updated,
        unchanged). Label columns come from the stage's labels and the records."""
        records = list(records)

        def run(conn: sqlite3.Connection) -> tuple[int, int, int]:
            labels: dict[str, Any] = {}
            if stage_id is not None:
                row = conn.execute("SELECT labels FROM stages WHERE id = ?", (stage_id,)).fetchone()
                if row is None:
                    raise ValueError(f"no stage with id {stage_id} in {self.path}")
                labels = json.loads(row["labels"])
            return self._upsert(conn, records, stage_id, labels)

        return self.write(run)

    def _upsert(
        self,
        conn: sqlite3.Connection,
        records: Sequence[EvalRecord],
        stage_id: int | None,
        labels: Mapping[str, Any],
    ) -> tuple[int, int, int]:
        rows = {}
        for r in records:  # later records of the same identity win, as in merge_records
            rows[r.identity()] = _record_row(r, stage_id, labels)
        known = _digests(conn, list(rows))
        inserted = updated = 0
        cols = ["identity", "digest", "stage_id", *_RECORD_FIELDS, "value", "value_num"]
        cols += [*_JSON_FIELDS, "attack_tag", *LABEL_KEYS]
        for identity, row in rows.items():
            if identity not in known:
                conn.execute(
                    f"INSERT INTO records ({', '.join(cols)}) "
                    f"VALUES ({', '.join('?' * len(cols))})",
                    [row[c] for c in cols],
                )
                inserted += 1
            elif known[identity] != row["digest"]:
                sets = ", ".join(f"{c} = ?" for c in cols[1:])
                conn.execute(
                    f"UPDATE records SET {sets} WHERE identity = ?",
                    [row[c] for c in cols[1:]] + [identity],
                )
                updated += 1
        return inserted, updated, len(rows) - inserted - updated

    def ingest(
        self,
        run_dir: str | Path,
        stage_id: int | None = None,
        labels: Mapping[str, Any] | None = None,
    ) -> IngestResult:
        """Read every ``evaluation/*/records.json`` of ``run_dir`` (or one records file, or one
        evaluation folder) into the store, all files in one transaction.

        Without ``stage_id`` the run is registered as a stage named by its path, its kind and
        labels read from its ``config.json`` (``labels`` override them).
        """
        files = find_records_files(run_dir)
        records = [(f, read_records(f)) for f in files]  # parse everything before writing
        if stage_id is None:
            stage_id = self.register_run(run_dir, labels)

        def run(conn: sqlite3.Connection) -> tuple[int, int, int]:
            row = conn.execute("SELECT labels FROM stages WHERE id = ?", (stage_id,)).fetchone()
            if row is None:
                raise ValueError(f"no stage with id {stage_id} in {self.path}")
            stage_labels = json.loads(row["labels"])
            totals = [0, 0, 0]
            for _, recs in records:
                counts = self._upsert(conn, recs, stage_id, stage_labels)
                totals = [a + b for a, b in zip(totals, counts, strict=True)]
            return totals[0], totals[1], totals[2]

        inserted, updated, unchanged = self.write(run)
        return IngestResult(stage_id, tuple(files), inserted, updated, unchanged)

    def register_run(self, run_dir: str | Path, labels: Mapping[str, Any] | None = None) -> int:
        """A stage for a run directory found on disk (status from its ``summary.json``)."""
        run = run_root(Path(run_dir))
        config = read_dict(run / CONFIG_JSON)
        derived = labels_from_config(config, run)
        summary = read_dict(run / SUMMARY)
        status = summary.get("status", "complete")
        stage_id = self.add_stage(
            config_kind(config),
            self._rel(run) or str(run),
            config,
            {**derived, **(labels or {})},
            path=run,
            status=status if status in STATUSES else "complete",
        )
        return stage_id

    def count(self) -> int:
        """Number of records."""
        row = self._retry(lambda: self._conn.execute("SELECT COUNT(*) AS n FROM records"))
        return int(row.fetchone()["n"])

    def rows(self, **filters: Any) -> list[dict[str, Any]]:
        """Records as flat dicts (the "table"): every record field, the label columns, ``stage``
        and ``kind``, and each tag as ``tags.<key>``; ``info`` stays a dict. ``filters`` are
        ``key=value`` (or a list of accepted values) on any of those keys; an unknown key, tag
        or metric is a ValueError naming the allowed ones (a typo must not look like "no
        results")."""
        self.check_filters(filters)
        metric = filters.get("metric")
        sql = (
            "SELECT r.*, s.name AS stage, s.kind AS kind FROM records r "
            "LEFT JOIN stages s ON s.id = r.stage_id"
        )
        args: list[Any] = []
        if isinstance(metric, str):  # the common filter, done by SQLite
            sql, args = sql + " WHERE r.metric = ?", [metric]
        raw = self._retry(lambda: self._conn.execute(sql + " ORDER BY r.id", args).fetchall())
        return filter_rows([_flat_row(row) for row in raw], filters)

    def tag_names(self) -> list[str]:
        """The tag keys any stored record has (``tags.<name>`` filter keys)."""
        sql = "SELECT DISTINCT tags FROM records"
        raw = self._retry(lambda: self._conn.execute(sql).fetchall())
        return sorted({k for row in raw for k in json.loads(row["tags"])})

    def metrics(self) -> list[str]:
        """The metrics of the stored records."""
        sql = "SELECT DISTINCT metric FROM records ORDER BY metric"
        return [row["metric"] for row in self._retry(lambda: self._conn.execute(sql).fetchall())]

    def check_filters(self, filters: Mapping[str, Any]) -> None:
        """A ValueError for a filter key that no row can have, or a metric that is neither an
        evaluation metric nor stored here, naming what is allowed."""
        tags = self.tag_names()
        check_keys(filters, ROW_KEYS, tags, "filter")
        if "metric" in filters:
            wanted = filters["metric"]
            values = wanted if isinstance(wanted, (list, tuple, set)) else [wanted]
            known = sorted(set(record_metrics()) | set(self.metrics()))
            unknown = [v for v in values if str(v) not in known]
            if unknown:
                raise ValueError(
                    f"unknown metric {', '.join(map(repr, unknown))}; metrics: {', '.join(known)}"
                )

    def records(self, **filters: Any) -> list[EvalRecord]:
        """The matching records as :class:`EvalRecord` s (filters as in :meth:`rows`)."""
        return [row_to_record(row) for row in self.rows(**filters)]


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"stage status {status!r} is not one of {list(STATUSES)}")


def _digests(conn: sqlite3.Connection, identities: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i in range(0, len(identities), 500):
        chunk = identities[i : i + 500]
        marks = ", ".join("?" * len(chunk))
        sql = f"SELECT identity, digest FROM records WHERE identity IN ({marks})"
        rows = conn.execute(sql, chunk).fetchall()
        out.update({r["identity"]: r["digest"] for r in rows})
    return out


def check_keys(keys: Iterable[str], allowed: Sequence[str], tags: Sequence[str], what: str) -> None:
    """A ValueError naming the allowed keys when one of ``keys`` is neither a row key nor
    ``tags.<name>`` of a stored tag."""
    unknown = [
        k
        for k in keys
        if k not in allowed and not (k.startswith("tags.") and k[len("tags.") :] in tags)
    ]
    if unknown:
        tag_keys = ", ".join(f"tags.{t}" for t in tags) or "none stored"
        raise ValueError(
            f"unknown {what} key {', '.join(map(repr, unknown))}; keys: {', '.join(allowed)}; "
            f"tags: {tag_keys}"
        )


def _record_row(
    record: EvalRecord, stage_id: int | None, stage_labels: Mapping[str, Any]
) -> dict[str, Any]:
    raw = record.to_json()
    row: dict[str, Any] = {k: raw[k] for k in _RECORD_FIELDS}
    row.update(
        identity=record.identity(),
        stage_id=stage_id,
        value=_dumps(raw["value"]),
        value_num=number(raw["value"]),
        attack_tag=record.attack_tag,
        **{k: _dumps(raw[k]) for k in _JSON_FIELDS},
        **record_labels(record, stage_labels),
    )
    row["digest"] = hashlib.sha1(_dumps(row).encode()).hexdigest()
    return row


def _flat_row(row: sqlite3.Row) -> dict[str, Any]:
    d = dict(row)
    out = {k: d[k] for k in ("id", "stage", "kind", *_RECORD_FIELDS, *LABEL_KEYS, "attack_tag")}
    out["value"] = json.loads(d["value"]) if d["value"] is not None else None
    out.update({k: json.loads(d[k]) for k in _JSON_FIELDS})
    out.update({f"tags.{k}": v for k, v in out["tags"].items()})
    return out


def row_to_record(row: Mapping[str, Any]) -> EvalRecord:
    """The :class:`EvalRecord` of a flat row from :meth:`ResultsStore.rows`."""
    keys = ("value", *_JSON_FIELDS, *_RECORD_FIELDS)
    return EvalRecord(**{k: row[k] for k in keys})
