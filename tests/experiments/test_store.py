"""The SQLite results store: round trip, idempotent ingest, labels, filters, schema versions."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from studyfix import (
    EPS,
    NUMBERS,
    SUBSET,
    finetune_config,
    run_records,
    write_run,
    write_study,
)

from robustssl.evaluation.records import RecordContext, read_records, write_records
from robustssl.experiments.runfiles import find_records_files
from robustssl.experiments.store import (
    SCHEMA_VERSION,
    STORE_FILE,
    ResultsStore,
    SchemaVersionError,
)

CTX = RecordContext(
    model="m", pretraining="simclr", finetune="slf", dataset="fashion_mnist", subset=SUBSET
)
CTX1 = replace(CTX, seed=1)


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    records = run_records("m", "simclr", "slf", NUMBERS["simclr"]["slf"])
    with ResultsStore(tmp_path) as store:
        assert store.insert_records(records) == (len(records), 0, 0)
        back = store.records()
    assert [r.to_json() for r in back] == [r.to_json() for r in records]
    assert (tmp_path / STORE_FILE).is_file()


def test_ingest_is_idempotent_and_updates_changed_values(tmp_path: Path) -> None:
    run = write_run(
        tmp_path / "runs", "m", run_records("m", "simclr", "slf", NUMBERS["simclr"]["slf"])
    )
    n = len(read_records(run / "evaluation/default/records.json"))
    with ResultsStore(tmp_path) as store:
        first = store.ingest(run)
        ids = [r["id"] for r in store.rows()]
        again = store.ingest(run)
        assert (first.inserted, first.updated, first.unchanged) == (n, 0, 0)
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, n)
        assert [r["id"] for r in store.rows()] == ids and store.count() == n
        assert first.stage_id == again.stage_id and len(store.stages()) == 1
        # a re-evaluation rewrites one record: same identity, new value → one row updated
        write_records(run / "evaluation/default", [CTX.record("sa", 0.55, 100)])
        third = store.ingest(run)
        assert (third.inserted, third.updated, third.unchanged) == (0, 1, n - 1)
        clean_sa = store.rows(model="m", metric="sa", **{"tags.corruption": None})
        assert [r["value"] for r in clean_sa] == [0.55] and clean_sa[0]["id"] == ids[0]
        # a new measurement (another seed) is a new row
        write_records(run / "evaluation/default", [CTX1.record("sa", 0.66, 100)])
        fourth = store.ingest(run)
        assert (fourth.inserted, fourth.updated, fourth.unchanged) == (1, 0, n)
        assert store.count() == n + 1


def test_ingest_reads_every_evaluation_and_one_file(tmp_path: Path) -> None:
    run = write_run(tmp_path, "r", [CTX.record("sa", 0.9, 10)])
    write_records(run / "evaluation/other/records.json", [CTX1.record("sa", 0.8, 10)])
    files = find_records_files(run)
    assert [f.parent.name for f in files] == ["default", "other"]
    assert find_records_files(files[1]) == [files[1]]
    with ResultsStore(tmp_path / "study") as store:
        assert store.ingest(run).inserted == 2
        assert store.ingest(files[0]).unchanged == 1  # a single file: same stage (the run)
        assert len(store.stages()) == 1
    with pytest.raises(FileNotFoundError, match="no run directory or records file"):
        find_records_files(tmp_path / "missing")
    (tmp_path / "bare").mkdir()
    with pytest.raises(FileNotFoundError, match=r"evaluate the run first.*robustssl evaluate"):
        find_records_files(tmp_path / "bare")


def test_labels_come_from_the_stage_config_and_the_record(tmp_path: Path) -> None:
    runs = write_study(tmp_path)
    with ResultsStore(tmp_path) as store:
        for run in runs:
            store.ingest(run)
        advcl = store.rows(model="advcl_alf", metric="ra") + store.rows(
            model="advcl_slf", metric="ra"
        )
        simclr = store.rows(model="simclr_alf", metric="ra")
        stages = {s["name"]: s for s in store.stages()}
    assert [(r["method"], r["protocol"]) for r in advcl] == [("advcl", "alf"), ("advcl", "slf")]
    # the representation's threat model is the pretraining adversary's, whatever the protocol
    assert [(r["threat"], r["eps_train"]) for r in advcl] == [("Linf", EPS)] * 2
    assert (simclr[0]["threat"], simclr[0]["eps_train"]) == ("none", 0.0)
    assert simclr[0]["label_fraction"] == 1.0
    assert stages["runs/advcl_alf"]["kind"] == "finetune"
    assert stages["runs/advcl_alf"]["labels"]["method"] == "advcl"
    assert stages["runs/advcl_alf"]["path"] == "runs/advcl_alf"  # relative to the study


def test_scratch_training_uses_its_own_adversary(tmp_path: Path) -> None:
    cfg = finetune_config("aff", None, 0.2) | {"model": {"backbone": "small_cnn"}}
    run = write_run(tmp_path, "at", [replace(CTX, model="at").record("sa", 0.9, 10)], cfg)
    pre_records = [replace(CTX, model="pre").record("sa", 0.9, 10)]
    pre = write_run(tmp_path, "pre", pre_records, {"method": {"name": "simsiam"}})
    with ResultsStore(tmp_path) as store:
        store.ingest(run)
        store.ingest(pre)
        at, simsiam = store.rows()
        kinds = [s["kind"] for s in store.stages()]
    assert (at["protocol"], at["threat"], at["eps_train"]) == ("aff", "Linf", 0.2)
    assert (simsiam["method"], simsiam["threat"], simsiam["eps_train"]) == ("simsiam", "none", 0.0)
    assert kinds == ["finetune", "pretrain"]


def test_explicit_stage_labels_win(tmp_path: Path) -> None:
    run = write_run(tmp_path, "r", [CTX.record("sa", 0.9, 10)], finetune_config("slf", None, None))
    with ResultsStore(tmp_path) as store:
        stage = store.add_stage("finetune", "r", labels={"method": "SimCLR-AT", "eps_train": 0.2})
        store.ingest(run, stage_id=stage)
        (row,) = store.rows()
        with pytest.raises(ValueError, match="unknown stage labels"):
            store.add_stage("finetune", "x", labels={"colour": "red"})
        with pytest.raises(ValueError, match="must be a number"):
            store.add_stage("finetune", "x", labels={"eps_train": "big"})
    assert (row["method"], row["protocol"], row["eps_train"]) == ("SimCLR-AT", "slf", 0.2)


def test_filters(tmp_path: Path) -> None:
    with ResultsStore(tmp_path) as store:
        store.insert_records(run_records("m", "simclr", "slf", NUMBERS["simclr"]["slf"]))
        assert len(store.rows(metric="accuracy")) == 3
        assert [r["value"] for r in store.rows(metric="accuracy", eps="1/20")] == [0.35]
        assert [r["value"] for r in store.rows(metric="accuracy", eps=0.05)] == [0.35]
        assert len(store.rows(metric="mcc", **{"tags.data": "pgd"})) == 1
        assert len(store.rows(metric=["sa", "ra"])) == 3  # two SA (one corrupted) and one RA
        assert len(store.rows(metric="sa", **{"tags.severity": "3"})) == 1
        assert store.rows(norm=None, metric="ra") == []
        assert store.rows(method="nope") == []


def test_stage_status_and_timings(tmp_path: Path) -> None:
    with ResultsStore(tmp_path) as store:
        sid = store.add_stage("pretrain", "simclr", config={"lr": 0.1})
        assert store.add_stage("pretrain", "simclr", config={"lr": 0.2}) == sid  # upsert
        store.set_status(sid, "running")
        store.set_status(sid, "failed", error="ValueError: boom", seconds=1.5)
        (stage,) = store.stages(kind="pretrain")
        with pytest.raises(ValueError, match="not one of"):
            store.set_status(sid, "exploded")
        with pytest.raises(ValueError, match="no stage with id"):
            store.set_status(999, "complete")
        with pytest.raises(ValueError, match="no stage with id"):
            store.insert_records([CTX.record("sa", 0.9, 10)], stage_id=999)
    assert stage["config"] == {"lr": 0.2} and stage["status"] == "failed"
    assert stage["error"] == "ValueError: boom" and stage["seconds"] == 1.5
    assert stage["started"] is not None and stage["finished"] is not None


def test_confirming_a_status_keeps_its_time(tmp_path: Path, monkeypatch) -> None:
    """A resumed study re-marks cached stages complete; their finish time must not move."""
    import robustssl.experiments.store as store_mod

    times = iter(["created", "t1", "t2", "t3", "t4", "t5"])
    monkeypatch.setattr(store_mod, "now", lambda: next(times))
    with ResultsStore(tmp_path) as store:
        sid = store.add_stage("pretrain", "simclr")
        store.set_status(sid, "running")  # started t1
        store.set_status(sid, "complete", seconds=3.0)  # finished t2
        store.set_status(sid, "complete")  # the resume's confirmation: t3 is not used
        (stage,) = store.stages()
        assert (stage["started"], stage["finished"], stage["seconds"]) == ("t1", "t2", 3.0)
        store.set_status(sid, "running")  # a re-run stamps both again
        store.set_status(sid, "complete")
        (stage,) = store.stages()
        assert (stage["started"], stage["finished"]) == ("t4", "t5")


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    ResultsStore(tmp_path).close()
    conn = sqlite3.connect(tmp_path / STORE_FILE)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(SchemaVersionError, match=f"version {SCHEMA_VERSION + 1}.*upgrade"):
        ResultsStore(tmp_path)
    with ResultsStore(tmp_path / "fresh") as store:
        assert store.schema_version() == SCHEMA_VERSION


def test_not_a_database_and_missing_store(tmp_path: Path) -> None:
    (tmp_path / STORE_FILE).write_text("not sqlite at all, " * 100)
    with pytest.raises(SchemaVersionError, match="not a robustssl results store"):
        ResultsStore(tmp_path)
    with pytest.raises(FileNotFoundError, match="--ingest"):
        ResultsStore(tmp_path / "nothing", create=False)
    assert not (tmp_path / "nothing").exists()


def test_wal_mode_and_json_values(tmp_path: Path) -> None:
    with ResultsStore(tmp_path) as store:
        store.insert_records([CTX.record("confusion_matrix", [[1, 2], [3, 4]], 10)])
    conn = sqlite3.connect(tmp_path / STORE_FILE)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    value, num = conn.execute("SELECT value, value_num FROM records").fetchone()
    conn.close()
    assert json.loads(value) == [[1, 2], [3, 4]] and num is None


def test_older_schema_is_refused_untouched_with_the_rebuild_steps(tmp_path: Path) -> None:
    ResultsStore(tmp_path).close()
    conn = sqlite3.connect(tmp_path / STORE_FILE)
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    before = (tmp_path / STORE_FILE).read_bytes()
    with pytest.raises(SchemaVersionError, match=r"version 1.*attack settings.*--rebuild"):
        ResultsStore(tmp_path)
    assert (tmp_path / STORE_FILE).read_bytes() == before


def test_records_differing_only_in_attack_settings_are_both_stored(tmp_path: Path) -> None:
    ra = dict(norm="Linf", eps=EPS, attack="pgd")
    pgd = {"name": "pgd", "steps": 20, "step_size_rule": "auto", "restarts": 1, "loss": "ce"}
    records = [
        CTX.record("ra", 0.30, 100, attack_config=pgd, **ra),
        CTX.record("ra", 0.55, 100, attack_config={**pgd, "steps": 2}, **ra),
    ]
    with ResultsStore(tmp_path) as store:
        assert store.insert_records(records) == (2, 0, 0)
        rows = store.rows(metric="ra")
        assert store.rows(attack_tag="PGD-2 α=ε/4")[0]["value"] == 0.55
    assert [(r["attack_tag"], r["value"]) for r in rows] == [
        ("PGD-20 α=ε/4", 0.30),
        ("PGD-2 α=ε/4", 0.55),
    ]
    assert rows[1]["attack_config"]["steps"] == 2 and rows[1]["subset"] == SUBSET


def test_unknown_filter_keys_and_metrics_name_the_allowed_ones(tmp_path: Path) -> None:
    with ResultsStore(tmp_path) as store:
        store.insert_records(run_records("m", "simclr", "slf", NUMBERS["simclr"]["slf"]))
        with pytest.raises(ValueError, match=r"unknown filter key 'methd'; keys: .*method"):
            store.rows(methd="simclr")
        with pytest.raises(ValueError, match=r"unknown filter key 'tags.sevrity'.*tags.severity"):
            store.rows(**{"tags.sevrity": 3})
        with pytest.raises(ValueError, match=r"unknown metric 'rA'; metrics: .*\bra\b"):
            store.rows(metric="rA")
        with pytest.raises(ValueError, match=r"unknown metric 'nothing'"):
            store.rows(metric=["ra", "nothing"])
        assert store.rows(metric="lipschitz_max") == []  # a known metric, just not stored
        assert len(store.rows(**{"tags.severity": 3})) == 1
