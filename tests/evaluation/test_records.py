"""Result records: JSON round trip, merging on append, code version without git."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from robustssl import __version__
from robustssl.evaluation import records as rec
from robustssl.evaluation.records import (
    EvalRecord,
    RecordContext,
    code_version,
    merge_records,
    read_records,
    write_records,
)

CTX = RecordContext(model="run1", pretraining="simclr", finetune="slf", dataset="fashion_mnist")


def _sample() -> list[EvalRecord]:
    return [
        CTX.record("sa", 0.9, 100),
        CTX.record("ra", 0.4, 100, norm="Linf", eps=0.1, attack="pgd", info={"steps": 20}),
        CTX.record("confusion_matrix", [[3, 1], [0, 4]], 8, tags={"data": "clean"}),
        CTX.record("sa", 0.7, 100, tags={"corruption": "fog", "severity": 3}),
    ]


def test_round_trip(tmp_path: Path) -> None:
    records = _sample()
    path = write_records(tmp_path / "records.json", records)
    back = read_records(path)
    assert [r.to_json() for r in back] == [r.to_json() for r in records]
    assert back[1].eps == 0.1 and back[1].info == {"steps": 20} and back[2].value[0] == [3, 1]
    assert not list(tmp_path.glob("*.tmp"))  # atomic write leaves no temporary file
    raw = json.loads(path.read_text())
    assert raw["format"] == rec.FORMAT and len(raw["records"]) == 4


def test_fields_and_defaults() -> None:
    r = CTX.record("ra", 0.5, 10, norm="L2", eps=0.5, attack="pgd")
    assert (r.model, r.pretraining, r.finetune, r.dataset) == (
        "run1",
        "simclr",
        "slf",
        "fashion_mnist",
    )
    assert r.code_version == code_version() and r.time.endswith("+00:00")
    assert r.seed == 0 and r.n == 10


def test_append_merges_and_keeps_old(tmp_path: Path) -> None:
    path = tmp_path / "records.json"
    first = _sample()
    write_records(path, first)
    write_records(path, [CTX.record("aa", 0.3, 100, norm="Linf", eps=0.1, attack="aa")])
    assert [r.metric for r in read_records(path)] == ["sa", "ra", "confusion_matrix", "sa", "aa"]
    # same identity (everything but value / info / version / time): replaced in place
    write_records(path, [CTX.record("ra", 0.35, 100, norm="Linf", eps=0.1, attack="pgd")])
    back = read_records(path)
    assert len(back) == 5 and back[1].value == 0.35 and back[1].info == {}
    # a different tag is a different measurement
    write_records(path, [CTX.record("sa", 0.6, 100, tags={"corruption": "fog", "severity": 4})])
    assert len(read_records(path)) == 6
    # merge=False overwrites
    write_records(path, first[:1], merge=False)
    assert len(read_records(path)) == 1


def test_merge_later_new_wins() -> None:
    a, b = CTX.record("sa", 0.1, 5), CTX.record("sa", 0.2, 5)
    assert [r.value for r in merge_records([], [a, b])] == [0.2]


def test_non_finite_values_become_null(tmp_path: Path) -> None:
    r = CTX.record("per_class_accuracy", [1.0, math.nan], 4)
    back = read_records(write_records(tmp_path / "r.json", [r]))
    assert back[0].value == [1.0, None]


def test_bad_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_records(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_records(bad)
    bad.write_text(json.dumps({"records": []}))
    with pytest.raises(ValueError, match="not a robustssl records file"):
        read_records(bad)
    bad.write_text(json.dumps({"format": rec.FORMAT, "version": 1, "records": [{"model": "m"}]}))
    with pytest.raises(ValueError, match="missing \\['metric', 'value'\\]"):
        read_records(bad)
    with pytest.raises(ValueError, match="unknown fields \\['colour'\\]"):
        EvalRecord.from_json({"model": "m", "metric": "sa", "value": 1, "colour": "red"})


def test_code_version_without_git(monkeypatch: pytest.MonkeyPatch) -> None:
    code_version.cache_clear()
    monkeypatch.setattr(rec, "_git_dir", lambda start: None)
    assert code_version() == __version__
    code_version.cache_clear()

    def broken(start: Path) -> Path:
        raise PermissionError("unreadable")

    monkeypatch.setattr(rec, "_git_dir", broken)
    assert code_version() == __version__
    code_version.cache_clear()


def test_head_commit_from_files(tmp_path: Path) -> None:
    git = tmp_path / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "refs" / "heads" / "main").write_text("a" * 40 + "\n")
    assert rec._git_dir(tmp_path / "src" / "pkg") == git
    assert rec._head_commit(git) == "a" * 40
    (git / "refs" / "heads" / "main").unlink()
    (git / "packed-refs").write_text("# pack-refs\n" + "b" * 40 + " refs/heads/main\n")
    assert rec._head_commit(git) == "b" * 40
    (git / "HEAD").write_text("c" * 40)
    assert rec._head_commit(git) == "c" * 40
