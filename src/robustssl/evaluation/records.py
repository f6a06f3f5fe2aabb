"""Result records: one measured number (or table) with everything needed to find it again.

Every evaluation (SA / RA / AA of seed 001 §5, ε-curves of seed 003 §4.2, per-attack breakdowns
of seed 000 Figure 14, feature-difference norms of seed 000 Tables 2–3, diagnostics) returns a
list of :class:`EvalRecord`. They are written as JSON to ``<run>/evaluation/<name>/records.json``;
writing to an existing file merges: a new record replaces an old one with the same identity
(everything except value, info, code version and time), and all other old records are kept.

The identity holds every setting that can change a number (issue 14): the threat model (norm, ε),
the attack and its full settings (``attack_config``, see :mod:`robustssl.evaluation.provenance`),
the number of points ``n`` and which points (``subset``, e.g. ``test[0:1000]``), the seed, and the
``tags``. A record that names an attack without giving its settings — every record of a
format-1 file, which had no ``attack_config`` / ``subset`` — gets them marked unknown
(``{"name": "pgd", "unknown": true}``): it never merges with a record whose settings are known,
and tables label it ``PGD (settings unknown)``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from robustssl import __version__
from robustssl.evaluation.provenance import attack_tag, unknown_config
from robustssl.runs.atomic import atomic_write_text
from robustssl.runs.layout import RECORDS as RECORDS_FILE

FORMAT = "robustssl.evaluation.records"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
_NOT_IDENTITY = ("value", "info", "code_version", "time")


def _git_dir(start: Path) -> Path | None:
    """The ``.git`` directory of the checkout holding ``start`` (a ``.git`` file is followed)."""
    for parent in (start, *start.parents):
        dot_git = parent / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():
            text = dot_git.read_text().strip()
            if text.startswith("gitdir:"):
                return (parent / text[len("gitdir:") :].strip()).resolve()
    return None


def _head_commit(git_dir: Path) -> str | None:
    """The commit HEAD points to, read from the files (no ``git`` executable needed)."""
    head = (git_dir / "HEAD").read_text().strip()
    if not head.startswith("ref:"):
        return head or None
    ref = head[len("ref:") :].strip()
    common = git_dir
    if (git_dir / "commondir").is_file():  # a linked worktree keeps refs in the main .git
        common = (git_dir / (git_dir / "commondir").read_text().strip()).resolve()
    for base in (git_dir, common):
        if (base / ref).is_file():
            return (base / ref).read_text().strip() or None
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] == ref:
                return parts[0]
    return None


@lru_cache(maxsize=1)
def code_version() -> str:
    """``robustssl.__version__``, plus ``+g<commit>`` when the package runs from a git checkout.

    Reads ``.git`` directly; any problem (no checkout, no git, unreadable files) gives just the
    version, never an error.
    """
    try:
        git_dir = _git_dir(Path(__file__).resolve().parent)
        commit = _head_commit(git_dir) if git_dir is not None else None
    except (OSError, UnicodeDecodeError):
        commit = None
    return f"{__version__}+g{commit[:12]}" if commit else __version__


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _jsonable(value: Any) -> Any:
    """``value`` with non-finite floats as None (strict JSON) and tuples as lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


@dataclass
class EvalRecord:
    """One result. ``metric`` names what ``value`` is (``sa``, ``ra``, ``aa``, ``accuracy``,
    ``feature_diff_mean``, ``diagnostic`` …); ``norm``/``eps``/``attack`` give the threat model
    (None for clean metrics) and ``attack_config`` every setting of the attack; ``n`` points,
    ``subset`` which ones (``test[0:1000]``; None when the caller did not say); ``tags`` are
    further identity (corruption, severity, layer); ``info`` holds what is not identity (the step
    size used, a diagnostic's message)."""

    model: str
    metric: str
    value: Any
    pretraining: str | None = None
    finetune: str | None = None
    dataset: str | None = None
    norm: str | None = None
    eps: float | None = None
    attack: str | None = None
    attack_config: dict[str, Any] = field(default_factory=dict)
    n: int = 0
    subset: str | None = None
    seed: int = 0
    tags: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    code_version: str = field(default_factory=code_version)
    time: str = field(default_factory=now)

    def __post_init__(self) -> None:
        if self.attack is not None and not self.attack_config:
            self.attack_config = unknown_config(self.attack)  # named, but settings not given

    def identity(self) -> str:
        """What makes two records the same measurement (JSON of the identity fields: everything
        but value, info, code version and time)."""
        d = {k: v for k, v in self.to_json().items() if k not in _NOT_IDENTITY}
        return json.dumps(d, sort_keys=True)

    @property
    def attack_tag(self) -> str:
        """The short label of the attack behind the number (``PGD-20 α=ε/4``, ``AA-standard``,
        ``clean``; ``PGD (settings unknown)`` for an attack named without its settings); see
        :func:`robustssl.evaluation.provenance.attack_tag`."""
        return attack_tag(self.attack_config, self.norm, self.eps)

    def to_json(self) -> dict[str, Any]:
        return _jsonable(asdict(self))

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> EvalRecord:
        """A record from its JSON (format 1 records, written without ``attack_config``, get
        their attack settings marked unknown)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        missing = sorted({"model", "metric", "value"} - set(raw))
        if unknown or missing:
            raise ValueError(
                f"not an evaluation record (unknown fields {unknown}, missing {missing}); "
                f"known fields: {sorted(known)}"
            )
        return cls(**raw)


@dataclass(frozen=True)
class RecordContext:
    """The fields shared by all records of one evaluation; :meth:`record` fills in the rest."""

    model: str
    pretraining: str | None = None
    finetune: str | None = None
    dataset: str | None = None
    seed: int = 0
    subset: str | None = None

    def record(self, metric: str, value: Any, n: int, **kw: Any) -> EvalRecord:
        """A record of this context; ``kw`` sets the other fields (and may override the
        context's ``subset`` / ``seed``)."""
        return EvalRecord(
            model=self.model,
            metric=metric,
            value=value,
            pretraining=self.pretraining,
            finetune=self.finetune,
            dataset=self.dataset,
            n=n,
            **{"subset": self.subset, "seed": self.seed, **kw},
        )


def merge_records(old: list[EvalRecord], new: list[EvalRecord]) -> list[EvalRecord]:
    """``old`` with each record of the same identity as a new one replaced (in place, keeping
    the order), then the remaining new records; later new records win over earlier ones."""
    latest = {r.identity(): r for r in new}
    merged = [latest.pop(r.identity(), r) for r in old]
    return merged + [r for r in latest.values()]


def read_records(path: str | Path) -> list[EvalRecord]:
    """The records of a ``records.json`` written by :func:`write_records`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no records file at {path}")
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); delete or fix it") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ValueError(f"{path} is not a robustssl records file (no 'format': {FORMAT!r})")
    version = raw.get("version")
    if version not in READABLE_VERSIONS:
        raise ValueError(
            f"{path} has records format version {version!r}; this robustssl reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))} (a newer robustssl wrote it: upgrade)"
        )
    return [EvalRecord.from_json(r) for r in raw.get("records", [])]


def write_records(path: str | Path, records: list[EvalRecord], merge: bool = True) -> Path:
    """Write ``records`` to ``path`` atomically; with ``merge`` an existing file's records are
    kept (see :func:`merge_records`; a format-1 file is rewritten as format 2, its records'
    attack settings marked unknown). Returns the path."""
    path = Path(path)
    if path.is_dir():
        path = path / RECORDS_FILE
    old = read_records(path) if merge and path.exists() else []
    body = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "records": [r.to_json() for r in merge_records(old, records)],
    }
    atomic_write_text(path, json.dumps(body, indent=1, allow_nan=False) + "\n")
    return path
