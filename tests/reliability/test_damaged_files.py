"""Damaged, truncated or foreign files where robustssl expects its own: a clear error (exit 2,
naming the file, the problem and the way out; never a traceback, never the advice to unpickle),
before any compute, and the file — like every other file — left as it was."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import torch
from relfix import copy_run, finetune_config, hashes, pretrain_config, study_spec

from robustssl.cli.main import main
from robustssl.experiments import ResultsStore
from robustssl.utils.checkpoint import load_weights, load_weights_metadata, save_weights
from tinystudy import write_yaml


class NotATensor:
    """Pickled into a checkpoint: loading it would run code."""


def _partial_pretrain(tmp_path: Path, done: dict[str, Path]) -> Path:
    run = copy_run(done["pretrain"], tmp_path / "pre")
    for name in ("summary.json", "encoder.safetensors", "method.safetensors"):
        (run / name).unlink()
    return run


def _resume_pretrain(tmp_path: Path, root: Path, width: int = 8) -> int:
    body = pretrain_config(root, tmp_path, epochs=2)
    body["model"]["backbone_kwargs"]["width"] = width
    return main(["pretrain", "--config", str(write_yaml(tmp_path / "p.yaml", body)), "--resume"])


def _assert_clear(err: str, *needles: str) -> None:
    assert "Traceback" not in err and "weights_only=False" not in err
    for needle in needles:
        assert needle in err, (needle, err)


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (lambda p: p.write_bytes(b"\x00garbage" * 64), "damaged or truncated"),
        (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "damaged or truncated"),
        (lambda p: torch.save({"weights": torch.zeros(3)}, p), "not a Lightning training"),
        (
            lambda p: torch.save({"state_dict": {}, "epoch": 0, "obj": NotATensor()}, p),
            "pickled objects other than tensors",
        ),
    ],
    ids=["garbage", "truncated", "not-lightning", "pickled-object"],
)
def test_damaged_last_checkpoint_on_resume(
    tmp_path: Path,
    data_root: Path,
    done_runs: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    damage: Any,
    needle: str,
) -> None:
    run = _partial_pretrain(tmp_path, done_runs)
    last = run / "checkpoints" / "last.ckpt"
    damage(last)
    before = hashes(run)
    assert _resume_pretrain(tmp_path, data_root) == 2
    _assert_clear(capsys.readouterr().err, f"cannot resume from {last}", needle, "move")
    assert hashes(run) == before


def test_foreign_last_checkpoint_names_the_mismatched_weights(
    tmp_path: Path, data_root: Path, done_runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run = _partial_pretrain(tmp_path, done_runs)
    other = tmp_path / "other"
    from robustssl.methods import PretrainConfig, pretrain

    body = pretrain_config(data_root, other, epochs=1)
    body["model"]["backbone_kwargs"]["width"] = 4  # another architecture
    pretrain(PretrainConfig.model_validate(body))
    shutil.copy(other / "pre" / "checkpoints" / "last.ckpt", run / "checkpoints" / "last.ckpt")
    before = hashes(run)
    assert _resume_pretrain(tmp_path, data_root) == 2
    err = capsys.readouterr().err
    _assert_clear(err, "holds another model", "mis-shaped", "not this run's checkpoint")
    assert hashes(run) == before


def test_damaged_config_json_on_resume(
    tmp_path: Path, data_root: Path, done_runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run = _partial_pretrain(tmp_path, done_runs)
    (run / "config.json").write_text('{"name": "pre", "seed"')
    before = hashes(run)
    assert _resume_pretrain(tmp_path, data_root) == 2
    _assert_clear(capsys.readouterr().err, f"{run / 'config.json'} is damaged")
    assert hashes(run) == before


def _partial_finetune(tmp_path: Path, done: dict[str, Path]) -> Path:
    run = copy_run(done["finetune"], tmp_path / "ft")
    for name in ("summary.json", "classifier.safetensors"):
        (run / name).unlink()
    return run


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "damaged or truncated"),
        (lambda p: p.write_bytes(b"{not safetensors"), "damaged or truncated"),
        (lambda p: save_weights({"x": torch.zeros(2)}, p, {"a": 1}), "not a finetuning state"),
    ],
    ids=["truncated", "garbage", "foreign"],
)
def test_damaged_finetune_state_on_resume(
    tmp_path: Path,
    data_root: Path,
    done_runs: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    damage: Any,
    needle: str,
) -> None:
    run = _partial_finetune(tmp_path, done_runs)
    state = run / "state" / "last.safetensors"
    damage(state)
    before = hashes(run)
    body = finetune_config(data_root, done_runs["pretrain"], tmp_path)
    cfg = write_yaml(tmp_path / "f.yaml", body)
    assert main(["finetune", "--config", str(cfg), "--resume"]) == 2
    err = capsys.readouterr().err
    _assert_clear(err, f"cannot resume from the finetuning state {state}", needle, "move")
    assert hashes(run) == before


def test_nan_encoder_is_blamed_on_its_pretraining_not_the_finetuning_lr(
    tmp_path: Path, data_root: Path, done_runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pre = copy_run(done_runs["pretrain"], tmp_path / "pre")
    weights = pre / "encoder.safetensors"
    state = load_weights(weights)
    key = next(k for k in state if k.endswith("weight"))
    state[key] = torch.full_like(state[key], float("nan"))
    save_weights(state, weights, load_weights_metadata(weights))
    cfg = write_yaml(tmp_path / "f.yaml", finetune_config(data_root, pre, tmp_path))
    assert main(["finetune", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    _assert_clear(err, "NaN or infinite weights", key, "the pretraining run diverged")
    assert "training loss became" not in err
    assert not (tmp_path / "ft").exists()


def test_nan_classifier_is_refused_by_evaluate(
    tmp_path: Path, done_runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run = copy_run(done_runs["finetune"], tmp_path / "ft")
    path = run / "classifier.safetensors"
    state = load_weights(path)
    key = next(k for k in state if k.startswith("head"))
    state[key] = torch.full_like(state[key], float("inf"))
    save_weights(state, path, load_weights_metadata(path))
    before = hashes(run)
    assert main(["evaluate", str(run), "data.n=8", "metrics=[sa]", "device=cpu"]) == 2
    _assert_clear(capsys.readouterr().err, "NaN or infinite weights", "finetuning run diverged")
    assert hashes(run) == before


def test_truncated_encoder_and_damaged_summary_of_the_pretraining_run(
    tmp_path: Path, data_root: Path, done_runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pre = copy_run(done_runs["pretrain"], tmp_path / "pre")
    cfg = write_yaml(tmp_path / "f.yaml", finetune_config(data_root, pre, tmp_path))
    (pre / "summary.json").write_text('{"status": "compl')
    assert main(["finetune", "--config", str(cfg)]) == 2
    _assert_clear(capsys.readouterr().err, "cannot read the run summary")
    shutil.copy(done_runs["pretrain"] / "summary.json", pre / "summary.json")
    weights = pre / "encoder.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    assert main(["finetune", "--config", str(cfg)]) == 2
    _assert_clear(capsys.readouterr().err, f"{weights} is not a readable safetensors file")
    assert not (tmp_path / "ft").exists()


# -- AutoAttack's resume state ------------------------------------------------------------------


def _autoattack() -> tuple[Any, torch.Tensor, torch.Tensor]:
    from robustssl.attacks import AutoAttack

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 4)).eval()
    x, y = torch.rand(6, 3, 2, 2), torch.arange(6) % 4
    aa = AutoAttack(model, "Linf", 0.05, version="custom", attacks=["apgd-ce"], progress=False)
    return aa, x, y


@pytest.mark.parametrize("kind", ["garbage", "truncated", "incomplete"])
def test_damaged_autoattack_state_file(tmp_path: Path, kind: str) -> None:
    aa, x, y = _autoattack()
    state = tmp_path / "aa.safetensors"
    if kind == "garbage":
        state.write_bytes(b"\x07" * 300)
    else:
        aa.run(x, y, state_path=state)
        if kind == "truncated":
            state.write_bytes(state.read_bytes()[:-40])
        else:  # the right header, tensors missing
            meta = load_weights_metadata(state)
            save_weights({"robust": torch.ones(6, dtype=torch.uint8)}, state, meta)
    before = hashes(state)
    with pytest.raises(ValueError, match=r"AutoAttack state file .* (damaged|incomplete)") as err:
        aa.run(x, y, state_path=state)
    assert "delete it" in str(err.value)
    assert hashes(state) == before


# -- the results store ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def done_study(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> Path:
    """A finished study (one chain) whose results.sqlite the store tests damage."""
    base = tmp_path_factory.mktemp("study")
    exp = write_yaml(base / "exp.yaml", study_spec(data_root, base / "study"))
    assert main(["run", str(exp), "--no-progress"]) == 0
    return base / "study"


def _rows(study: Path) -> list[dict[str, Any]]:
    with ResultsStore(study, create=False) as store:
        rows = [{k: v for k, v in r.items() if k != "id"} for r in store.rows()]
        stages = [(s["kind"], s["name"], s["status"], s["labels"]) for s in store.stages()]
    return [*sorted(rows, key=lambda r: (r["metric"], r["attack"] or "")), {"stages": stages}]


def _corrupt_pages(path: Path) -> None:
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    for start in range(page, len(data), page):  # every page after the first: b-tree headers gone
        data[start : start + 12] = b"\xff" * 12
    path.write_bytes(bytes(data))


def _checkpoint_wal(study: Path) -> None:
    conn = sqlite3.connect(study / "results.sqlite")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


@pytest.mark.parametrize("kind", ["garbage", "corrupt-pages", "empty"])
@pytest.mark.parametrize("command", ["report", "results"])
def test_damaged_store_is_refused_with_the_way_to_recover(
    tmp_path: Path, done_study: Path, capsys: pytest.CaptureFixture[str], kind: str, command: str
) -> None:
    study = shutil.copytree(done_study, tmp_path / "study")
    _checkpoint_wal(study)
    store = study / "results.sqlite"
    {
        "garbage": lambda: store.write_bytes(b"SQLite? no. " * 400),
        "corrupt-pages": lambda: _corrupt_pages(store),
        "empty": lambda: store.write_bytes(b""),
    }[kind]()
    before = hashes(study)
    assert main([command, str(study)]) == 2
    err = capsys.readouterr().err
    _assert_clear(err, "PRAGMA integrity_check", f"robustssl results {study} --rebuild")
    assert ("is empty (0 bytes" in err) == (kind == "empty")
    assert ("is damaged" in err) == (kind != "empty")
    assert hashes(study) == before  # an empty store is not initialised behind the user's back
    assert not (study / "report").exists()


def test_rebuild_recovers_every_record_and_stage_and_keeps_the_damaged_file(
    tmp_path: Path, done_study: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    moved = shutil.copytree(done_study, tmp_path / "moved" / "study")  # plan.json paths are stale
    expected = _rows(moved)
    store = moved / "results.sqlite"
    _checkpoint_wal(moved)
    _corrupt_pages(store)
    damaged = store.read_bytes()
    assert main(["results", str(moved), "--rebuild", "--filter", "metric=sa"]) == 0
    out = capsys.readouterr().out
    assert "rebuilt" in out and "3 stages, 2 records from 1 records.json" in out
    kept = list(moved.glob("results.sqlite.damaged-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == damaged
    assert _rows(moved) == expected


def test_foreign_sqlite_file_is_not_taken_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = sqlite3.connect(tmp_path / "results.sqlite")
    conn.execute("CREATE TABLE invoices (id INTEGER)")
    conn.commit()
    conn.close()
    before = hashes(tmp_path)
    assert main(["report", str(tmp_path)]) == 2
    _assert_clear(capsys.readouterr().err, "an SQLite file of something else", "invoices")
    assert hashes(tmp_path) == before


def test_runner_starts_an_empty_store_afresh_with_a_warning(
    tmp_path: Path, data_root: Path, done_study: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = shutil.copytree(done_study, tmp_path / "study")
    for side in study.glob("results.sqlite*"):
        side.unlink()
    (study / "results.sqlite").write_bytes(b"")  # e.g. left by a full disk
    exp = write_yaml(tmp_path / "exp.yaml", study_spec(data_root, study))
    runs = hashes(study / "runs")
    with pytest.warns(UserWarning, match="was empty \\(0 bytes"):
        assert main(["run", str(exp), "--no-progress"]) == 0
    assert "0 run, 3 already complete" in capsys.readouterr().out
    assert hashes(study / "runs") == runs
    assert {r["metric"] for r in _rows(study)[:-1]} == {"sa", "ra"}


def test_runner_refuses_a_damaged_store_before_writing_anything(
    tmp_path: Path, data_root: Path, done_study: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = shutil.copytree(done_study, tmp_path / "study")
    _checkpoint_wal(study)
    _corrupt_pages(study / "results.sqlite")
    exp = write_yaml(tmp_path / "exp.yaml", study_spec(data_root, study))
    before = hashes(study)
    assert main(["run", str(exp), "--no-progress"]) == 2
    _assert_clear(capsys.readouterr().err, "is damaged", "--rebuild")
    assert hashes(study) == before  # not even plan.json / experiment.yaml were rewritten
