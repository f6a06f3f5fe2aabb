"""Result records: JSON round trip, merging on append, code version without git."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from robustssl import __version__
from robustssl.evaluation import records as rec
from robustssl.evaluation.provenance import attack_tag
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


PGD20 = {"name": "pgd", "steps": 20, "step_size_rule": "auto", "restarts": 1, "loss": "ce"}


def test_every_attack_setting_is_identity(tmp_path: Path) -> None:
    """Two RA records that differ only in attack settings (or n, subset, seed) are two
    measurements: both are kept on merge, each with its own tag (issue 14)."""
    ra = dict(norm="Linf", eps=0.1, attack="pgd")
    base = CTX.record("ra", 0.40, 100, attack_config=PGD20, **ra)
    variants = [
        CTX.record("ra", 0.55, 100, attack_config={**PGD20, "steps": 2}, **ra),
        CTX.record("ra", 0.41, 100, attack_config={**PGD20, "restarts": 5}, **ra),
        CTX.record("ra", 0.42, 100, attack_config={**PGD20, "step_size": 0.01}, **ra),
        CTX.record("ra", 0.43, 100, attack_config={**PGD20, "loss": "margin"}, **ra),
        CTX.record("ra", 0.44, 100, attack_config={**PGD20, "step_size_rule": "madry"}, **ra),
        CTX.record("ra", 0.45, 1000, attack_config=PGD20, **ra),
        CTX.record("ra", 0.46, 100, attack_config=PGD20, subset="test[100:200]", **ra),
        CTX.record("ra", 0.47, 100, attack_config=PGD20, seed=1, **ra),
    ]
    assert len({r.identity() for r in [base, *variants]}) == 1 + len(variants)
    path = write_records(tmp_path / "records.json", [base])
    write_records(path, variants)
    assert [r.value for r in read_records(path)] == [0.40, *[r.value for r in variants]]
    assert [r.attack_tag for r in (base, *variants[:5])] == [
        "PGD-20 α=ε/4",
        "PGD-2 α=ε/4",
        "PGD-20×5 α=ε/4",
        "PGD-20 α=0.01",
        "PGD-20 α=ε/4 MARGIN",
        "PGD-20 α=2.5ε/20",
    ]
    # the same settings again: the same measurement, replaced in place
    write_records(path, [CTX.record("ra", 0.39, 100, attack_config=dict(PGD20), **ra)])
    assert read_records(path)[0].value == 0.39 and len(read_records(path)) == 1 + len(variants)


def test_tags_of_the_suite_attacks() -> None:
    aa = {"name": "aa", "version": "standard", "attacks": ["apgd-ce", "apgd-t", "fab-t", "square"]}
    assert CTX.record(
        "aa", 0.3, 10, norm="Linf", eps=0.1, attack="aa", attack_config=aa
    ).attack_tag == ("AA-standard")
    tag = lambda cfg, norm="Linf", eps=0.1: attack_tag(cfg, norm, eps)  # noqa: E731
    assert tag(aa) == "AA-standard"
    assert tag({**aa, "version": "custom", "attacks": ["apgd-ce", "square"]}) == (
        "AA-custom(apgd-ce+square)"
    )
    assert tag({"name": "apgd-ce", "steps": 100, "restarts": 1}) == "APGD-CE-100"
    assert tag({"name": "square", "queries": 5000, "restarts": 1}) == "Square-5000"
    assert tag({"name": "fgsm", "model_mode": "train"}) == "FGSM train-mode"
    assert tag({**PGD20, "step_size": 2 / 255}) == "PGD-20 α=2/255"
    assert tag(PGD20, "L2", 0.5) == "PGD-20 α=2.5ε/20"
    assert tag({**PGD20, "step_size_rule": "seed003"}, "L2", 0.5) == "PGD-20 α=ε²/20"
    assert tag(PGD20, "Linf", 0.0) == "clean" and tag({}, None, None) == "clean"
    # a record naming an attack without its settings says so rather than looking clean
    bare = CTX.record("ra", 0.4, 10, norm="Linf", eps=0.1, attack="pgd")
    assert bare.attack_tag == "PGD (settings unknown)"


def test_format_1_files_are_read_with_unknown_attack_settings(tmp_path: Path) -> None:
    old = [
        {"model": "m", "metric": "sa", "value": 0.9, "n": 100, "seed": 0},
        {
            "model": "m",
            "metric": "ra",
            "value": 0.4,
            "norm": "Linf",
            "eps": 0.1,
            "attack": "pgd",
            "n": 100,
            "seed": 0,
            "tags": {},
            "info": {"steps": 2},
        },
    ]
    path = tmp_path / "records.json"
    path.write_text(json.dumps({"format": rec.FORMAT, "version": 1, "records": old}))
    sa, ra = read_records(path)
    assert sa.attack_config == {} and sa.subset is None and sa.attack_tag == "clean"
    assert ra.attack_config == {"name": "pgd", "unknown": True}
    assert ra.attack_tag == "PGD (settings unknown)" and ra.info == {"steps": 2}
    # a new RA with known settings does not replace the old one: its settings may differ
    new = CTX.record("ra", 0.3, 100, norm="Linf", eps=0.1, attack="pgd", attack_config=PGD20)
    write_records(path, [new])
    raw = json.loads(path.read_text())
    assert raw["version"] == rec.FORMAT_VERSION == 2 and len(raw["records"]) == 3
    path.write_text(json.dumps({"format": rec.FORMAT, "version": 3, "records": []}))
    with pytest.raises(ValueError, match=r"version 3.*reads versions 1, 2.*upgrade"):
        read_records(path)
