"""A full disk (ENOSPC): every writer fails with a message naming the file, the free space and the
fix; its temporary file is removed; files written before are intact; a study records the failed
stage and starts no new one, or — when the store itself cannot be written — says so and exits 2.

Most cases patch the lowest writer to write part of its bytes and then fail as a full disk does;
one case fills a real 64 KiB tmpfs (in a private mount namespace, ``unshare -rm``)."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
import torch
from relfix import (
    PYTHON,
    child_env,
    copy_run,
    evaluate_config,
    finetune_config,
    hashes,
    pretrain_config,
    study_spec,
    temp_files,
)

import robustssl.runs.atomic as atomic
import robustssl.utils.checkpoint as ckpt
from robustssl.cli.main import main
from robustssl.experiments import ResultsStore
from robustssl.runs import DirLock, DiskFullError, atomic_write_text, lock_holder
from robustssl.utils.checkpoint import load_weights, save_weights
from tinystudy import write_yaml

FULL = "no space left on the disk holding"


def _enospc(path: Any) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


class _HalfWriter:
    """A file that takes the first ``budget`` bytes, then fails like a full disk."""

    def __init__(self, path: Any, budget: int = 10) -> None:
        self.handle, self.budget, self.path = open(path, "wb"), budget, path  # noqa: SIM115

    def write(self, data: bytes) -> int:
        self.handle.write(data[: self.budget])
        self.handle.flush()
        raise _enospc(self.path)

    def __enter__(self) -> _HalfWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


def _full_after(monkeypatch: pytest.MonkeyPatch, suffix: str) -> None:
    """Text / bytes writes of a file ending in ``suffix`` hit a full disk."""
    real_open = open

    def fake_open(path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if "w" in mode and str(path).endswith(suffix + ".tmp"):
            return _HalfWriter(path)
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(atomic, "open", fake_open, raising=False)


def _full_safetensors(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    real = ckpt.save_file

    def half_then_full(tensors: Any, filename: str, metadata: Any = None) -> None:
        if Path(filename).name.startswith(name):
            Path(filename).write_bytes(b"\x00" * 64)  # what fit on the disk
            raise _enospc(filename)
        real(tensors, filename, metadata=metadata)

    monkeypatch.setattr(ckpt, "save_file", half_then_full)


def test_atomic_text_write_on_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "summary.json"
    target.write_text('{"status": "complete"}')
    _full_after(monkeypatch, "summary.json")
    with pytest.raises(DiskFullError) as caught:
        atomic_write_text(target, '{"status": "failed"}' * 100)
    text = str(caught.value)
    assert FULL in text and "MiB free" in text and "the file it would replace is intact" in text
    assert caught.value.errno == errno.ENOSPC
    assert target.read_text() == '{"status": "complete"}' and not temp_files(tmp_path)


def test_weights_write_on_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "encoder.safetensors"
    save_weights({"w": torch.ones(3)}, path)
    before = hashes(tmp_path)
    _full_safetensors(monkeypatch, "encoder")
    with pytest.raises(DiskFullError, match=FULL):
        save_weights({"w": torch.zeros(3)}, path)
    assert hashes(tmp_path) == before and torch.equal(load_weights(path)["w"], torch.ones(3))


def test_lock_file_on_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import robustssl.runs.lock as lock

    def no_space(path: Any, *args: Any) -> int:
        raise _enospc(path)

    monkeypatch.setattr(lock.os, "open", no_space)
    with pytest.raises(DiskFullError, match=FULL):
        DirLock(tmp_path / "run", "run directory").acquire()
    assert not (tmp_path / "run").exists()


def test_pretraining_fills_the_disk_at_a_checkpoint(
    tmp_path: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from lightning.pytorch import Trainer

    real = Trainer.save_checkpoint
    calls: list[int] = []

    def second_save_full(self: Trainer, filepath: Any, *args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            Path(filepath).write_bytes(b"PK\x03\x04 partial")
            raise _enospc(filepath)
        real(self, filepath, *args, **kwargs)

    monkeypatch.setattr(Trainer, "save_checkpoint", second_save_full)
    cfg = write_yaml(tmp_path / "p.yaml", pretrain_config(data_root, tmp_path, epochs=2))
    assert main(["pretrain", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert FULL in err and "run the same command again" in err and "Traceback" not in err
    run = tmp_path / "pre"
    assert not temp_files(run) and lock_holder(run) is None
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 0
    monkeypatch.undo()  # space freed
    assert main(["pretrain", "--config", str(cfg), "--resume"]) == 0


def test_finetuning_fills_the_disk_at_the_classifier(
    tmp_path: Path,
    data_root: Path,
    done_runs: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _full_safetensors(monkeypatch, "classifier")
    body = finetune_config(data_root, done_runs["pretrain"], tmp_path)
    cfg = write_yaml(tmp_path / "f.yaml", body)
    assert main(["finetune", "--config", str(cfg)]) == 2
    assert FULL in capsys.readouterr().err
    run = tmp_path / "ft"
    assert not temp_files(run) and not (run / "classifier.safetensors").exists()
    state = hashes(run / "state")
    monkeypatch.undo()
    assert main(["finetune", "--config", str(cfg), "--resume"]) == 0
    assert hashes(run / "state") == state  # every epoch was kept: nothing retrained


def test_evaluation_fills_the_disk_at_its_records(
    tmp_path: Path,
    done_runs: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = copy_run(done_runs["finetune"], tmp_path / "ft")
    before = hashes(run)
    _full_after(monkeypatch, "records.json")
    cfg = write_yaml(tmp_path / "e.yaml", evaluate_config("full"))
    assert main(["evaluate", str(run), "--config", str(cfg)]) == 2
    assert FULL in capsys.readouterr().err
    assert hashes(run) == before and not (run / "evaluation" / "full").exists()


def test_study_stops_at_a_full_disk_and_records_why(
    tmp_path: Path,
    data_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    study = tmp_path / "study"
    exp = write_yaml(tmp_path / "exp.yaml", study_spec(data_root, study, lrs=(0.001, 0.002)))
    _full_safetensors(monkeypatch, "classifier")
    assert main(["run", str(exp), "--no-progress"]) == 1  # one failed stage
    out = capsys.readouterr().out
    assert "stopped early: the disk is full; no new stage was started" in out
    with ResultsStore(study) as store:
        stages = {(s["kind"], s["status"]) for s in store.stages()}
        failed = store.stages(status="failed")
    assert ("finetune", "failed") in stages and ("pretrain", "pending") in stages
    assert len(failed) == 1 and failed[0]["error"].startswith(f"disk full: {FULL}")
    assert not temp_files(study)
    done = hashes(study / "runs" / "pretrain")
    monkeypatch.undo()
    assert main(["run", str(exp), "--no-progress"]) == 0
    after = hashes(study / "runs" / "pretrain")
    assert {k: v for k, v in after.items() if k in done} == done


def test_study_whose_store_cannot_be_written_exits_cleanly(
    tmp_path: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    real = ResultsStore.ingest

    def ingest_on_a_full_disk(self: ResultsStore, *args: Any, **kwargs: Any) -> Any:
        self._conn = _FullDiskConnection(self._conn)  # from now on the disk is full
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ResultsStore, "ingest", ingest_on_a_full_disk)
    study = tmp_path / "study"
    exp = write_yaml(tmp_path / "exp.yaml", study_spec(data_root, study))
    assert main(["run", str(exp), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"cannot write the results store {study / 'results.sqlite'}: the disk is full" in err
    assert "Traceback" not in err and "run directories are intact" in err
    assert lock_holder(study) is None and not temp_files(study)
    evaluation = next((study / "runs" / "finetune").glob("*/evaluation/*"))
    assert (evaluation / "records.json").is_file()  # the stage's own files are all there
    with ResultsStore(study) as store:  # "running" was never overwritten, yet reads right
        assert store.stages(kind="evaluate")[0]["status"] == "interrupted"


class _FullDiskConnection:
    """An SQLite connection whose writes fail as SQLite's do on a full disk (SQLITE_FULL)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            raise sqlite3.OperationalError("database or disk is full")
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
    )
    return probe.returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _unshare_works(), reason="needs `unshare -rm` and tmpfs mounts")
def test_pretraining_on_a_real_full_tmpfs(tmp_path: Path, data_root: Path) -> None:
    small = tmp_path / "small"
    small.mkdir()
    cfg = write_yaml(tmp_path / "p.yaml", pretrain_config(data_root, small, epochs=3))
    script = (
        f"mount -t tmpfs -o size=64k tmpfs {small} && "
        f"{PYTHON} -m robustssl pretrain --config {cfg}; echo rc=$?; "
        f"find {small} -name '*.tmp'; ls {small}/pre"
    )
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=600,
    )
    assert "rc=2" in done.stdout, done.stderr[-2000:]
    assert FULL in done.stderr and "Traceback" not in done.stderr
    assert ".tmp" not in done.stdout  # find printed no temporary file
    assert "config.json" in done.stdout  # what was written before is there
