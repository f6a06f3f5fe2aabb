"""Experiments (layer 7): the SQLite results store, the seeds' tables, figures and the HTML
report (docs/experiments.md). ``figures`` and ``report`` need matplotlib and are imported from
their modules: ``from robustssl.experiments.report import build_report``."""

from robustssl.experiments.formats import Table, to_csv, to_html, to_latex, to_markdown, to_text
from robustssl.experiments.store import (
    IngestResult,
    ResultsStore,
    SchemaVersionError,
    StoreDamagedError,
    StoreFullError,
)
from robustssl.experiments.tables import pivot, seed_tables

__all__ = [
    "IngestResult",
    "ResultsStore",
    "SchemaVersionError",
    "StoreDamagedError",
    "StoreFullError",
    "Table",
    "pivot",
    "seed_tables",
    "to_csv",
    "to_html",
    "to_latex",
    "to_markdown",
    "to_text",
]
