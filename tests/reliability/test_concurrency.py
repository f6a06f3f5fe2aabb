"""Two writers on one study, run directory or evaluation folder: the second is refused (exit 2,
naming the holder's pid and how to wait for or stop it) and nothing is changed; a holder killed
with ``kill -9`` releases its lock at once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from relfix import (
    copy_run,
    evaluate_config,
    finetune_config,
    hashes,
    hold_lock,
    kill9,
    pretrain_config,
    study_spec,
)

from robustssl.cli.main import main
from robustssl.experiments import ResultsStore
from robustssl.runs import DirLock, LockedError, lock_holder
from robustssl.runs.layout import LOCK
from tinystudy import plan_of, write_yaml


def _refused(err: str, pid: int, what: str) -> None:
    assert f"{what}" in err and f"in use by pid {pid}" in err
    assert f"tail --pid={pid} -f /dev/null" in err and f"kill {pid}" in err
    assert "Traceback" not in err


def test_lock_refuses_a_second_holder_and_is_released(tmp_path: Path) -> None:
    first = DirLock(tmp_path / "s", "study", command="robustssl run a.yaml").acquire()
    with pytest.raises(LockedError) as caught:
        DirLock(tmp_path / "s", "study", timeout=0.2).acquire()
    assert caught.value.holder.pid == os.getpid()
    assert "robustssl run a.yaml" in str(caught.value) and "kill" in str(caught.value)
    first.release()
    assert not (tmp_path / "s" / LOCK).exists()  # removed on release
    with DirLock(tmp_path / "s", "study"):
        assert lock_holder(tmp_path / "s") is not None
    assert lock_holder(tmp_path / "s") is None


def test_lock_removes_the_directories_it_created(tmp_path: Path) -> None:
    lock = DirLock(tmp_path / "a" / "b", "run directory").acquire()
    assert (tmp_path / "a" / "b" / LOCK).is_file()
    lock.release()
    assert not (tmp_path / "a").exists()
    (tmp_path / "c").mkdir()
    with DirLock(tmp_path / "c" / "d", "run directory"):
        (tmp_path / "c" / "d" / "kept.txt").write_text("x")
    assert (tmp_path / "c" / "d" / "kept.txt").is_file()  # not empty: kept


def test_kill9_of_the_holder_releases_the_lock(tmp_path: Path) -> None:
    with hold_lock(tmp_path / "s") as holder:
        found = lock_holder(tmp_path / "s")
        assert found is not None and found.pid == holder.pid
        assert found.command == "holder of the test"
        kill9(holder)
    assert (tmp_path / "s" / LOCK).is_file()  # left behind by the killed process...
    assert lock_holder(tmp_path / "s") is None  # ...but not held
    with DirLock(tmp_path / "s", "study"):
        pass


def test_second_runner_is_refused_until_the_first_is_killed(
    tmp_path: Path, data_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = tmp_path / "study"
    exp = write_yaml(tmp_path / "exp.yaml", study_spec(data_root, study))
    assert main(["run", str(exp), "--no-progress"]) == 0
    capsys.readouterr()
    before = hashes(study)
    with hold_lock(study, "study") as runner:  # a runner in another terminal
        assert main(["run", str(exp), "--no-progress"]) == 2
        _refused(capsys.readouterr().err, runner.pid, f"study {study}")
        assert hashes(study) == before  # not even experiment.yaml / plan.json were rewritten
    assert main(["run", str(exp), "--no-progress"]) == 0
    assert "3 already complete" in capsys.readouterr().out


def test_runner_refuses_while_a_stage_is_held_by_a_leftover_worker(
    tmp_path: Path, data_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = tmp_path / "study"
    spec = study_spec(data_root, study)
    exp = write_yaml(tmp_path / "exp.yaml", spec)
    finetune_stage = plan_of(spec).of_kind("finetune")[0]
    with hold_lock(finetune_stage.path, "run directory") as leftover:
        assert main(["run", str(exp), "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert f"finetune stage {finetune_stage.name} of this study is still being run" in err
        assert f"pid {leftover.pid}" in err and f"kill {leftover.pid}" in err
        assert not (study / "results.sqlite").exists()  # refused before the store was made
    assert main(["run", str(exp), "--no-progress"]) == 0


def test_second_pretrain_on_one_run_dir_is_refused(
    tmp_path: Path, data_root: Path, done_runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run = copy_run(done_runs["pretrain"], tmp_path / "pre")
    (run / "summary.json").unlink()  # an interrupted run, to be resumed
    cfg = write_yaml(tmp_path / "p.yaml", pretrain_config(data_root, tmp_path, epochs=2))
    before = hashes(run)
    with hold_lock(run, "run directory") as other:
        assert main(["pretrain", "--config", str(cfg), "--resume"]) == 2
        _refused(capsys.readouterr().err, other.pid, f"run directory {run}")
        assert hashes(run) == before


def test_fresh_pretrain_refused_while_another_process_creates_that_run(
    tmp_path: Path, data_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_yaml(tmp_path / "p.yaml", pretrain_config(data_root, tmp_path / "out"))
    with hold_lock(tmp_path / "out" / "pre", "run directory") as other:
        assert main(["pretrain", "--config", str(cfg)]) == 2
        _refused(capsys.readouterr().err, other.pid, "run directory")
        assert os.listdir(tmp_path / "out" / "pre") == [LOCK]  # only the other's lock file


def test_second_finetune_on_one_run_dir_is_refused(
    tmp_path: Path, data_root: Path, done_runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run = copy_run(done_runs["finetune"], tmp_path / "ft")
    (run / "summary.json").unlink()
    (run / "classifier.safetensors").unlink()
    body = finetune_config(data_root, done_runs["pretrain"], tmp_path)
    cfg = write_yaml(tmp_path / "f.yaml", body)
    before = hashes(run)
    with hold_lock(run, "run directory") as other:
        assert main(["finetune", "--config", str(cfg), "--resume"]) == 2
        _refused(capsys.readouterr().err, other.pid, f"run directory {run}")
        assert hashes(run) == before


def test_second_evaluate_of_one_evaluation_is_refused(
    tmp_path: Path, data_root: Path, done_runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run = copy_run(done_runs["finetune"], tmp_path / "ft")
    cfg = write_yaml(tmp_path / "e.yaml", evaluate_config())
    before = hashes(run)
    with hold_lock(run / "evaluation" / "ev", "evaluation folder") as other:
        assert main(["evaluate", str(run), "--config", str(cfg)]) == 2
        _refused(capsys.readouterr().err, other.pid, "evaluation folder")
        assert hashes(run) == before


def test_running_stage_of_a_killed_runner_reads_interrupted(tmp_path: Path) -> None:
    with ResultsStore(tmp_path) as store:
        sid = store.add_stage("pretrain", "a", {}, {}, status="running")
        store.set_status(sid, "running")
    with hold_lock(tmp_path, "study"), ResultsStore(tmp_path) as store:
        assert store.stages()[0]["status"] == "running"  # its runner is alive
    with ResultsStore(tmp_path) as store:
        assert store.stages()[0]["status"] == "interrupted"
        assert store.stages(status="running")[0]["status"] == "interrupted"


def test_rebuild_is_refused_while_a_runner_holds_the_study(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ResultsStore(tmp_path).close()
    before = hashes(tmp_path)
    with hold_lock(tmp_path, "study") as runner:
        assert main(["results", str(tmp_path), "--rebuild"]) == 2
        _refused(capsys.readouterr().err, runner.pid, "study")
    assert hashes(tmp_path) == before
